import { randomUUID } from "node:crypto";
import { Kafka } from "kafkajs";
import { Dataset, datasets, RawRecord } from "../lib/datasets";
import { KafkaEvent, rowDigest, rowDigestBytes, toEvent } from "./events";
import { connectKafka, KafkaSettings, requireTopics } from "./kafka";
import { SeedRow, seedRows, validateSeeds } from "./seeds";
import { sendChunksInOneTransaction, transactionalProducer, withTimeout } from "./send";

export interface SeedOptions {
    kafka: KafkaSettings;
    seedsDir: string;
    /** Topic for each raw dataset name (a stack may prefix them). */
    topics: Record<string, string>;
    transactionalId: string;
    timeoutMs?: number;
    log?: (message: string) => void;
}

export interface SeedResult {
    /** Rows sent by this run. */
    sent: number;
    /** Seed rows the topics held already, and were not sent again. */
    alreadyOnTopics: number;
    /** Each topic's end offset per partition after this run (see recreatedTopics). */
    endOffsets: TopicOffsets;
}

/** End offset per partition ("0": "99"), by topic. */
export type TopicOffsets = Record<string, Record<string, string>>;

/**
 * Events per produce request. kafkajs sorts a request's events into partitions in quadratic time:
 * 1M seed rows took 21 s at 1,000 a request, 27 s at 5,000.
 */
const chunkSize = 1_000;
/** Events between two progress lines: millions of seed rows make a few lines, not a thousand. */
const progressEvery = 500_000;

/**
 * Seeds the topics exactly once. The topics are the record of what was seeded: every seed row
 * they hold (committed) is left out, whatever any state says, and the rest go out in a single
 * transaction, after every row was validated. The seed files are read a chunk at a time
 * (validated, then sent), so memory grows only with the digests of the rows on the topics.
 */
export async function seedTopics(options: SeedOptions): Promise<SeedResult> {
    const log = options.log ?? (() => undefined);
    const timeoutMs = options.timeoutMs ?? 60_000;
    // The datasets given a topic; the others (e.g. read from PostgreSQL by CDC) are not Kafka's.
    const seeded = datasets.filter(d => options.topics[d.name]);
    if (seeded.length === 0) throw new Error("no topic given for any dataset");
    const rowCount = validateSeeds(options.seedsDir, seeded);
    const kafka = connectKafka(options.kafka, "jaffle-shop-seeder");
    const topics = Object.values(options.topics);
    await requireTopics(kafka, topics, options.kafka);

    // Started before the topics are read: starting it aborts a transaction that an interrupted run
    // of the same id left open, which would hide everything after it from the reading below.
    const producer = transactionalProducer(kafka, options.transactionalId, timeoutMs);
    try {
        await withTimeout(producer.connect(), timeoutMs, `Kafka at ${options.kafka.brokers.join(",")} did not accept the seeder within ${timeoutMs / 1000}s`);
        const onTopics = await seedRowsOnTopics(kafka, seeded, options.topics, timeoutMs);
        log(`${rowCount} valid seed rows, ${onTopics.size} of them on the topics already; sending the others to ${topics.join(", ")}`);
        let reported = 0;
        const sent = await sendChunksInOneTransaction(kafka, unsentEvents(seedRows(options.seedsDir, seeded), options.topics, onTopics), {
            transactionalId: options.transactionalId,
            producer,
            timeoutMs,
            onProgress: sentSoFar => {
                if (sentSoFar - reported < progressEvery) return;
                log(`sent ${sentSoFar} seed events`);
                reported = sentSoFar;
            },
        });
        log(sent === 0 ? `all ${rowCount} seed rows are on the topics; nothing to send` : `committed ${sent} seed events`);
        return { sent, alreadyOnTopics: onTopics.size, endOffsets: await endOffsets(kafka, topics) };
    } finally {
        await producer.disconnect().catch(() => undefined);
    }
}

/** The header that carries a seeded event's rowDigest, so that reading it back needs no parsing. */
const seedRowHeader = "jaffle-seed-row";

/** The events of the rows not on the topics, in chunks. */
function* unsentEvents(rows: Iterable<SeedRow>, topics: Record<string, string>, onTopics: DigestSet): Generator<KafkaEvent[]> {
    const eventTs = new Date().toISOString();
    let chunk: KafkaEvent[] = [];
    for (const { dataset, record } of rows) {
        const digest = rowDigest(dataset.name, record);
        if (onTopics.has(digest)) continue;
        chunk.push({ ...toEvent(topics[dataset.name], record, eventTs), headers: { [seedRowHeader]: digest } });
        if (chunk.length === chunkSize) {
            yield chunk;
            chunk = [];
        }
    }
    if (chunk.length > 0) yield chunk;
}

/**
 * The digests of the rows the topics hold (rowDigest of each event's row, its `event_ts` left
 * out), read from each partition's start up to its end when reading began, as a read_committed
 * consumer sees them: aborted transactions are not there. Fails after timeoutMs, the consumer
 * stopped either way.
 */
export async function seedRowsOnTopics(kafka: Kafka, seeded: readonly Dataset[], topics: Record<string, string>, timeoutMs: number): Promise<DigestSet> {
    const datasetOfTopic = new Map(seeded.map(d => [topics[d.name], d.name]));
    const digests = new DigestSet();
    const groupId = `jaffle-shop-seeder-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    try {
        // What is left to read: the end offset of each partition that holds anything, by "topic/partition".
        const ends = new Map<string, bigint>();
        for (const topic of datasetOfTopic.keys()) {
            for (const o of await admin.fetchTopicOffsets(topic)) {
                if (BigInt(o.high) > BigInt(o.low)) ends.set(`${topic}/${o.partition}`, BigInt(o.high));
            }
        }
        if (ends.size === 0) return digests;

        const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
        try {
            await consumer.connect();
            // A batch's last offset counts transaction markers too, which are never handed out as messages.
            const caughtUp = new Promise<void>((resolve, reject) => {
                consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
                    const partition = `${payload.topic}/${payload.partition}`;
                    const end = ends.get(partition);
                    if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end) ends.delete(partition);
                    if (ends.size === 0) resolve();
                });
                consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
            });
            await consumer.subscribe({ topics: [...datasetOfTopic.keys()], fromBeginning: true });
            await consumer.run({
                autoCommit: false,
                eachBatch: async ({ batch }) => {
                    const dataset = datasetOfTopic.get(batch.topic)!;
                    for (const message of batch.messages) {
                        const carried = message.headers?.[seedRowHeader];
                        const digest = Buffer.isBuffer(carried) && carried.length === rowDigestBytes ? carried : eventRowDigest(dataset, message.value);
                        if (digest) digests.add(digest);
                    }
                },
            });
            const where = [...datasetOfTopic.keys()].join(", ");
            await withTimeout(caughtUp, timeoutMs, `reading the seed rows back from ${where} did not complete within ${timeoutMs / 1000}s`);
        } finally {
            await consumer.disconnect().catch(() => undefined);
            // The group committed nothing; it only served this reading.
            await admin.deleteGroups([groupId]).catch(() => undefined);
        }
        return digests;
    } finally {
        await admin.disconnect().catch(() => undefined);
    }
}

/** The rowDigest of an event's row (events sent without the header), or undefined for a value that is not a JSON row. */
function eventRowDigest(dataset: string, value: Buffer | null): Buffer | undefined {
    if (!value) return undefined;
    let row: unknown;
    try {
        row = JSON.parse(value.toString());
    } catch {
        return undefined;
    }
    if (typeof row !== "object" || row === null || Array.isArray(row)) return undefined;
    const { event_ts: _, ...record } = row as RawRecord & { event_ts?: unknown };
    return rowDigest(dataset, record);
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

/**
 * Row digests in one open-addressing table, about 20 bytes a row where a Set of strings takes 70
 * and more: millions of rows read back from the topics fit in little memory. (An all-zero slot is
 * empty; a digest of ten zero bytes, one chance in 2^80, would go unrecorded.)
 */
export class DigestSet {
    private slots = Buffer.alloc(rowDigestBytes * 1_024);
    private count = 0;

    get size(): number {
        return this.count;
    }

    add(digest: Buffer): void {
        if ((this.count + 1) * 4 > this.capacity() * 3) this.grow();
        const slot = this.slotOf(digest);
        if (!this.isEmpty(slot)) return;
        digest.copy(this.slots, slot * rowDigestBytes, 0, rowDigestBytes);
        this.count++;
    }

    has(digest: Buffer): boolean {
        return !this.isEmpty(this.slotOf(digest));
    }

    private capacity(): number {
        return this.slots.length / rowDigestBytes;
    }

    /** The slot that holds the digest, or the empty one where it goes: linear probing from its first bytes, which are uniform. */
    private slotOf(digest: Buffer): number {
        const mask = this.capacity() - 1;
        for (let slot = digest.readUInt32LE(0) & mask; ; slot = (slot + 1) & mask) {
            const at = slot * rowDigestBytes;
            if (this.isEmpty(slot) || this.slots.compare(digest, 0, rowDigestBytes, at, at + rowDigestBytes) === 0) return slot;
        }
    }

    private isEmpty(slot: number): boolean {
        return isZero(this.slots, slot * rowDigestBytes);
    }

    private grow(): void {
        const old = this.slots;
        this.slots = Buffer.alloc(old.length * 2);
        for (let at = 0; at < old.length; at += rowDigestBytes) {
            if (isZero(old, at)) continue;
            const digest = old.subarray(at, at + rowDigestBytes);
            digest.copy(this.slots, this.slotOf(digest) * rowDigestBytes);
        }
    }
}

function isZero(buffer: Buffer, at: number): boolean {
    return buffer.readUInt32LE(at) === 0 && buffer.readUInt32LE(at + 4) === 0 && buffer.readUInt16LE(at + 8) === 0;
}
