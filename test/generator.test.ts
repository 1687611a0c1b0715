import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "pg";
import { Partitioners } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { prefixedTopics } from "../cli/target";
import { datasetNames, RawDatasetName } from "../lib/datasets";
import { GeneratedRecord, generateUnits, seedProfile } from "../producer/generator";
import { generatorFirstId, seedIdLimit } from "../producer/idRanges";
import { KafkaSettings } from "../producer/kafka";
import { fastDefaultPartitioner } from "../producer/partitioner";
import { readSeeds } from "../producer/seeds";
import { streamUnits } from "../producer/stream";
import { CliRun, startCli } from "./helpers/cli";
import { createTopics, readTopics, uniquePrefix } from "../testkit/kafkaTopics";
import { Pipeline, seedsDir } from "./helpers/pipeline";
import { KafkaBroker, startKafka } from "../testkit/services/kafka";
import { PostgresServer, startPostgres } from "../testkit/services/postgres";
import { planSqlObjects } from "../components/sqlObjectGraph";
import { cdcTableObjects } from "../lib/cdc";

const brokers = inject("kafkaBrokers");
const postgresUrl = inject("postgresUrl");
const kafka: KafkaSettings = { brokers: [brokers], tls: false };
const seeds = readSeeds(seedsDir);
const profile = seedProfile(seeds);

function generate(seed: number, count: number): GeneratedRecord[] {
    return [...generateUnits(profile, { seed, count })].flat();
}

function ofDataset(records: GeneratedRecord[], dataset: string) {
    return records.filter(r => r.dataset === dataset).map(r => r.record);
}

const pipeline = new Pipeline(brokers, postgresUrl);
afterAll(() => pipeline.close());

describe("the order generator", () => {
    it("learns its distributions from the seeds", () => {
        expect(profile.lastOrderDate).toBe("2018-04-09");
        expect(profile.customerIds).toHaveLength(100);
        expect(profile.paymentMethods.map(f => f.value).sort()).toEqual(["bank_transfer", "coupon", "credit_card", "gift_card"]);
        expect(profile.paymentMethods.find(f => f.value === "credit_card")!.count).toBe(55);
        expect(profile.paymentsPerOrder.sort((a, b) => a.value - b.value)).toEqual([
            { value: 1, count: 86 },
            { value: 2, count: 12 },
            { value: 3, count: 1 },
        ]);
    });

    it("replays the same records for the same seed, and uses disjoint ids for different seeds", () => {
        expect(generate(42, 2_000)).toEqual(generate(42, 2_000));
        const ids = (records: GeneratedRecord[]) => new Set(records.map(r => `${r.dataset}:${r.record.id}`));
        const a = ids(generate(1, 2_000));
        const b = ids(generate(2, 2_000));
        expect([...a].filter(id => b.has(id))).toEqual([]);
        expect(() => generate(-1, 1)).toThrow(/seed must be an integer from 0 to 8999999, not -1/);
    });

    it("sends exactly the count, with realistic shapes: every order paid, every customer known before its order", () => {
        const records = generate(7, 20_001);
        expect(records).toHaveLength(20_001);
        const customers = new Set([...profile.customerIds, ...ofDataset(records, "raw_customers").map(c => c.id)]);
        const paid = new Set(ofDataset(records, "raw_payments").map(p => p.order_id));
        const orders = ofDataset(records, "raw_orders");
        let lastDate = profile.lastOrderDate;
        for (const order of orders) {
            expect(customers).toContain(order.user_id);
            expect(paid).toContain(order.id);
            expect(order.order_date as string > profile.lastOrderDate).toBe(true);
            expect(order.order_date as string >= lastDate).toBe(true);
            lastDate = order.order_date as string;
        }
        for (const payment of ofDataset(records, "raw_payments")) {
            expect(Number.isInteger(payment.amount)).toBe(true);
        }
        for (const record of records) expect(record.record.id as number).toBeGreaterThanOrEqual(generatorFirstId(7));
        expect(generatorFirstId(0)).toBeGreaterThan(seedIdLimit);
        // Orders refer to seed customers and generated ones alike.
        expect(orders.some(o => (o.user_id as number) < seedIdLimit)).toBe(true);
        expect(orders.some(o => (o.user_id as number) >= generatorFirstId(7))).toBe(true);
        const methods = new Set(ofDataset(records, "raw_payments").map(p => p.payment_method));
        expect(methods).toEqual(new Set(["bank_transfer", "coupon", "credit_card", "gift_card"]));
    });

    it("streams 2,000 events on top of the seeds that trip nothing, the same events as generated, and the marts grow by them", async () => {
        const { topics } = await pipeline.seededTopics("generated");
        const summary = await streamUnits(generateUnits(profile, { seed: 11, count: 2_000 }), { kafka, topics, batchSize: 300 });
        const expected = generate(11, 2_000);
        expect(summary.failure).toBeUndefined();
        expect(summary.total).toBe(2_000);
        expect(summary.sent.raw_orders).toBe(ofDataset(expected, "raw_orders").length);

        // What reached each topic is what the generator made, stamped with event_ts. Batches in
        // flight together may land in either order, so records are compared by id.
        const onTopics = await readTopics(brokers, Object.values(topics));
        for (const dataset of ["raw_customers", "raw_orders", "raw_payments"]) {
            const seedCount = seeds.filter(r => r.dataset.name === dataset).length;
            const byId = (a: Record<string, unknown>, b: Record<string, unknown>) => (a.id as number) - (b.id as number);
            const sent = onTopics.filter(r => r.topic === topics[dataset]).slice(seedCount).map(r => {
                const { event_ts, ...record } = JSON.parse(r.value);
                expect(new Date(event_ts).toISOString()).toBe(event_ts);
                expect(r.key).toBe(String(record.id));
                return record;
            });
            expect(sent.sort(byId)).toEqual(ofDataset(expected, dataset).sort(byId));
        }

        const warehouse = await pipeline.warehouseOf(topics);
        expect(await warehouse.tripped()).toEqual([]);
        expect(await warehouse.rows("customers")).toHaveLength(100 + ofDataset(expected, "raw_customers").length);
        expect(await warehouse.rows("orders")).toHaveLength(99 + ofDataset(expected, "raw_orders").length);
        const generatedCents = ofDataset(expected, "raw_payments").reduce((sum, p) => sum + (p.amount as number), 0);
        const { rows } = await warehouse.client.query("select sum(amount) as total from orders");
        expect(Number(rows[0].total)).toBeCloseTo(1672 + generatedCents / 100, 2);
    });

    it("partitions every key as kafkajs's (and Java's) default partitioner does", () => {
        const ours = fastDefaultPartitioner();
        const theirs = Partitioners.DefaultPartitioner();
        const keys = ["", "a", "ab", "abc", "abcd", "abcde", "żółw", ...Array.from({ length: 5_000 }, (_, i) => String(generatorFirstId(3) + i * 7))];
        for (const partitions of [1, 2, 3, 7, 12]) {
            const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionErrorCode: 0, partitionId: i, leader: 1, replicas: [1], isr: [1] }));
            const partitionOf = (partitioner: typeof ours, key: string) => partitioner({ topic: "t", partitionMetadata, message: { key, value: "" } });
            expect(keys.filter(key => partitionOf(ours, key) !== partitionOf(theirs, key))).toEqual([]);
        }
    });

    it("streams through producer threads exactly what it generates, each record once, keyed to kafkajs's partitions", async () => {
        const prefix = uniquePrefix("threads");
        const topics = prefixedTopics(prefix);
        await createTopics(brokers, Object.values(topics), 3);
        const summary = await streamUnits(generateUnits(profile, { seed: 12, count: 20_000 }), { kafka, topics, threads: 2, batchSize: 700 });
        const expected = generate(12, 20_000);
        expect(summary.failure).toBeUndefined();
        expect(summary.total).toBe(20_000);
        expect(summary.unacknowledged).toEqual({ raw_customers: 0, raw_orders: 0, raw_payments: 0 });

        const onTopics = await readTopics(brokers, Object.values(topics));
        const partitioner = Partitioners.DefaultPartitioner();
        const partitionMetadata = [0, 1, 2].map(partitionId => ({ partitionErrorCode: 0, partitionId, leader: 1, replicas: [1], isr: [1] }));
        for (const dataset of datasetNames) {
            const records = onTopics.filter(r => r.topic === topics[dataset]);
            for (const r of records) expect(r.partition).toBe(partitioner({ topic: r.topic, partitionMetadata, message: { key: r.key, value: r.value } }));
            const sent = records.map(r => {
                const { event_ts, ...record } = JSON.parse(r.value);
                expect(r.key).toBe(String(record.id));
                return record;
            });
            const byId = (a: Record<string, unknown>, b: Record<string, unknown>) => (a.id as number) - (b.id as number);
            expect(sent.sort(byId)).toEqual(ofDataset(expected, dataset).sort(byId));
            expect(summary.sent[dataset]).toBe(sent.length);
        }
    });

    it("from the command line, stops on Ctrl-C with a summary and leaves no unit half-sent", async () => {
        const { prefix, topics } = await pipeline.seededTopics("sigint");
        const run = runGenerate(["--rate", "400", "--seed", "5", "--brokers", brokers, "--topic-prefix", prefix, "--json"]);
        await run.waitFor("stderr", "generating with seed");
        await sleep(2_000);
        run.child.kill("SIGINT");
        expect(await run.exitCode(30_000)).toBe(0);

        expect(run.stderr).toMatch(/sent [\d,]+ events in \d+\.\d s \([\d,]+ events\/s\)/);
        expect(run.stderr).toContain("replay these events with --seed 5");
        const summary = JSON.parse(run.stdout);
        // About 400 events/s for about 2 s: it streamed at the rate, and stopped.
        expect(summary.total).toBeGreaterThan(200);
        expect(summary.total).toBeLessThan(2_000);
        const warehouse = await pipeline.warehouseOf(topics);
        expect(await warehouse.tripped()).toEqual([]);
        expect(await warehouse.rows("ingest.raw_orders")).toHaveLength(99 + summary.sent.raw_orders);
        expect(await warehouse.rows("ingest.raw_payments")).toHaveLength(113 + summary.sent.raw_payments);
    });
});

describe("the generator from the command line, short of --count", () => {
    it("stopped by Ctrl-C, exits 130 with what was acknowledged and how to send the rest", async () => {
        const prefix = uniquePrefix("sigint-count");
        const topics = prefixedTopics(prefix);
        await createTopics(brokers, Object.values(topics));
        const run = runGenerate(["--count", "100000", "--rate", "2000", "--seed", "6", "--brokers", brokers, "--topic-prefix", prefix, "--json"]);
        await run.waitFor("stderr", "generating with seed");
        await sleep(2_000);
        run.child.kill("SIGINT");
        expect(await run.exitCode(30_000)).toBe(130);

        const summary = JSON.parse(run.stdout);
        expect(summary.outcome).toBe("interrupted");
        expect(summary.total).toBeGreaterThan(0);
        expect(summary.total).toBeLessThan(100_000);
        expect(summary.resume.count).toBe(100_000 - summary.total);
        expect(summary.resume.seed).not.toBe(6);
        expect(run.stderr).toContain("stopped short by Ctrl-C");
        expect(run.stderr).toContain(`npm run generate -- ${summary.resume.args.join(" ")}`);
        const onTopics = await topicContents(brokers, topics);
        expect(onTopics.counts).toEqual(summary.sent);
        expect(onTopics.duplicates).toEqual([]);
    });
});

describe("the generator when its broker goes away", () => {
    // A broker and a PostgreSQL of its own, to pause, kill and restart without disturbing the other tests.
    let broker: KafkaBroker;
    let postgres: PostgresServer;
    const requestTimeoutMs = 2_500;
    beforeAll(async () => {
        [broker, postgres] = await Promise.all([startKafka(), startPostgres()]);
    });
    afterAll(async () => {
        await Promise.all([broker?.stop(), postgres?.stop()]);
    });

    async function freshTopics(label: string): Promise<{ prefix: string; topics: Record<string, string> }> {
        const prefix = uniquePrefix(label);
        const topics = prefixedTopics(prefix);
        await createTopics(broker.brokers, Object.values(topics));
        return { prefix, topics };
    }

    /** 150,000 events at 15,000 events/s: the broker trouble starts 2 s into 10 s of sending. */
    function generateSlowly(prefix: string, seed: number, extraArgs: string[] = [], timeoutArgs = ["--request-timeout", String(requestTimeoutMs)]): CliRun {
        return runGenerate([
            "--count", "150000", "--rate", "15000", "--seed", String(seed), "--brokers", broker.brokers, "--topic-prefix", prefix,
            ...timeoutArgs, "--json", ...extraArgs,
        ]);
    }

    it("with the default request timeout, tells of a paused broker once no batch was acknowledged for 5 s, and when sending works again", async () => {
        const { prefix, topics } = await freshTopics("stalled");
        const run = generateSlowly(prefix, 23, [], []);
        await run.waitFor("stderr", "generating with seed");
        await sleep(2_000);
        process.kill(broker.pid, "SIGSTOP");
        try {
            // Within the pause, well short of the 15 s request timeout.
            await run.waitFor("stderr", /sending failed \(no acknowledgement for 5 s\); retrying each batch for up to 120 s/, 9_000);
        } finally {
            process.kill(broker.pid, "SIGCONT");
        }
        expect(await run.exitCode(60_000)).toBe(0);
        expect(run.stderr).toMatch(/sending again after \d+\.\d s of failures/);
        const summary = JSON.parse(run.stdout);
        expect(summary).toMatchObject({ outcome: "complete", total: 150_000 });
        const onTopics = await topicContents(broker.brokers, topics);
        expect(onTopics.counts).toEqual(summary.sent);
        expect(onTopics.duplicates).toEqual([]);
    });

    it.each([
        ["", []],
        [" (producers in 2 threads)", ["--threads", "2"]],
    ])("rides out a paused broker%s: the topics hold exactly what the summary counts, each key once", async (_, extraArgs) => {
        const { prefix, topics } = await freshTopics("paused");
        const run = generateSlowly(prefix, 21, extraArgs);
        await run.waitFor("stderr", "generating with seed");
        await sleep(2_000);
        process.kill(broker.pid, "SIGSTOP");
        try {
            // Long enough for requests to time out and be sent again: the retries are what used to duplicate.
            await sleep(2 * requestTimeoutMs + 1_000);
        } finally {
            process.kill(broker.pid, "SIGCONT");
        }
        expect(await run.exitCode(45_000)).toBe(0);

        expect(run.stderr).toMatch(/sending failed \(.*\); retrying each batch for up to 120 s/);
        expect(run.stderr).toMatch(/sending again after \d+\.\d s of failures/);
        const summary = JSON.parse(run.stdout);
        expect(summary).toMatchObject({ outcome: "complete", total: 150_000 });
        expect(summary.unacknowledged).toEqual({ raw_customers: 0, raw_orders: 0, raw_payments: 0 });
        const onTopics = await topicContents(broker.brokers, topics);
        expect(onTopics.counts).toEqual(summary.sent);
        expect(onTopics.duplicates).toEqual([]);
    });

    it("rides out a broker killed and restarted: the topics hold exactly what the summary counts, each key once", async () => {
        const { prefix, topics } = await freshTopics("restarted");
        const run = generateSlowly(prefix, 22);
        await run.waitFor("stderr", "generating with seed");
        await sleep(2_000);
        await broker.restart();
        expect(await run.exitCode(45_000)).toBe(0);

        expect(run.stderr).toMatch(/sending failed \(.*\); retrying/);
        const summary = JSON.parse(run.stdout);
        expect(summary).toMatchObject({ outcome: "complete", total: 150_000 });
        const onTopics = await topicContents(broker.brokers, topics);
        expect(onTopics.counts).toEqual(summary.sent);
        expect(onTopics.duplicates).toEqual([]);
    });

    it.each(["the broker", "PostgreSQL"])(
        "with raw_customers from PostgreSQL by CDC and %s paused for 20 s: each generated row lands once, in its topic or its table",
        async paused => {
            const { prefix, topics } = await freshTopics("cdc");
            const database = uniquePrefix("cdc").replace(/\W/g, "_").toLowerCase();
            const admin = new Client({ connectionString: postgres.url });
            await admin.connect();
            await admin.query(`create database ${database}`);
            await admin.end();
            const url = new URL(postgres.url);
            url.pathname = `/${database}`;
            const client = new Client({ connectionString: url.toString() });
            await client.connect();
            try {
                for (const { definition } of planSqlObjects(cdcTableObjects(["raw_customers"]))) await client.query(definition.create);
                const seed = paused === "PostgreSQL" ? 31 : 32;
                const count = 60_000;
                const run = runGenerate([
                    "--count", String(count), "--rate", "3000", "--seed", String(seed), "--brokers", broker.brokers, "--topic-prefix", prefix,
                    "--cdc-datasets", "raw_customers", "--postgres-url", url.toString(), "--request-timeout", String(requestTimeoutMs), "--json",
                ]);
                await run.waitFor("stderr", "generating with seed");
                await sleep(2_000);
                if (paused === "PostgreSQL") postgres.pause();
                else process.kill(broker.pid, "SIGSTOP");
                try {
                    await sleep(20_000);
                } finally {
                    if (paused === "PostgreSQL") postgres.resume();
                    else process.kill(broker.pid, "SIGCONT");
                }
                expect(await run.exitCode(120_000)).toBe(0);
                expect(run.stderr).toMatch(/sending failed \(.*\); retrying/);
                expect(run.stderr).toMatch(/sending again after \d+\.\d s of failures/);
                const summary = JSON.parse(run.stdout);
                expect(summary).toMatchObject({ outcome: "complete", total: count });
                expect(summary.datasets.raw_customers).toEqual({ cdcTable: { schema: "public", name: "raw_customers" } });

                // Exactly the generated rows: the customers in the table, the orders and payments on their topics.
                const expected = Object.fromEntries(datasetNames.map(name => [name, [] as string[]])) as Record<RawDatasetName, string[]>;
                for (const unit of generateUnits(profile, { seed, count })) for (const { dataset, record } of unit) expected[dataset].push(String(record.id));
                const records = await readTopics(broker.brokers, Object.values(topics));
                const keysOn = (dataset: RawDatasetName) => records.filter(r => r.topic === topics[dataset]).map(r => r.key).sort();
                expect(keysOn("raw_orders")).toEqual(expected.raw_orders.sort());
                expect(keysOn("raw_payments")).toEqual(expected.raw_payments.sort());
                expect(keysOn("raw_customers")).toEqual([]);
                const inTable = (await client.query("select id::text from public.raw_customers order by id::text")).rows.map(r => r.id);
                expect(inTable).toEqual(expected.raw_customers.sort());
                expect(summary.sent).toEqual({ raw_customers: inTable.length, raw_orders: expected.raw_orders.length, raw_payments: expected.raw_payments.length });
            } finally {
                await client.end();
            }
        },
    );

    it("gives up after --retry-for when the broker stays away, exits 1 with what was acknowledged, and its resume command sends the rest", async () => {
        const { prefix, topics } = await freshTopics("gone");
        const run = generateSlowly(prefix, 23, ["--retry-for", "3"]);
        await run.waitFor("stderr", "generating with seed");
        await sleep(2_000);
        process.kill(broker.pid, "SIGKILL");
        // 3 s of retries, plus the attempt under way when they are up.
        expect(await run.exitCode(30_000)).toBe(1);

        const summary = JSON.parse(run.stdout);
        expect(summary.outcome).toBe("failed");
        expect(summary.error).toMatch(/^gave up after \d+ s of failed attempts: /);
        expect(summary.total).toBeLessThan(150_000);
        expect(summary.resume.count).toBe(150_000 - summary.total);
        expect(run.stderr).toContain(`stopped short: ${summary.error}`);
        expect(run.stderr).toContain(`npm run generate -- ${summary.resume.args.join(" ")}`);

        // What was acknowledged is there once; what was not may or may not be.
        await broker.restart();
        const before = await topicContents(broker.brokers, topics);
        expect(before.duplicates).toEqual([]);
        for (const name of datasetNames) {
            expect(before.counts[name]).toBeGreaterThanOrEqual(summary.sent[name]);
            expect(before.counts[name]).toBeLessThanOrEqual(summary.sent[name] + summary.unacknowledged[name]);
        }

        const resumed = runGenerate(summary.resume.args);
        expect(await resumed.exitCode(45_000)).toBe(0);
        const rest = JSON.parse(resumed.stdout);
        expect(rest).toMatchObject({ outcome: "complete", total: summary.resume.count, seed: summary.resume.seed });
        const after = await topicContents(broker.brokers, topics);
        expect(after.duplicates).toEqual([]);
        for (const name of datasetNames) expect(after.counts[name]).toBe(before.counts[name] + rest.sent[name]);
    });
});

/** `npm run generate -- ARGS`, as a user runs it. */
function runGenerate(args: string[]): CliRun {
    return startCli("generate", args);
}

/** Records per dataset on the topics, and every topic/key found more than once. */
async function topicContents(brokers: string, topics: Record<string, string>) {
    const records = await readTopics(brokers, Object.values(topics));
    const counts = Object.fromEntries(datasetNames.map(name => [name, 0])) as Record<RawDatasetName, number>;
    const datasetOf = new Map(datasetNames.map(name => [topics[name], name]));
    const seen = new Set<string>();
    const duplicates: string[] = [];
    for (const record of records) {
        counts[datasetOf.get(record.topic)!]++;
        const id = `${record.topic}/${record.key}`;
        if (seen.has(id)) duplicates.push(id);
        seen.add(id);
    }
    return { counts, duplicates };
}
