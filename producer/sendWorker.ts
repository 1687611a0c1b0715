import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { CompressionTypes, Message, Producer } from "kafkajs";
import { KafkaEvent } from "./events";
import { connectKafka, KafkaSettings } from "./kafka";
import { fastDefaultPartitioner } from "./partitioner";
import { sendBatchUntilAcknowledged } from "./send";

/**
 * Where the generator's idempotent producers run: on the generating thread (the default), or in
 * worker threads (--threads). kafkajs spends about 80% of the generator's time encoding produce
 * requests (a Buffer per record, CRC32C in JavaScript) on the thread that calls it; in threads of
 * their own, that runs beside the generating, on another core, at 50 to 60 MB of RSS per thread
 * (bench/README.md). Either way the generating thread packs each batch into one buffer (handed
 * to a thread without copying) for one producer that carries nothing else meanwhile, which sends
 * it until it is acknowledged or given up on, and says which.
 */

/** In the thread's workerData: this file, started as a producer thread. */
const marker = "jaffleShopSendThread";

export interface SendThreadSettings {
    kafka: KafkaSettings;
    /** The topics, by index: a batch's records name theirs by index. */
    topics: string[];
    producers: number;
    compression?: CompressionTypes;
    retryForMs: number;
    requestTimeoutMs?: number;
}

/** A batch as the generating thread packs it: key and value bytes back to back, and where each ends. */
export interface PackedBatch {
    bytes: Uint8Array;
    /** Per record: the topic's index. */
    topicIndex: Uint8Array;
    /** Per record: where its key ends, then where its value ends (its key starts where the record before ended). */
    ends: Uint32Array;
    records: number;
}

type ToThread = { type: "send"; id: number; producer: number; batch: PackedBatch } | { type: "close" };

type FromThread =
    | { type: "ready" }
    | { type: "connectFailed"; message: string }
    | { type: "acknowledged"; id: number }
    | { type: "undelivered"; id: number; message: string }
    | { type: "retrying"; message: string }
    | { type: "closed" };

/** Packs events into one buffer, growing it as needed. */
export class BatchPacker {
    private bytes: Buffer;
    private topicIndex: Uint8Array;
    private ends: Uint32Array;
    private offset = 0;
    private records = 0;

    constructor(private readonly topicIndexOf: Map<string, number>, expectedRecords: number) {
        this.bytes = Buffer.allocUnsafeSlow(expectedRecords * 160);
        this.topicIndex = new Uint8Array(expectedRecords);
        this.ends = new Uint32Array(expectedRecords * 2);
    }

    add(event: KafkaEvent): void {
        if (this.records === this.topicIndex.length) {
            this.topicIndex = grow(this.topicIndex, this.records * 2);
            this.ends = grow(this.ends, this.records * 4);
        }
        // At most 3 bytes of UTF-8 per UTF-16 unit.
        const room = (event.key.length + event.value.length) * 3;
        if (this.offset + room > this.bytes.length) {
            const bigger = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.offset + room));
            this.bytes.copy(bigger, 0, 0, this.offset);
            this.bytes = bigger;
        }
        this.offset += this.bytes.write(event.key, this.offset);
        this.ends[this.records * 2] = this.offset;
        this.offset += this.bytes.write(event.value, this.offset);
        this.ends[this.records * 2 + 1] = this.offset;
        this.topicIndex[this.records++] = this.topicIndexOf.get(event.topic)!;
    }

    get size(): number {
        return this.records;
    }

    /** The packed batch; the packer is spent. */
    finish(): PackedBatch {
        return { bytes: this.bytes, topicIndex: this.topicIndex, ends: this.ends, records: this.records };
    }
}

function grow<T extends Uint8Array | Uint32Array>(array: T, length: number): T {
    const bigger = new (array.constructor as new (length: number) => T)(length);
    bigger.set(array);
    return bigger;
}

/** The batch's records, grouped by topic in the order they were packed (kafkajs keeps that order per partition). */
export function unpack(batch: PackedBatch, topics: string[]): { topic: string; messages: Message[] }[] {
    const bytes = Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength);
    const byTopic: Message[][] = topics.map(() => []);
    let start = 0;
    for (let i = 0; i < batch.records; i++) {
        const keyEnd = batch.ends[i * 2];
        const valueEnd = batch.ends[i * 2 + 1];
        byTopic[batch.topicIndex[i]].push({ key: bytes.subarray(start, keyEnd), value: bytes.subarray(keyEnd, valueEnd) });
        start = valueEnd;
    }
    return topics.flatMap((topic, i) => (byTopic[i].length > 0 ? [{ topic, messages: byTopic[i] }] : []));
}

function transferList(batch: PackedBatch): ArrayBuffer[] {
    return [batch.bytes.buffer, batch.topicIndex.buffer, batch.ends.buffer] as ArrayBuffer[];
}

export interface SendThreadEvents {
    onAcknowledged: (id: number) => void;
    onUndelivered: (id: number, error: Error) => void;
    onRetrying: (error: Error) => void;
}

/** Some idempotent producers, in a thread of their own or in this one. */
export interface Sender {
    /** Resolves when all of its producers are connected. */
    connected(): Promise<void>;
    /** Sends the batch on its producer number `producer`, which must carry nothing else meanwhile. */
    send(id: number, producer: number, batch: PackedBatch): void;
    /** Disconnects its producers; batches still pending stay pending. */
    close(): Promise<void>;
}

export function startSender(settings: SendThreadSettings, events: SendThreadEvents, inThread: boolean): Sender {
    return inThread ? new SendThread(settings, events) : new LocalSender(settings, events);
}

/** The producers and what they do with a batch, wherever they run. */
class ProducerGroup {
    private readonly producers: Producer[];

    constructor(private readonly settings: SendThreadSettings) {
        // sendBatchUntilAcknowledged retries within its own time limit; kafkajs's retries would only
        // lengthen each attempt. It insists on one for an idempotent producer.
        const kafka = connectKafka(settings.kafka, "jaffle-shop-generator", { requestTimeoutMs: settings.requestTimeoutMs, retries: 1 });
        this.producers = Array.from({ length: settings.producers }, () =>
            kafka.producer({
                idempotent: true,
                maxInFlightRequests: 1,
                allowAutoTopicCreation: false,
                retry: { retries: 1 },
                createPartitioner: fastDefaultPartitioner,
            }),
        );
    }

    async connect(): Promise<void> {
        try {
            await Promise.all(this.producers.map(p => p.connect()));
        } catch (err) {
            await this.disconnect();
            throw err;
        }
    }

    send(producer: number, batch: PackedBatch, onRetry: (error: Error) => void): Promise<void> {
        return sendBatchUntilAcknowledged(
            this.producers[producer],
            { topicMessages: unpack(batch, this.settings.topics), compression: this.settings.compression },
            { retryForMs: this.settings.retryForMs, onRetry },
        );
    }

    async disconnect(): Promise<void> {
        await Promise.all(this.producers.map(p => p.disconnect().catch(() => undefined)));
    }
}

/** Producers on the generating thread itself. */
class LocalSender implements Sender {
    private readonly group: ProducerGroup;
    private readonly ready: Promise<void>;

    constructor(settings: SendThreadSettings, private readonly events: SendThreadEvents) {
        this.group = new ProducerGroup(settings);
        this.ready = this.group.connect();
        this.ready.catch(() => undefined);
    }

    connected(): Promise<void> {
        return this.ready;
    }

    send(id: number, producer: number, batch: PackedBatch): void {
        this.group.send(producer, batch, this.events.onRetrying).then(
            () => this.events.onAcknowledged(id),
            (err: Error) => this.events.onUndelivered(id, err),
        );
    }

    close(): Promise<void> {
        return this.group.disconnect();
    }
}

/** The generating thread's handle on a thread of producers. */
class SendThread implements Sender {
    private readonly worker: Worker;
    private readonly ready: Promise<void>;
    private readonly pending = new Set<number>();
    private closed?: () => void;
    private exited = false;

    constructor(settings: SendThreadSettings, private readonly events: SendThreadEvents) {
        // The thread runs this very file, TypeScript included, however the process was started (tsx, vitest).
        const code = `require(${JSON.stringify(require.resolve("tsx/cjs/api"))}).require(${JSON.stringify(__filename)}, ${JSON.stringify(__filename)});`;
        this.worker = new Worker(code, { eval: true, workerData: { ...settings, [marker]: true } });
        this.ready = new Promise((resolve, reject) => {
            const onMessage = (message: FromThread) => {
                if (message.type === "ready") resolve();
                else if (message.type === "connectFailed") reject(new Error(message.message));
                else this.handle(message);
            };
            this.worker.on("message", onMessage);
            this.worker.once("error", err => {
                reject(err);
                this.lost(err);
            });
            this.worker.once("exit", code => {
                this.exited = true;
                const err = new Error(`a producer thread exited unexpectedly (code ${code})`);
                reject(err);
                this.lost(err);
                this.closed?.();
            });
        });
        // Settled through `connected()`; never an unhandled rejection meanwhile.
        this.ready.catch(() => undefined);
    }

    connected(): Promise<void> {
        return this.ready;
    }

    send(id: number, producer: number, batch: PackedBatch): void {
        this.pending.add(id);
        const message: ToThread = { type: "send", id, producer, batch };
        this.worker.postMessage(message, transferList(batch));
    }

    /** Disconnects its producers and ends the thread; batches still pending stay pending. */
    async close(): Promise<void> {
        if (this.exited) return;
        const closed = new Promise<void>(resolve => (this.closed = resolve));
        const message: ToThread = { type: "close" };
        this.worker.postMessage(message);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([closed, new Promise(resolve => (timer = setTimeout(resolve, 10_000)))]);
        clearTimeout(timer);
        await this.worker.terminate();
    }

    private handle(message: FromThread): void {
        switch (message.type) {
            case "acknowledged":
                this.pending.delete(message.id);
                this.events.onAcknowledged(message.id);
                break;
            case "undelivered":
                this.pending.delete(message.id);
                this.events.onUndelivered(message.id, new Error(message.message));
                break;
            case "retrying":
                this.events.onRetrying(new Error(message.message));
                break;
            case "closed":
                this.closed?.();
                break;
        }
    }

    /** The thread died: its batches are given up on, in doubt. */
    private lost(err: Error): void {
        for (const id of this.pending) this.events.onUndelivered(id, err);
        this.pending.clear();
    }
}

// ---- the thread itself ------------------------------------------------------------------------------

async function runThread(settings: SendThreadSettings): Promise<void> {
    const port = parentPort!;
    const post = (message: FromThread) => port.postMessage(message);
    const group = new ProducerGroup(settings);
    port.on("message", (message: ToThread) => {
        if (message.type === "close") {
            void group.disconnect().then(() => post({ type: "closed" }));
            return;
        }
        const { id, producer, batch } = message;
        group.send(producer, batch, error => post({ type: "retrying", message: error.message })).then(
            () => post({ type: "acknowledged", id }),
            (err: Error) => post({ type: "undelivered", id, message: err.message }),
        );
    });
    try {
        await group.connect();
    } catch (err) {
        post({ type: "connectFailed", message: (err as Error).message });
        return;
    }
    post({ type: "ready" });
}

if (!isMainThread && parentPort && (workerData as Record<string, unknown> | null)?.[marker] === true) {
    void runThread(workerData as SendThreadSettings);
}
