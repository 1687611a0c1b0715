import { CompressionTypes, Kafka } from "kafkajs";
import { KafkaEvent } from "./events";
import { groupByTopic, TransactionOptions, withTimeout } from "./send";

export interface ChunkedTransactionOptions extends Omit<TransactionOptions, "chunkSize" | "onProgress"> {
    /** Called after each chunk, with the events sent so far. */
    onProgress?: (sent: number) => void;
}

/**
 * Sends the events in one Kafka transaction, one produce request per chunk, taking each chunk
 * from `chunks` only when the one before is sent: the events never need to be in memory all at
 * once, and a read_committed consumer still sees all of them or none. Without any chunk, no
 * producer is started. Returns the number of events sent.
 */
export async function sendChunksInOneTransaction(
    kafka: Kafka,
    chunks: Iterable<KafkaEvent[]>,
    options: ChunkedTransactionOptions,
): Promise<number> {
    const iterator = chunks[Symbol.iterator]();
    let next = iterator.next();
    if (next.done) return 0;
    const timeoutMs = options.timeoutMs ?? 60_000;
    const producer = kafka.producer({
        transactionalId: options.transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: timeoutMs,
    });
    let sent = 0;
    const work = async () => {
        await producer.connect();
        const transaction = await producer.transaction();
        try {
            for (; !next.done; next = iterator.next()) {
                await transaction.sendBatch({ topicMessages: groupByTopic(next.value), compression: CompressionTypes.None });
                sent += next.value.length;
                options.onProgress?.(sent);
            }
            await transaction.commit();
        } catch (err) {
            await transaction.abort().catch(() => undefined);
            throw err;
        }
    };
    try {
        await withTimeout(work(), timeoutMs, `Kafka transaction did not complete within ${timeoutMs / 1000}s`);
    } finally {
        iterator.return?.();
        await producer.disconnect().catch(() => undefined);
    }
    return sent;
}
