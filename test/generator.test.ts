import { spawn } from "node:child_process";
import * as path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { GeneratedRecord, generateUnits, seedProfile } from "../producer/generator";
import { generatorFirstId, seedIdLimit } from "../producer/idRanges";
import { KafkaSettings } from "../producer/kafka";
import { readSeeds } from "../producer/seeds";
import { streamUnits } from "../producer/stream";
import { readTopics } from "./helpers/kafkaTopics";
import { Pipeline, seedsDir } from "./helpers/pipeline";

const brokers = inject("kafkaBrokers");
const postgresUrl = inject("postgresUrl");
const kafka: KafkaSettings = { brokers: [brokers], tls: false };
const repo = path.join(__dirname, "..");
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

    it("from the command line, stops on Ctrl-C with a summary and leaves no unit half-sent", async () => {
        const { prefix, topics } = await pipeline.seededTopics("sigint");
        const child = spawn(
            process.execPath,
            ["--import", "tsx", "producer/cli/generate.ts", "--rate", "400", "--seed", "5", "--brokers", brokers, "--topic-prefix", prefix, "--json"],
            { cwd: repo, stdio: ["ignore", "pipe", "pipe"] },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", d => (stdout += d));
        child.stderr.on("data", d => (stderr += d));
        const exited = new Promise<number | null>(resolve => child.on("exit", code => resolve(code)));
        const deadline = Date.now() + 30_000;
        while (!stderr.includes("generating with seed 5") && Date.now() < deadline) await new Promise(r => setTimeout(r, 100));
        await new Promise(r => setTimeout(r, 2_000));
        child.kill("SIGINT");
        expect(await exited).toBe(0);

        expect(stderr).toMatch(/sent [\d,]+ events in \d+\.\d s \([\d,]+ events\/s\)/);
        expect(stderr).toContain("replay these events with --seed 5");
        const summary = JSON.parse(stdout);
        // About 400 events/s for about 2 s: it streamed at the rate, and stopped.
        expect(summary.total).toBeGreaterThan(200);
        expect(summary.total).toBeLessThan(2_000);
        const warehouse = await pipeline.warehouseOf(topics);
        expect(await warehouse.tripped()).toEqual([]);
        expect(await warehouse.rows("raw_orders")).toHaveLength(99 + summary.sent.raw_orders);
        expect(await warehouse.rows("raw_payments")).toHaveLength(113 + summary.sent.raw_payments);
    });
});
