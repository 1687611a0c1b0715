import { CompressionTypes, Kafka } from "kafkajs";
import { KafkaEvent } from "./events";

export interface TransactionOptions {
    transactionalId: string;
    /** Events per produce request (default 5,000). */
    chunkSize?: number;
    /** Whole transaction budget; an unreachable broker fails within it. */
    timeoutMs?: number;
    onProgress?: (sent: number, total: number) => void;
}

/**
 * Sends all events in one Kafka transaction: a read_committed consumer sees all of them or none,
 * so a failure half-way leaves no partial seed behind.
 */
export async function sendInOneTransaction(kafka: Kafka, events: KafkaEvent[], options: TransactionOptions): Promise<void> {
    if (events.length === 0) return;
    const timeoutMs = options.timeoutMs ?? 60_000;
    const chunkSize = options.chunkSize ?? 5_000;
    const producer = kafka.producer({
        transactionalId: options.transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: timeoutMs,
    });
    const work = async () => {
        await producer.connect();
        const transaction = await producer.transaction();
        try {
            for (let start = 0; start < events.length; start += chunkSize) {
                const chunk = events.slice(start, start + chunkSize);
                await transaction.sendBatch({ topicMessages: groupByTopic(chunk), compression: CompressionTypes.None });
                options.onProgress?.(Math.min(start + chunkSize, events.length), events.length);
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
        await producer.disconnect().catch(() => undefined);
    }
}

export function groupByTopic(events: KafkaEvent[]): { topic: string; messages: { key: string; value: string }[] }[] {
    const byTopic = new Map<string, { key: string; value: string }[]>();
    for (const { topic, key, value } of events) {
        let messages = byTopic.get(topic);
        if (!messages) byTopic.set(topic, (messages = []));
        messages.push({ key, value });
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
    });
    try {
        return await Promise.race([promise, timeout]);
    } finally {
        clearTimeout(timer);
    }
}
