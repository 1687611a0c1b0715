import { datasets } from "./datasets";
import { rowDigest, toEvent } from "./events";
import { Kafka } from "kafkajs";
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
    /** Each topic's end offset per partition after this run (see recreatedTopics). */
    endOffsets: TopicOffsets;
}

/** End offset per partition ("0": "99"), by topic. */
export type TopicOffsets = Record<string, Record<string, string>>;

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
    const kafka = connectKafka(options.kafka, "jaffle-shop-seeder");
    const topics = Object.values(options.topics);
    if (pending.length === 0) {
        log(`all ${rows.length} seed rows were sent before; nothing to send`);
        return { sent: 0, sentDigests, endOffsets: await endOffsets(kafka, topics) };
    }
    const events = pending.map(({ row }) => toEvent(options.topics[row.dataset.name], row.record, now));
    log(`sending ${events.length} seed events to ${topics.join(", ")}`);
    await sendInOneTransaction(kafka, events, {
        transactionalId: options.transactionalId,
        timeoutMs: options.timeoutMs,
        onProgress: (sent, total) => log(`sent ${sent}/${total} seed events`),
    });
    log(`committed ${events.length} seed events`);
    return { sent: events.length, sentDigests, endOffsets: await endOffsets(kafka, topics) };
}

/** Digests of the seed rows of one dataset, as seedTopics records them. */
export function seedDigests(seedsDir: string, dataset: string): string[] {
    return readSeeds(seedsDir, datasets.filter(d => d.name === dataset)).map(row => rowDigest(dataset, row.record));
}

async function endOffsets(kafka: Kafka, topics: string[]): Promise<TopicOffsets> {
    const admin = kafka.admin();
    await admin.connect();
    try {
        const result: TopicOffsets = {};
        for (const topic of topics) {
            const offsets = await admin.fetchTopicOffsets(topic);
            result[topic] = Object.fromEntries(offsets.map(o => [String(o.partition), o.high]));
        }
        return result;
    } finally {
        await admin.disconnect();
    }
}

/**
 * Topics that are not the ones seeded: missing, or with a partition whose end offset is below the
 * one recorded after seeding. A topic's end offsets never go down in its life (retention removes
 * records from the front), so a lower one means it was deleted and created again, empty.
 */
export async function recreatedTopics(settings: KafkaSettings, recorded: TopicOffsets): Promise<string[]> {
    const admin = connectKafka(settings, "jaffle-shop-seeder").admin();
    await admin.connect();
    try {
        const existing = new Set(await admin.listTopics());
        const recreated: string[] = [];
        for (const [topic, partitions] of Object.entries(recorded)) {
            if (!existing.has(topic)) {
                recreated.push(topic);
                continue;
            }
            const now = new Map((await admin.fetchTopicOffsets(topic)).map(o => [String(o.partition), BigInt(o.high)]));
            if (Object.entries(partitions).some(([partition, high]) => (now.get(partition) ?? 0n) < BigInt(high))) {
                recreated.push(topic);
            }
        }
        return recreated;
    } finally {
        await admin.disconnect();
    }
}
