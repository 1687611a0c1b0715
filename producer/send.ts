import { setTimeout as sleep } from "node:timers/promises";
import { CompressionTypes, Kafka, Producer, ProducerBatch } from "kafkajs";
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
    const chunkSize = options.chunkSize ?? 5_000;
    function* chunks(): Generator<KafkaEvent[]> {
        for (let start = 0; start < events.length; start += chunkSize) yield events.slice(start, start + chunkSize);
    }
    await sendChunksInOneTransaction(kafka, chunks(), {
        transactionalId: options.transactionalId,
        timeoutMs: options.timeoutMs,
        onProgress: sent => options.onProgress?.(sent, events.length),
    });
}

export interface ChunkedTransactionOptions extends Omit<TransactionOptions, "chunkSize" | "onProgress"> {
    /** Called after each chunk, with the events sent so far. */
    onProgress?: (sent: number) => void;
    /** A connected producer of transactionalProducer's, kept open; else one is made and closed. */
    producer?: Producer;
}

/** An idempotent producer for transactions of `transactionalId`, which fail after `timeoutMs`. */
export function transactionalProducer(kafka: Kafka, transactionalId: string, timeoutMs: number): Producer {
    return kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: timeoutMs });
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
    const producer = options.producer ?? transactionalProducer(kafka, options.transactionalId, timeoutMs);
    let sent = 0;
    const work = async () => {
        if (!options.producer) await producer.connect();
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
        if (!options.producer) await producer.disconnect().catch(() => undefined);
    }
    return sent;
}

export interface RetryWindow {
    /** How long after its first failed attempt a batch is still retried. */
    retryForMs: number;
    /** Called before each retry, with the failure that prompted it. */
    onRetry?: (error: Error) => void;
}

/** A batch that could not be delivered: retries ran out, or the failure was not worth retrying. */
export class UndeliveredBatchError extends Error {}

/**
 * Sends one batch on an idempotent producer, retrying the very same batch on the same producer
 * until it is acknowledged or `retryForMs` have passed since its first failed attempt began (the
 * attempt under way then is finished first: with kafkajs's one retry, up to two request timeouts
 * or connection attempts). Same producer id,
 * same sequence numbers: the broker drops the copy of any attempt that did land (a paused broker
 * answers after the request timed out; a killed one may have written it before dying), so retries
 * never duplicate. The producer must carry nothing else meanwhile: kafkajs 2.2.4 rolls a failed
 * request's sequence numbers back, and a send queued behind it would reuse them for other records,
 * which the broker would then drop as copies.
 */
export async function sendBatchUntilAcknowledged(producer: Producer, batch: ProducerBatch, window: RetryWindow): Promise<void> {
    await retryWithin(window, isWorthRetrying, async () => {
        await producer.sendBatch(batch);
    });
}

/**
 * Runs `attempt` until it succeeds, or until `retryForMs` have passed since the first failed
 * attempt began (the attempt under way then is finished first); a failure `worthRetrying` says no
 * to ends it at once. Either way it throws UndeliveredBatchError with the last failure as cause.
 * `beforeRetry` runs after each failure, before the pause (e.g. to drop a broken connection).
 */
export async function retryWithin(
    window: RetryWindow,
    worthRetrying: (error: Error) => boolean,
    attempt: () => Promise<void>,
    beforeRetry?: () => Promise<void>,
): Promise<void> {
    let firstFailure: number | undefined;
    for (let attempts = 0; ; attempts++) {
        const attemptStarted = Date.now();
        try {
            await attempt();
            return;
        } catch (err) {
            const error = err as Error;
            await beforeRetry?.();
            if (!worthRetrying(error)) throw new UndeliveredBatchError(error.message, { cause: error });
            // The server has been failing this batch since the attempt began, not since it gave up.
            firstFailure ??= attemptStarted;
            const leftMs = window.retryForMs - (Date.now() - firstFailure);
            if (leftMs <= 0) {
                const seconds = Math.round((Date.now() - firstFailure) / 1000);
                throw new UndeliveredBatchError(`gave up after ${seconds} s of failed attempts: ${error.message}`, { cause: error });
            }
            window.onRetry?.(error);
            await sleep(Math.min(retryBackoffMs(attempts), leftMs));
        }
    }
}

/**
 * kafkajs marks what may succeed on a later attempt (timeouts, lost connections, leaders moving),
 * but when its own retries run out it wraps the error in non-retriable ones: the innermost
 * error decides.
 */
function isWorthRetrying(error: Error): boolean {
    let innermost: Error & { retriable?: boolean } = error;
    for (let depth = 0; innermost.cause instanceof Error && depth < 10; depth++) innermost = innermost.cause;
    return innermost.retriable === true;
}

/** 250 ms, doubling, at most 5 s: quick after a blip, gentle on a broker that is restarting. */
function retryBackoffMs(attempt: number): number {
    return Math.min(250 * 2 ** attempt, 5_000);
}

export function groupByTopic(events: KafkaEvent[]): { topic: string; messages: Omit<KafkaEvent, "topic">[] }[] {
    const byTopic = new Map<string, Omit<KafkaEvent, "topic">[]>();
    for (const { topic, key, value, headers } of events) {
        let messages = byTopic.get(topic);
        if (!messages) byTopic.set(topic, (messages = []));
        messages.push(headers ? { key, value, headers } : { key, value });
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
