import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, inject, it } from "vitest";
import { datasetNames } from "../lib/datasets";
import { toEvent } from "../producer/events";
import { connectKafka, KafkaSettings } from "../producer/kafka";
import { DigestSet, seedTopics } from "../producer/seed";
import { checkSeeds, readSeeds } from "../producer/seeds";
import { seedingProvider } from "../components/seeder";
import { sendInOneTransaction } from "../producer/send";
import { generatedPayment, seedsWithPayments } from "../testkit/bigSeeds";
import { createTopics, readTopics, uniquePrefix } from "../testkit/kafkaTopics";

const brokers = inject("kafkaBrokers");
const kafka: KafkaSettings = { brokers: [brokers], tls: false };
const seedsDir = path.join(__dirname, "..", "seeds");

async function freshTopics(label: string): Promise<Record<string, string>> {
    const prefix = uniquePrefix(label);
    const topics = Object.fromEntries(datasetNames.map(name => [name, `${prefix}${name}`]));
    await createTopics(brokers, Object.values(topics), 3);
    return topics;
}

function countByTopic(records: { topic: string }[], topics: Record<string, string>): Record<string, number> {
    return Object.fromEntries(datasetNames.map(name => [name, records.filter(r => r.topic === topics[name]).length]));
}

describe("DigestSet", () => {
    it("holds every digest added, through many growths, and no other", () => {
        const set = new DigestSet();
        const added = Array.from({ length: 50_000 }, () => randomBytes(10));
        for (const digest of added) set.add(digest);
        for (const digest of added.slice(0, 1_000)) set.add(Buffer.from(digest));
        expect(set.size).toBe(50_000);
        expect(added.every(digest => set.has(Buffer.from(digest)))).toBe(true);
        expect(Array.from({ length: 50_000 }, () => randomBytes(10)).filter(digest => set.has(digest))).toEqual([]);
    });
});

describe("seeding a real broker", () => {
    it("sends every seed row once, keyed by id, as typed JSON stamped with event_ts", async () => {
        const topics = await freshTopics("seed");
        const result = await seedTopics({ kafka, seedsDir, topics, transactionalId: `t-${topics.raw_orders}` });
        expect(result.sent).toBe(312);

        const records = await readTopics(brokers, Object.values(topics));
        expect(countByTopic(records, topics)).toEqual({ raw_customers: 100, raw_orders: 99, raw_payments: 113 });
        for (const record of records) {
            const value = JSON.parse(record.value);
            expect(record.key).toBe(String(value.id));
            expect(Number.isInteger(value.id)).toBe(true);
            expect(new Date(value.event_ts).toISOString()).toBe(value.event_ts);
        }
        const payment3 = JSON.parse(records.find(r => r.topic === topics.raw_payments && r.key === "3")!.value);
        expect(payment3).toMatchObject({ id: 3, order_id: 3, payment_method: "coupon", amount: 100 });
        const order1 = JSON.parse(records.find(r => r.topic === topics.raw_orders && r.key === "1")!.value);
        expect(order1).toMatchObject({ id: 1, user_id: 1, order_date: "2018-01-01", status: "returned" });
    });

    it("sends nothing the second time, and only new rows after a seed file grows", async () => {
        const topics = await freshTopics("twice");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seeds-"));
        for (const file of fs.readdirSync(seedsDir)) fs.copyFileSync(path.join(seedsDir, file), path.join(dir, file));
        const options = { kafka, seedsDir: dir, topics, transactionalId: `t-${topics.raw_orders}` };

        await seedTopics(options);
        const second = await seedTopics(options);
        expect(second).toMatchObject({ sent: 0, alreadyOnTopics: 312 });
        expect(countByTopic(await readTopics(brokers, Object.values(topics)), topics))
            .toEqual({ raw_customers: 100, raw_orders: 99, raw_payments: 113 });

        fs.appendFileSync(path.join(dir, "raw_customers.csv"), "101,Grace,H.\n");
        const third = await seedTopics(options);
        expect(third).toMatchObject({ sent: 1, alreadyOnTopics: 312 });
        const records = await readTopics(brokers, Object.values(topics));
        expect(countByTopic(records, topics)).toEqual({ raw_customers: 101, raw_orders: 99, raw_payments: 113 });
        expect(records.filter(r => r.topic === topics.raw_customers && r.key === "101").map(r => JSON.parse(r.value).first_name)).toEqual(["Grace"]);
    });

    it("puts every row of a 200,000-row seed file on its topic exactly once, and none again on the next run", async () => {
        const payments = 200_000;
        const dir = seedsWithPayments(payments);
        try {
            const topics = await freshTopics("big");
            const options = { kafka, seedsDir: dir, topics, transactionalId: `t-${topics.raw_orders}` };
            const first = await seedTopics(options);
            expect(first.sent).toBe(100 + 99 + payments);
            expect(await seedTopics(options)).toMatchObject({ sent: 0, alreadyOnTopics: 100 + 99 + payments });

            const records = await readTopics(brokers, Object.values(topics));
            expect(countByTopic(records, topics)).toEqual({ raw_customers: 100, raw_orders: 99, raw_payments: payments });
            const paymentRecords = records.filter(r => r.topic === topics.raw_payments);
            expect(new Set(paymentRecords.map(r => r.key)).size).toBe(payments);
            const unexpected = paymentRecords.filter(r => {
                const { event_ts: _, ...record } = JSON.parse(r.value);
                return r.key !== String(record.id) ||
                    JSON.stringify(record) !== JSON.stringify(generatedPayment(record.id));
            });
            expect(unexpected).toEqual([]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("takes the topics as the record of what was seeded: committed rows are not sent again, aborted ones are", async () => {
        const topics = await freshTopics("ledger");
        const client = connectKafka(kafka, "ledger-test");
        const customer = (id: number) => readSeeds(seedsDir).find(r => r.dataset.name === "raw_customers" && r.record.id === id)!.record;
        // Rows on the topics already, whoever sent them, whenever (event_ts is not part of a row).
        await sendInOneTransaction(client, [1, 2, 3].map(id => toEvent(topics.raw_customers, customer(id), new Date(2020, 0, 1))), { transactionalId: `other-${topics.raw_orders}` });
        // A transaction that aborted leaves records a read_committed reader never sees.
        const aborting = client.producer({ transactionalId: `aborting-${topics.raw_orders}`, idempotent: true, maxInFlightRequests: 1 });
        await aborting.connect();
        const transaction = await aborting.transaction();
        await transaction.send({ topic: topics.raw_customers, messages: [4, 5].map(id => toEvent(topics.raw_customers, customer(id), new Date())) });
        await transaction.abort();
        await aborting.disconnect();

        const result = await seedTopics({ kafka, seedsDir, topics, transactionalId: `t-${topics.raw_orders}` });
        expect(result).toMatchObject({ sent: 312 - 3, alreadyOnTopics: 3 });
        const customers = (await readTopics(brokers, [topics.raw_customers])).map(r => Number(r.key)).sort((a, b) => a - b);
        expect(customers).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    });

    it("is not held up by a transaction an interrupted run of the same id left open: starting aborts it, and its rows are sent", async () => {
        const topics = await freshTopics("left-open");
        const transactionalId = `t-${topics.raw_orders}`;
        const interrupted = connectKafka(kafka, "interrupted-seeder").producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 600_000 });
        await interrupted.connect();
        const transaction = await interrupted.transaction();
        await transaction.send({ topic: topics.raw_customers, messages: [toEvent(topics.raw_customers, readSeeds(seedsDir)[0].record, new Date())] });
        try {
            // Within 30 s, where the open transaction's own timeout is 10 minutes: aborted, not waited for.
            const result = await seedTopics({ kafka, seedsDir, topics, transactionalId, timeoutMs: 30_000 });
            expect(result).toMatchObject({ sent: 312, alreadyOnTopics: 0 });
        } finally {
            await interrupted.disconnect().catch(() => undefined);
        }
        expect(countByTopic(await readTopics(brokers, Object.values(topics)), topics)).toEqual({ raw_customers: 100, raw_orders: 99, raw_payments: 113 });
    }, 60_000);

    it("is what the Seeding resource runs: a state of an earlier version (a digest per row, the machine's paths) is rewritten once, sending nothing", async () => {
        const topics = await freshTopics("upgrade");
        const inputs = { seedsDir: "seeds", seedsHash: checkSeeds(seedsDir).hash, topics, bootstrapServers: [brokers], tls: false, transactionalId: `t-${topics.raw_orders}` };
        const created = await seedingProvider.create!(inputs);
        expect(created.outs).toMatchObject({ sent: 312 });
        expect(Object.keys(created.outs!.epochs!)).toEqual(datasetNames);
        expect(await seedingProvider.diff!(created.id, created.outs!, inputs)).toMatchObject({ changes: false });

        const earlier = { ...created.outs!, seedsDir: seedsDir, producerModule: path.join(seedsDir, "..", "producer", "seed.ts"), sentDigests: ["0a1b2c3d4e5f60718293"] };
        expect(await seedingProvider.diff!(created.id, earlier, inputs)).toMatchObject({ changes: true, replaces: [] });
        const { outs } = await seedingProvider.update!(created.id, earlier, inputs);
        expect(outs).toMatchObject({ ...inputs, sent: 0, epochs: created.outs!.epochs });
        expect(Object.keys(outs!).sort()).toEqual([...Object.keys(inputs), "sent", "endOffsets", "epochs"].sort());
        expect(countByTopic(await readTopics(brokers, Object.values(topics)), topics)).toEqual({ raw_customers: 100, raw_orders: 99, raw_payments: 113 });
    });

    it("fails a malformed seed with file and line and sends nothing at all", async () => {
        const topics = await freshTopics("malformed");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seeds-"));
        for (const file of fs.readdirSync(seedsDir)) fs.copyFileSync(path.join(seedsDir, file), path.join(dir, file));
        fs.appendFileSync(path.join(dir, "raw_payments.csv"), "114,99,coupon,12.5\n");

        await expect(seedTopics({ kafka, seedsDir: dir, topics, transactionalId: `t-${topics.raw_orders}` }))
            .rejects.toThrow(/raw_payments\.csv:115: column "amount": "12\.5" is not an integer/);
        expect(await readTopics(brokers, Object.values(topics), { readUncommitted: true })).toEqual([]);
    });

    it("seeds only the datasets given a topic (the others come from PostgreSQL by CDC)", async () => {
        const { raw_orders, raw_payments } = await freshTopics("kafka-only");
        const result = await seedTopics({ kafka, seedsDir, topics: { raw_orders, raw_payments }, transactionalId: `t-${raw_orders}` });
        expect(result.sent).toBe(99 + 113);
        const records = await readTopics(brokers, [raw_orders, raw_payments]);
        expect(records.filter(r => r.topic === raw_orders)).toHaveLength(99);
        expect(records.filter(r => r.topic === raw_payments)).toHaveLength(113);
    });

    it("fails naming the topic when one is missing, and sends nothing", async () => {
        const topics = await freshTopics("missing-topic");
        const missing = { ...topics, raw_orders: `${topics.raw_orders}_gone` };
        await expect(seedTopics({ kafka, seedsDir, topics: missing, transactionalId: `t-${missing.raw_orders}` }))
            .rejects.toThrow(new RegExp(`topic ${missing.raw_orders.replace(/[.]/g, "\\.")} not found on ${brokers}`));
        expect(await readTopics(brokers, Object.values(topics), { readUncommitted: true })).toEqual([]);
    });

    it("fails within a bounded time when the broker is unreachable", async () => {
        const timeoutMs = 20_000;
        const started = Date.now();
        await expect(seedTopics({
            kafka: { brokers: ["127.0.0.1:1"], tls: false },
            seedsDir,
            topics: Object.fromEntries(datasetNames.map(n => [n, n])),
            transactionalId: "t-unreachable",
            timeoutMs,
        })).rejects.toThrow(/ECONNREFUSED|Connection error|did not complete within/);
        // The bound it was given, with room for a loaded machine: this checks the bound, not speed.
        expect(Date.now() - started).toBeLessThan(timeoutMs + 10_000);
    }, 60_000);

    it("leaves nothing visible to read_committed consumers when a transaction fails half-way", async () => {
        const topics = await freshTopics("abort");
        const now = new Date();
        const events = [
            ...Array.from({ length: 10 }, (_, i) => toEvent(topics.raw_customers, { id: i + 1, first_name: "A", last_name: "B" }, now)),
            toEvent(`${topics.raw_customers}-does-not-exist`, { id: 99, first_name: "X", last_name: "Y" }, now),
        ];
        await expect(sendInOneTransaction(connectKafka(kafka, "abort-test"), events, {
            transactionalId: `t-${topics.raw_customers}`,
            chunkSize: 10,
            timeoutMs: 20_000,
        })).rejects.toThrow();

        // The first chunk did reach the broker, and was aborted with the transaction.
        expect(await readTopics(brokers, [topics.raw_customers], { readUncommitted: true })).toHaveLength(10);
        expect(await readTopics(brokers, [topics.raw_customers])).toEqual([]);
    }, 60_000);
});
