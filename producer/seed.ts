import { datasets } from "./datasets";
import { rowDigest, toEvent } from "./events";
import { connectKafka, KafkaSettings } from "./kafka";
import { readSeeds } from "./seeds";
import { sendInOneTransaction } from "./send";

export interface SeedOptions {
    kafka: KafkaSettings;
    seedsDir: string;
    /** Topic for each raw dataset name (a stack may prefix them). */
    topics: Record<string, string>;
    /** Digests of rows already sent by an earlier run; those rows are not sent again. */
    alreadySent?: readonly string[];
    transactionalId: string;
    timeoutMs?: number;
    log?: (message: string) => void;
}

export interface SeedResult {
    /** Rows sent by this run. */
    sent: number;
    /** Digests of every seed row sent so far, this run's included. */
    sentDigests: string[];
}

/**
 * Seeds the topics exactly once: every row is validated before anything is sent, rows sent by an
 * earlier run are skipped, and the rest go out in a single transaction.
 */
export async function seedTopics(options: SeedOptions): Promise<SeedResult> {
    const log = options.log ?? (() => undefined);
    const rows = readSeeds(options.seedsDir);
    const missingTopics = datasets.filter(d => !options.topics[d.name]).map(d => d.name);
    if (missingTopics.length > 0) {
        throw new Error(`no topic given for ${missingTopics.join(", ")}`);
    }
    const alreadySent = new Set(options.alreadySent ?? []);
    const now = new Date();
    const pending = rows
        .map(row => ({ row, digest: rowDigest(row.dataset.name, row.record) }))
        .filter(({ digest }) => !alreadySent.has(digest));
    const sentDigests = [...alreadySent, ...pending.map(p => p.digest)];
    if (pending.length === 0) {
        log(`all ${rows.length} seed rows were sent before; nothing to send`);
        return { sent: 0, sentDigests };
    }
    const events = pending.map(({ row }) => toEvent(options.topics[row.dataset.name], row.record, now));
    log(`sending ${events.length} seed events to ${Object.values(options.topics).join(", ")}`);
    const kafka = connectKafka(options.kafka, "jaffle-shop-seeder");
    await sendInOneTransaction(kafka, events, {
        transactionalId: options.transactionalId,
        timeoutMs: options.timeoutMs,
        onProgress: (sent, total) => log(`sent ${sent}/${total} seed events`),
    });
    log(`committed ${events.length} seed events`);
    return { sent: events.length, sentDigests };
}
