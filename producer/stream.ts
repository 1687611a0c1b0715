import { setTimeout as sleep } from "node:timers/promises";
import { CompressionTypes } from "kafkajs";
import { datasetNames, RawDatasetName, RawRecord } from "../lib/datasets";
import { CdcTableWriter } from "./cdcTables";
import { toEvent } from "./events";
import { GeneratedRecord } from "./generator";
import { connectKafka, KafkaSettings, requireTopics } from "./kafka";
import { UndeliveredBatchError } from "./send";
import { BatchPacker, PackedBatch, Sender, startSender } from "./sendWorker";

/** Like the Java producer's delivery.timeout.ms: long enough for a broker to restart. */
export const defaultRetryForMs = 120_000;

export interface StreamOptions {
    kafka: KafkaSettings;
    /** Topic of each dataset that travels through Kafka. */
    topics: Partial<Record<RawDatasetName, string>>;
    /** Where the datasets without a topic go: their CDC tables in PostgreSQL. */
    cdcTables?: { datasets: readonly RawDatasetName[]; writer: CdcTableWriter };
    /**
     * Events per produce request (default 1,000). Bigger is not faster: kafkajs groups a batch's
     * messages per partition in quadratic time, and a partition's share must stay under the
     * broker's message.max.bytes (1 MB by default).
     */
    batchSize?: number;
    /**
     * Batches sent but not yet acknowledged (default 4), each on its own idempotent producer;
     * together with batchSize, this bounds memory.
     */
    maxInFlight?: number;
    /** Worker threads the producers live in (default defaultThreads, at most maxInFlight); 0: this thread. */
    threads?: number;
    /** Events per second; as fast as possible without. */
    rate?: number;
    compression?: CompressionTypes;
    /** How long a batch is retried while the broker does not acknowledge it (default 120 s); then the stream stops. */
    retryForMs?: number;
    /** How long a request may go unanswered before it is sent again (default 15 s). */
    requestTimeoutMs?: number;
    /** Aborting stops after the batches already sent are acknowledged, so units are never cut. */
    signal?: AbortSignal;
    /** Whenever a batch goes out or is acknowledged; the summary is live, updated in place. */
    onProgress?: (summary: StreamSummary) => void;
    /** One line when sending starts failing, and one when it works again. */
    onNotice?: (message: string) => void;
}

export interface StreamSummary {
    /** Acknowledged events per dataset: on the topics or in the CDC tables, each exactly once. */
    sent: Record<RawDatasetName, number>;
    total: number;
    /**
     * Events sent but not acknowledged: in flight while streaming; afterwards, those of batches
     * given up on, each of which may or may not be on the topics.
     */
    unacknowledged: Record<RawDatasetName, number>;
    elapsedMs: number;
    /** Why it stopped before the units ran out, when Kafka failed it. */
    failure?: Error;
}

interface Batch {
    packed: PackedBatch;
    /** Rows of the CDC datasets, written to PostgreSQL beside the Kafka part. */
    rows: Map<RawDatasetName, RawRecord[]>;
    counts: Record<RawDatasetName, number>;
    records: number;
}

/**
 * No producer threads by default: they make the generator faster when a core is free (kafkajs's
 * encoding, the bulk of the work, then runs beside the generating) but cost 50 to 60 MB of RSS
 * each; bench/README.md has the figures.
 */
export const defaultThreads = 0;

/**
 * Sends units of records (each kept whole within one batch) as they are generated: a batch is
 * built only when one of the maxInFlight producers is free, so memory stays flat however many
 * events go out. At a rate, batches shrink to a tenth of a second's worth and are paced.
 *
 * With `threads`, the producers live in that many worker threads (sendWorker.ts), spread evenly:
 * this thread generates and serializes the events, packs each batch into one buffer and hands it
 * over without copying; kafkajs encodes and sends it there.
 *
 * Exactly once: every producer is idempotent and carries one batch at a time, retrying it while
 * the broker is away (paused, restarting) for up to retryForMs. kafkajs can't keep several
 * requests of one idempotent producer in flight safely, hence a producer per batch in flight.
 * Batches in flight together may land in either order (Materialize reads each topic on its own
 * anyway); within a batch, order is kept. Kafka failures don't throw: they end the stream, and
 * the summary says what was acknowledged and what was left in doubt.
 */
export async function streamUnits(units: Iterable<GeneratedRecord[]>, options: StreamOptions): Promise<StreamSummary> {
    const batchSize = options.batchSize ?? 1_000;
    const maxInFlight = options.maxInFlight ?? 4;
    // Without threads, the producers run on this thread: one group of them.
    const inThreads = (options.threads ?? defaultThreads) > 0;
    const threadCount = Math.max(1, Math.min(options.threads ?? defaultThreads, maxInFlight));
    const rate = options.rate;
    const eventsPerBatch = rate === undefined ? batchSize : Math.max(1, Math.min(batchSize, Math.ceil(rate / 10)));
    const signal = options.signal;
    const toTables = new Set(options.cdcTables?.datasets ?? []);
    const missing = datasetNames.filter(name => !options.topics[name] && !toTables.has(name));
    if (missing.length > 0) throw new Error(`no topic or CDC table given for ${missing.join(", ")}`);
    const topicList = [...new Set(datasetNames.flatMap(name => options.topics[name] ?? []))];
    const topicIndex = new Map(topicList.map((topic, i) => [topic, i]));

    const kafka = connectKafka(options.kafka, "jaffle-shop-generator", { requestTimeoutMs: options.requestTimeoutMs, retries: 1 });
    await requireTopics(kafka, topicList, options.kafka);
    const summary = emptySummary();
    const retryForMs = options.retryForMs ?? defaultRetryForMs;
    const outage = outageReporter(retryForMs, options.onNotice);
    let started = performance.now();

    /** Batches handed to a producer (and the CDC writer) and not yet acknowledged or given up on, by id. */
    const pending = new Map<number, { batch: Batch; settle: () => void; sentAt: number; partsLeft: number }>();
    // kafkajs retries quietly within a request timeout (15 s by default): a batch this long without
    // an answer is told as an outage too, so a broker that stalls is not mistaken for a hang.
    const stallWatch = setInterval(() => {
        const oldest = Math.min(...[...pending.values()].map(entry => entry.sentAt));
        if (performance.now() - oldest >= stallNoticeMs) outage.failed(new Error(`no acknowledgement for ${stallNoticeMs / 1000} s`));
    }, 1_000);
    /** One part of a batch landed: its Kafka part, or its CDC rows; the batch counts once both did. */
    const acknowledged = (id: number) => {
        const entry = pending.get(id);
        if (!entry || --entry.partsLeft > 0) return;
        pending.delete(id);
        outage.recovered();
        addCounts(summary.unacknowledged, entry.batch.counts, -1);
        addCounts(summary.sent, entry.batch.counts, 1);
        summary.total += entry.batch.records;
        summary.elapsedMs = performance.now() - started;
        options.onProgress?.(summary);
        entry.settle();
    };
    const undelivered = (id: number, error: Error) => {
        const entry = pending.get(id);
        if (!entry) return;
        pending.delete(id);
        summary.failure ??= error instanceof UndeliveredBatchError ? error : new UndeliveredBatchError(error.message, { cause: error });
        entry.settle();
    };
    // maxInFlight producers in all, spread as evenly as they go.
    const producersPerThread = Array.from({ length: threadCount }, (_, t) =>
        Math.floor(maxInFlight / threadCount) + (t < maxInFlight % threadCount ? 1 : 0),
    );
    const threads = producersPerThread.map(
        producers =>
            startSender(
                {
                    kafka: options.kafka,
                    topics: topicList,
                    producers,
                    compression: options.compression,
                    retryForMs,
                    requestTimeoutMs: options.requestTimeoutMs,
                },
                { onAcknowledged: acknowledged, onUndelivered: undelivered, onRetrying: outage.failed },
                inThreads,
            ),
    );
    /** A producer: its thread, and its index there; taking them in turn alternates the threads. */
    type Slot = { thread: Sender; producer: number };
    const slots: Slot[] = [];
    for (let p = 0; slots.length < maxInFlight; p++) {
        threads.forEach((thread, t) => p < producersPerThread[t] && slots.push({ thread, producer: p }));
    }
    const idle: Slot[] = [];
    const inFlight = new Set<Promise<void>>();
    let nextId = 0;

    const send = (slot: Slot, batch: Batch): Promise<void> => {
        addCounts(summary.unacknowledged, batch.counts, 1);
        options.onProgress?.(summary);
        const id = nextId++;
        return new Promise<void>(settle => {
            const toKafka = batch.packed.records > 0;
            pending.set(id, { batch, settle, sentAt: performance.now(), partsLeft: (toKafka ? 1 : 0) + (batch.rows.size > 0 ? 1 : 0) });
            if (toKafka) slot.thread.send(id, slot.producer, batch.packed);
            if (batch.rows.size > 0) options.cdcTables!.writer.write(batch.rows).then(() => acknowledged(id), error => undelivered(id, error));
        });
    };

    try {
        await Promise.all(threads.map(t => t.connected()));
        // The clock starts once connected: elapsed time and rate are about sending.
        started = performance.now();
        idle.push(...slots.slice().reverse());
        const iterator = units[Symbol.iterator]();
        let built = 0;
        while (!signal?.aborted && summary.failure === undefined) {
            if (rate !== undefined) {
                const due = started + (built / rate) * 1000 - performance.now();
                if (due > 0) await sleep(due, undefined, { signal }).catch(() => undefined);
                if (signal?.aborted) break;
            }
            const batch = nextBatch(iterator, eventsPerBatch, options.topics, topicIndex);
            if (batch.records === 0) break;
            built += batch.records;
            const slot = idle.pop()!;
            const sending = send(slot, batch).finally(() => {
                inFlight.delete(sending);
                idle.push(slot);
            });
            inFlight.add(sending);
            if (idle.length === 0) await Promise.race(inFlight);
        }
        await Promise.all(inFlight);
    } catch (err) {
        summary.failure ??= err as Error;
    } finally {
        clearInterval(stallWatch);
        summary.elapsedMs = performance.now() - started;
        await Promise.all(threads.map(t => t.close().catch(() => undefined)));
    }
    return summary;
}

/**
 * The next units, up to eventsPerBatch events (fewer only when the units run out): those of a
 * dataset with a topic stamped now and packed, the others kept as rows for their CDC table.
 */
function nextBatch(
    units: Iterator<GeneratedRecord[]>,
    eventsPerBatch: number,
    topics: Partial<Record<RawDatasetName, string>>,
    topicIndex: Map<string, number>,
): Batch {
    const packer = new BatchPacker(topicIndex, eventsPerBatch + 8);
    const rows = new Map<RawDatasetName, RawRecord[]>();
    const counts = emptyCounts();
    const now = new Date().toISOString();
    let records = 0;
    while (records < eventsPerBatch) {
        const next = units.next();
        if (next.done) break;
        for (const { dataset, record } of next.value) {
            const topic = topics[dataset];
            if (topic !== undefined) packer.add(toEvent(topic, record, now));
            else if (rows.has(dataset)) rows.get(dataset)!.push(record);
            else rows.set(dataset, [record]);
            counts[dataset]++;
            records++;
        }
    }
    return { packed: packer.finish(), rows, counts, records };
}

/** How long a batch may wait for its acknowledgement before the wait is told as an outage. */
const stallNoticeMs = 5_000;

/** Tells of an outage once when it starts, however many batches are retrying, and once when it ends. */
function outageReporter(retryForMs: number, onNotice: ((message: string) => void) | undefined) {
    let since: number | undefined;
    return {
        failed: (error: Error) => {
            if (since !== undefined) return;
            since = performance.now();
            onNotice?.(`sending failed (${error.message}); retrying each batch for up to ${retryForMs / 1000} s`);
        },
        recovered: () => {
            if (since === undefined) return;
            onNotice?.(`sending again after ${((performance.now() - since) / 1000).toFixed(1)} s of failures`);
            since = undefined;
        },
    };
}

export function emptySummary(): StreamSummary {
    return { sent: emptyCounts(), total: 0, unacknowledged: emptyCounts(), elapsedMs: 0 };
}

function emptyCounts(): Record<RawDatasetName, number> {
    return Object.fromEntries(datasetNames.map(name => [name, 0])) as Record<RawDatasetName, number>;
}

function addCounts(into: Record<RawDatasetName, number>, counts: Record<RawDatasetName, number>, sign: 1 | -1): void {
    for (const name of datasetNames) into[name] += sign * counts[name];
}
