import { datasets } from "../lib/datasets";
import { KafkaEvent, rowDigest, toEvent } from "./events";
import { Kafka } from "kafkajs";
import { connectKafka, KafkaSettings, requireTopics } from "./kafka";
import { SeedRow, seedRows, validateSeeds } from "./seeds";
import { sendChunksInOneTransaction } from "./send";

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
 * Events per produce request. kafkajs sorts a request's events into partitions in quadratic time:
 * 1M seed rows took 21 s at 1,000 a request, 27 s at 5,000.
 */
const chunkSize = 1_000;
/** Events between two progress lines: millions of seed rows make a few lines, not a thousand. */
const progressEvery = 500_000;

/**
 * Seeds the topics exactly once: every row is validated before anything is sent, rows sent by an
 * earlier run are skipped, and the rest go out in a single transaction. The seed files are read
 * twice, a chunk at a time (validated, then sent), so memory does not grow with them, except
 * for the digests: `sentDigests` holds one per row.
 */
export async function seedTopics(options: SeedOptions): Promise<SeedResult> {
    const log = options.log ?? (() => undefined);
    // The datasets given a topic; the others (e.g. read from PostgreSQL by CDC) are not Kafka's.
    const seeded = datasets.filter(d => options.topics[d.name]);
    if (seeded.length === 0) throw new Error("no topic given for any dataset");
    const rowCount = validateSeeds(options.seedsDir, seeded);
    const alreadySent = new Set(options.alreadySent ?? []);
    const sentNow = new PackedDigests();
    const kafka = connectKafka(options.kafka, "jaffle-shop-seeder");
    const topics = Object.values(options.topics);
    await requireTopics(kafka, topics, options.kafka);
    log(`${rowCount} valid seed rows; sending those not sent before to ${topics.join(", ")}`);
    const events = unsentEvents(seedRows(options.seedsDir, seeded), options.topics, alreadySent, sentNow);
    let reported = 0;
    const sent = await sendChunksInOneTransaction(kafka, events, {
        transactionalId: options.transactionalId,
        timeoutMs: options.timeoutMs,
        onProgress: sentSoFar => {
            if (sentSoFar - reported < progressEvery) return;
            log(`sent ${sentSoFar} seed events`);
            reported = sentSoFar;
        },
    });
    log(sent === 0 ? `all ${rowCount} seed rows were sent before; nothing to send` : `committed ${sent} seed events`);
    return { sent, sentDigests: [...alreadySent, ...sentNow.toStrings()], endOffsets: await endOffsets(kafka, topics) };
}

/**
 * The events of the rows not sent before, in chunks; the digest of each is added to `sentNow` as
 * its chunk is made.
 */
function* unsentEvents(
    rows: Iterable<SeedRow>,
    topics: Record<string, string>,
    alreadySent: ReadonlySet<string>,
    sentNow: PackedDigests,
): Generator<KafkaEvent[]> {
    const eventTs = new Date().toISOString();
    let chunk: KafkaEvent[] = [];
    for (const { dataset, record } of rows) {
        const digest = rowDigest(dataset.name, record);
        if (alreadySent.has(digest)) continue;
        sentNow.push(digest);
        chunk.push(toEvent(topics[dataset.name], record, eventTs));
        if (chunk.length === chunkSize) {
            yield chunk;
            chunk = [];
        }
    }
    if (chunk.length > 0) yield chunk;
}

/** Bytes of a row digest (rowDigest gives them as hex). */
const digestBytes = rowDigest("", {}).length / 2;

/**
 * Row digests packed as bytes, 10 a row where a digest string takes about 50 in V8's heap:
 * millions of seed rows are sent with little memory.
 */
class PackedDigests {
    private bytes = Buffer.alloc(digestBytes * 1_024);
    private count = 0;

    push(hex: string): void {
        if ((this.count + 1) * digestBytes > this.bytes.length) {
            const grown = Buffer.alloc(this.bytes.length * 2);
            this.bytes.copy(grown);
            this.bytes = grown;
        }
        this.bytes.write(hex, this.count++ * digestBytes, "hex");
    }

    /** The digests as rowDigest gives them, each a string of its own (50 bytes of heap). */
    toStrings(): string[] {
        return Array.from({ length: this.count }, (_, i) => this.bytes.toString("hex", i * digestBytes, (i + 1) * digestBytes));
    }
}

/** Digests of the seed rows of one dataset, as seedTopics records them. */
export function seedDigests(seedsDir: string, dataset: string): string[] {
    const digests: string[] = [];
    for (const row of seedRows(seedsDir, datasets.filter(d => d.name === dataset))) digests.push(rowDigest(dataset, row.record));
    return digests;
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
