import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, inject, it } from "vitest";
import { loadSqlProject, relationKey } from "../lib/sqlProject";
import { resolveTarget } from "../cli/target";
import { DatasetRoutes, datasetRoutes } from "../lib/routes";
import { datasetNames } from "../lib/datasets";
import { generatorIdBase, ScenarioIds, seedIdLimit } from "../producer/idRanges";
import { KafkaSettings } from "../producer/kafka";
import { readSeeds } from "../producer/seeds";
import { findScenario, runScenario, Scenario, scenarios, trippedViews } from "../producer/scenarios";
import { expectedMarts, martRows } from "./helpers/jaffleShop";
import { Pipeline, seedsDir } from "./helpers/pipeline";
import { sqlDir } from "./helpers/warehouse";

const brokers = inject("kafkaBrokers");
const postgresUrl = inject("postgresUrl");
const kafka: KafkaSettings = { brokers: [brokers], tls: false };
const repo = path.join(__dirname, "..");
const project = loadSqlProject(sqlDir, datasetNames);

const pipeline = new Pipeline(brokers, postgresUrl);
afterAll(() => pipeline.close());

/** Every dataset to its topic. */
function routesOf(topics: Record<string, string>): DatasetRoutes {
    return Object.fromEntries(datasetNames.map(name => [name, { topic: topics[name] }])) as DatasetRoutes;
}

/** View names as Warehouse.tripped() lists them: without the failure schema. */
function viewNames(scenario: Scenario): string[] {
    return trippedViews(project, scenario).map(key => key.split(".").pop()!).sort();
}

describe("failure scenarios", () => {
    it("declare only failure views that the SQL project has, and each a different set", () => {
        const failureViews = new Set(project.models.filter(m => m.schema === project.failureSchema).map(relationKey));
        for (const scenario of scenarios) {
            const views = trippedViews(project, scenario);
            expect(views.length).toBeGreaterThan(0);
            for (const view of views) expect(failureViews).toContain(view);
        }
        const sets = scenarios.map(s => viewNames(s).join(","));
        expect(new Set(sets).size).toBe(scenarios.length);
        expect(new Set(scenarios.map(s => s.name)).size).toBe(scenarios.length);
    });

    it("name the known scenarios when asked for an unknown one", () => {
        expect(() => findScenario("duplicate-ordr")).toThrow(/unknown scenario "duplicate-ordr" \(known: duplicate-order, duplicate-customer, .*null-amount\)/);
    });

    it("use new ids above the seeds' and below the generator's, where they don't re-send a seed row", () => {
        const seeds = readSeeds(seedsDir);
        expect(Math.max(...seeds.map(r => r.record.id as number))).toBeLessThan(seedIdLimit);
        const seedRows = new Set(seeds.map(r => `${r.dataset.name}:${JSON.stringify(r.record)}`));
        for (const scenario of scenarios) {
            for (const { dataset, record } of scenario.records(seeds, new ScenarioIds())) {
                if (seedRows.has(`${dataset}:${JSON.stringify(record)}`)) continue;
                // Referenced ids too: a customer or order that must not exist must not be a seed's.
                for (const column of ["id", "user_id", "order_id"].filter(c => c in record)) {
                    expect(record[column] as number).toBeGreaterThanOrEqual(seedIdLimit);
                    expect(record[column] as number).toBeLessThan(generatorIdBase);
                }
            }
        }
    });

    it("find the brokers and each dataset's route from flags, JSS_KAFKA_BROKERS or the stack, and say what is missing otherwise", () => {
        const noStack = () => {
            throw new Error("no stack here");
        };
        expect(resolveTarget({ brokers: "h:1", topicPrefix: "dev." }, {}, noStack)).toMatchObject({
            kafka: { brokers: ["h:1"], tls: false },
            routes: { raw_orders: { topic: "dev.raw_orders" } },
            origin: "--brokers",
        });
        expect(resolveTarget({ brokers: "h:1", cdcDatasets: "raw_customers" }, {}, noStack).routes).toEqual({
            raw_customers: { cdcTable: { schema: "public", name: "raw_customers" } },
            raw_orders: { topic: "raw_orders" },
            raw_payments: { topic: "raw_payments" },
        });
        expect(resolveTarget({}, { JSS_KAFKA_BROKERS: "a:1,b:2" }, noStack)).toMatchObject({
            kafka: { brokers: ["a:1", "b:2"] },
            routes: { raw_customers: { topic: "raw_customers" } },
        });
        const stackRoutes = datasetRoutes("shared.", { datasets: ["raw_customers"], schema: "public" });
        const stack = () => ({ kafkaBootstrapServers: "s:9", datasets: stackRoutes, postgresUrl: "postgres://postgres@db:5432/shop" });
        expect(resolveTarget({}, {}, stack)).toMatchObject({ kafka: { brokers: ["s:9"] }, routes: stackRoutes, stackPostgresUrl: "postgres://postgres@db:5432/shop" });
        expect(resolveTarget({ topicPrefix: "" }, {}, stack).routes).toEqual(datasetRoutes("", { datasets: ["raw_customers"], schema: "public" }));
        expect(() => resolveTarget({}, {}, () => ({ kafkaBootstrapServers: "s:9", topicNames: {} })))
            .toThrow(/the stack output datasets \(a stack last updated by an earlier version: run npm run up\) has no route .* for raw_customers, raw_orders, raw_payments/);
        expect(() => resolveTarget({ cdcDatasets: "raw_customers" }, {}, stack)).toThrow(/--cdc-datasets goes with --brokers/);
        expect(() => resolveTarget({ brokers: "h:1", cdcDatasets: "raw_custmers" }, {}, noStack)).toThrow(/--cdc-datasets: "raw_custmers" is not a dataset/);
        expect(() => resolveTarget({}, {}, noStack)).toThrow(/no Kafka broker to send to: pass --brokers.*JSS_KAFKA_BROKERS[\s\S]*no stack here/);
    });

    it("on the clean seeds, sent through Kafka, trip nothing and give jaffle_shop's marts", async () => {
        const { topics } = await pipeline.seededTopics("clean");
        const warehouse = await pipeline.warehouseOf(topics);
        expect(await warehouse.tripped()).toEqual([]);
        const expected = expectedMarts();
        expect(await martRows(warehouse, "orders")).toEqual(expected.orders);
        expect(await martRows(warehouse, "customers")).toEqual(expected.customers);
    });

    it("duplicate-order, run by the CLI, trips both unique views with 99 | 2", async () => {
        const { prefix, topics } = await pipeline.seededTopics("dup-order");
        const { stdout } = await promisify(execFile)(
            process.execPath,
            ["--import", "tsx", "cli/scenario.ts", "duplicate-order", "--brokers", brokers, "--topic-prefix", prefix],
            { cwd: repo, timeout: 60_000 },
        );
        expect(stdout).toContain("duplicate-order: sent 1 event(s)");
        const warehouse = await pipeline.warehouseOf(topics);
        expect(await warehouse.tripped()).toEqual(viewNames(findScenario("duplicate-order")));
        const duplicate = [{ unique_field: "99", n_records: "2" }];
        expect(await warehouse.rows("public_etl_failure.unique_stg_orders_order_id")).toEqual(duplicate);
        expect(await warehouse.rows("public_etl_failure.unique_orders_order_id")).toEqual(duplicate);
    });

    it.each(scenarios.filter(s => s.name !== "duplicate-order").map(s => [s.name, s] as const))(
        "%s trips exactly its declared views",
        async (_, scenario) => {
            const { topics } = await pipeline.seededTopics(scenario.name);
            await runScenario(scenario, { kafka, routes: routesOf(topics), seedsDir });
            const warehouse = await pipeline.warehouseOf(topics);
            expect(await warehouse.tripped()).toEqual(viewNames(scenario));
        },
    );

    it("run one after another, trip exactly the union of their views", async () => {
        const { topics } = await pipeline.seededTopics("all");
        for (const scenario of scenarios) {
            await runScenario(scenario, { kafka, routes: routesOf(topics), seedsDir });
        }
        const warehouse = await pipeline.warehouseOf(topics);
        const union = [...new Set(scenarios.flatMap(viewNames))].sort();
        expect(await warehouse.tripped()).toEqual(union);
    });
});
