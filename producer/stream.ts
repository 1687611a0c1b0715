import { setTimeout as sleep } from "node:timers/promises";
import { CompressionTypes } from "kafkajs";
import { datasetNames, RawDatasetName } from "./datasets";
import { KafkaEvent, toEvent } from "./events";
import { GeneratedRecord } from "./generator";
import { connectKafka, KafkaSettings } from "./kafka";
import { groupByTopic } from "./send";

export interface StreamOptions {
    kafka: KafkaSettings;
    /** Topic for each raw dataset name. */
    topics: Record<string, string>;
    /**
     * Events per produce request (default 1,000). Bigger is not faster: kafkajs groups a batch's
     * messages per partition in quadratic time, and a partition's share must stay under the
     * broker's message.max.bytes (1 MB by default).
     */
    batchSize?: number;
    /** Batches sent but not yet acknowledged (default 4); together with batchSize, this bounds memory. */
    maxInFlight?: number;
    /** Events per second; as fast as possible without. */
    rate?: number;
    /** -1: every in-sync replica (the default), 1: the leader only. */
    acks?: -1 | 1;
    compression?: CompressionTypes;
    /** Aborting stops after the batches already sent are acknowledged, so units are never cut. */
    signal?: AbortSignal;
    onProgress?: (summary: StreamSummary) => void;
}

export interface StreamSummary {
    /** Acknowledged events per dataset. */
    sent: Record<RawDatasetName, number>;
    total: number;
    elapsedMs: number;
}

/**
 * Sends units of records (each kept whole within one batch) as they are generated: a batch is
 * built only when fewer than maxInFlight are unacknowledged, so memory stays flat however many
 * events go out. At a rate, batches shrink to a tenth of a second's worth and are paced.
 * Batches in flight together may land in either order (Materialize reads each topic on its own
 * anyway); within a batch, order is kept.
 */
export async function streamUnits(units: Iterable<GeneratedRecord[]>, options: StreamOptions): Promise<StreamSummary> {
    const batchSize = options.batchSize ?? 1_000;
    const maxInFlight = options.maxInFlight ?? 4;
    const rate = options.rate;
    const eventsPerBatch = rate === undefined ? batchSize : Math.max(1, Math.min(batchSize, Math.ceil(rate / 10)));
    const signal = options.signal;
    const missing = datasetNames.filter(name => !options.topics[name]);
    if (missing.length > 0) throw new Error(`no topic given for ${missing.join(", ")}`);

    const producer = connectKafka(options.kafka, "jaffle-shop-generator").producer({ allowAutoTopicCreation: false });
    const summary: StreamSummary = { sent: emptyCounts(), total: 0, elapsedMs: 0 };
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    await producer.connect();
    const started = performance.now();
    try {
        const iterator = units[Symbol.iterator]();
        let built = 0;
        let exhausted = false;
        while (!exhausted && !signal?.aborted && failure === undefined) {
            if (rate !== undefined) {
                const due = started + (built / rate) * 1000 - performance.now();
                if (due > 0) await sleep(due, undefined, { signal }).catch(() => undefined);
                if (signal?.aborted) break;
            }
            const events: KafkaEvent[] = [];
            const counts = emptyCounts();
            const now = new Date().toISOString();
            while (events.length < eventsPerBatch) {
                const next = iterator.next();
                if (next.done) {
                    exhausted = true;
                    break;
                }
                for (const { dataset, record } of next.value) {
                    events.push(toEvent(options.topics[dataset], record, now));
                    counts[dataset]++;
                }
            }
            if (events.length === 0) break;
            built += events.length;
            const sending = producer
                .sendBatch({ topicMessages: groupByTopic(events), acks: options.acks ?? -1, compression: options.compression })
                .then(
                    () => {
                        for (const name of datasetNames) summary.sent[name] += counts[name];
                        summary.total += events.length;
                        summary.elapsedMs = performance.now() - started;
                        options.onProgress?.(summary);
                    },
                    err => {
                        failure ??= err;
                    },
                )
                .finally(() => inFlight.delete(sending));
            inFlight.add(sending);
            if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
        }
        await Promise.all(inFlight);
    } finally {
        summary.elapsedMs = performance.now() - started;
        await producer.disconnect().catch(() => undefined);
    }
    if (failure !== undefined) throw failure;
    return summary;
}

function emptyCounts(): Record<RawDatasetName, number> {
    return Object.fromEntries(datasetNames.map(name => [name, 0])) as Record<RawDatasetName, number>;
}
