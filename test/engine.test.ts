import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { asPreviousVersion, copyProject, engineEnv, expectOldNamesAdopted, newStack, resourceCount, StepLog } from "./helpers/engine";
import { readTopics, testKafka } from "../testkit/kafkaTopics";
import { programFiles } from "../testkit/programFiles";

/**
 * The real Pulumi engine (CLI, Node.js language host, kafka plugin, dynamic providers) against
 * the suite's loopback Kafka and PostgreSQL. The main program runs in external mode: existing
 * services instead of containers.
 */
const brokers = inject("kafkaBrokers");
const postgresUrl = inject("postgresUrl");

const topic = "kafka:index/topic:Topic";
const seeding = "pulumi-nodejs:dynamic/jaffle-shop-streaming:Seeding";
const sqlObject = "pulumi-nodejs:dynamic/jaffle-shop-streaming:SqlObject";

async function topicsOnBroker(prefix: string): Promise<string[]> {
    const admin = testKafka(brokers).admin();
    await admin.connect();
    try {
        return (await admin.listTopics()).filter(t => t.startsWith(prefix)).sort();
    } finally {
        await admin.disconnect();
    }
}

describe("the program in external mode, on the real engine", () => {
    const env = engineEnv();
    const workDir = copyProject(programFiles);
    const external = { mode: "external", kafkaBootstrapServers: brokers, topicPartitions: "3", topicConfig: '{"retention.ms":"3600000"}' };
    let alice: Stack;

    beforeAll(async () => {
        alice = await newStack(workDir, "alice", env, external);
    });

    it("previews every resource as a create, then creates the topics and seeds them exactly once", async () => {
        const preview = new StepLog();
        await alice.preview({ onEvent: preview.onEvent });
        expect(preview.names("create", topic)).toEqual(["topics-raw_customers", "topics-raw_orders", "topics-raw_payments"]);
        expect(preview.names("create", seeding)).toEqual(["seed-seeding"]);
        expect(preview.names("create", "pulumi:providers:kafka")).toEqual(["topics-provider"]);
        expect(preview.names("same")).toEqual([]);
        expect(await topicsOnBroker("alice.")).toEqual([]);

        const up = await alice.up();
        expect(up.summary.result).toBe("succeeded");
        // Outputs that don't apply to this stack (no Materialize, no console) are left out, not warned about.
        expect(up.stdout).not.toContain("Undefined value");
        expect(await topicsOnBroker("alice.")).toEqual(["alice.raw_customers", "alice.raw_orders", "alice.raw_payments"]);
        expect(up.outputs.seededEvents.value).toBe(312);

        const records = await readTopics(brokers, ["alice.raw_customers", "alice.raw_orders", "alice.raw_payments"]);
        expect(records.filter(r => r.topic === "alice.raw_orders")).toHaveLength(99);
        expect(records).toHaveLength(312);
    });

    it("creates the topics with the partitions and settings the stack declares", async () => {
        const admin = testKafka(brokers).admin();
        await admin.connect();
        try {
            const metadata = await admin.fetchTopicMetadata({ topics: ["alice.raw_orders"] });
            expect(metadata.topics[0].partitions).toHaveLength(3);
            const configs = await admin.describeConfigs({
                resources: [{ type: 2, name: "alice.raw_orders", configNames: ["retention.ms"] }],
                includeSynonyms: false,
            });
            expect(configs.resources[0].configEntries.find(e => e.configName === "retention.ms")?.configValue).toBe("3600000");
        } finally {
            await admin.disconnect();
        }
    });

    it("reports no changes and sends nothing on a second up", async () => {
        const log = new StepLog();
        const up = await alice.up({ onEvent: log.onEvent });
        expect(Object.keys(up.summary.resourceChanges ?? {})).toEqual(["same"]);
        expect(log.names("create").concat(log.names("update"), log.names("replace"))).toEqual([]);
        const records = await readTopics(brokers, ["alice.raw_customers", "alice.raw_orders", "alice.raw_payments"]);
        expect(records).toHaveLength(312);
    });

    it("keeps a stack whose topics were named before they carried their component's name (aliases)", async () => {
        await expectOldNamesAdopted(alice, { current: "Topic::topics-raw_", old: "Topic::raw_" });
        expect(await readTopics(brokers, ["alice.raw_customers", "alice.raw_orders", "alice.raw_payments"])).toHaveLength(312);
    });

    it("lets bob run beside alice on the same broker, and destroying bob leaves alice intact", async () => {
        const bob = await newStack(workDir, "bob", env, external);
        await bob.up();
        expect(await topicsOnBroker("bob.")).toEqual(["bob.raw_customers", "bob.raw_orders", "bob.raw_payments"]);
        expect(await topicsOnBroker("alice.")).toHaveLength(3);

        await bob.destroy();
        expect(await topicsOnBroker("bob.")).toEqual([]);
        expect(await topicsOnBroker("alice.")).toEqual(["alice.raw_customers", "alice.raw_orders", "alice.raw_payments"]);
        const aliceRecords = await readTopics(brokers, ["alice.raw_customers", "alice.raw_orders", "alice.raw_payments"]);
        expect(aliceRecords).toHaveLength(312);
        await bob.workspace.removeStack("bob");
    });

    it("notices on refresh a topic deleted by hand, and the next preview recreates it", async () => {
        const admin = testKafka(brokers).admin();
        await admin.connect();
        await admin.deleteTopics({ topics: ["alice.raw_orders"] });
        await admin.disconnect();

        const refresh = await alice.refresh();
        expect(refresh.summary.resourceChanges?.delete).toBe(1);
        const preview = new StepLog();
        await alice.preview({ onEvent: preview.onEvent });
        expect(preview.names("create", topic)).toEqual(["topics-raw_orders"]);
    });

    it("destroys the topics and leaves an empty stack", async () => {
        await alice.destroy();
        expect(await topicsOnBroker("alice.")).toEqual([]);
        expect(await resourceCount(alice)).toBe(0);
    });
});

describe("the tracked dev stack file", () => {
    it("stays unchanged when the dev stack is created (as npm run up does), with the empty passphrase", async () => {
        const workDir = copyProject(["Pulumi.yaml", "Pulumi.dev.yaml"]);
        const tracked = fs.readFileSync(path.join(workDir, "Pulumi.dev.yaml"), "utf8");
        const stack = await LocalWorkspace.createStack({ stackName: "dev", workDir }, { envVars: { ...engineEnv(), PULUMI_CONFIG_PASSPHRASE: "" } });
        expect((await stack.getConfig("jaffle-shop-streaming:portBase")).value).toBe("19092");
        expect(fs.readFileSync(path.join(workDir, "Pulumi.dev.yaml"), "utf8")).toBe(tracked);
    });
});

describe("bad configuration fails the preview, naming the culprit, and creates nothing", () => {
    const env = engineEnv();
    const workDir = copyProject(programFiles);

    async function expectPreviewFailure(stackName: string, config: Record<string, string>, message: RegExp) {
        const stack = await newStack(workDir, stackName, env, config);
        const error = await stack.preview().then(() => undefined, (err: Error) => err);
        expect(error?.message).toMatch(message);
        await expect(stack.up()).rejects.toThrow(message);
        expect(await resourceCount(stack)).toBe(0);
    }

    it("a password stored in plain text", async () => {
        const sasl = { mode: "external", kafkaBootstrapServers: brokers, kafkaSaslMechanism: "plain", kafkaSaslUsername: "jaffle" };
        await expectPreviewFailure("plain-password", { ...sasl, kafkaSaslPassword: "hunter2" },
            /jaffle-shop-streaming:kafkaSaslPassword: holds a password; set it with: pulumi config set --secret kafkaSaslPassword/);
        // Set as a secret, the same password passes the check (the preview may still fail: this broker has no SASL).
        const secretStack = await newStack(workDir, "secret-password", env, sasl, { kafkaSaslPassword: "hunter2" });
        const error = await secretStack.preview().then(() => undefined, (err: Error) => err);
        expect(error?.message ?? "").not.toMatch(/holds a password/);
    });

    it("an unknown key", async () => {
        await expectPreviewFailure("unknown-key", { mode: "external", kafkaBootstrapServers: brokers, topicPartition: "3" },
            /jaffle-shop-streaming:topicPartition: unknown config key \(did you mean topicPartitions\?\)/);
        expect(await topicsOnBroker("unknown-key.")).toEqual([]);
    });

    it("a malformed port", async () => {
        await expectPreviewFailure("bad-port", { portBase: "19x92" }, /jaffle-shop-streaming:portBase: "19x92" is not a whole number/);
    });

    it.each([
        ["unknown-model", "sql/models/orders.sql", (sql: string) => sql.replace("from stg_orders", "from stg_orderz"),
            /orders\.sql: model "orders" references unknown model or source "stg_orderz"/],
        ["cycle", "sql/models/stg_orders.sql", () => "select * from orders",
            /models form a cycle: (stg_orders -> orders -> stg_orders|orders -> stg_orders -> orders)/],
        ["bad-seed", "seeds/raw_orders.csv", (csv: string) => `${csv}100,7,2018-02-30,placed\r\n`,
            /raw_orders\.csv:101: column "order_date": "2018-02-30" is not a date/],
    ])("a bad input file: %s", async (stackName, file, edit, message) => {
        const inputFile = path.join(workDir, file);
        const original = fs.readFileSync(inputFile, "utf8");
        fs.writeFileSync(inputFile, edit(original));
        try {
            await expectPreviewFailure(stackName, { mode: "external", kafkaBootstrapServers: brokers, materializeHost: "127.0.0.1" }, message);
            expect(await topicsOnBroker(`${stackName}.`)).toEqual([]);
        } finally {
            fs.writeFileSync(inputFile, original);
        }
    });
});

describe("the SQL-object provider on PostgreSQL, on the real engine", () => {
    const env = engineEnv();
    const workDir = copyProject(["test/engine/sql-program", "components", "lib", "producer", "tsconfig.json"], "test/engine/sql-program");
    const sqlDir = path.join(workDir, "project");
    const url = new URL(postgresUrl);
    const database = `engine_${Date.now()}`;
    let stack: Stack;
    let client: Client;

    const writeProject = (models: Record<string, string>) => {
        fs.rmSync(sqlDir, { recursive: true, force: true });
        fs.mkdirSync(path.join(sqlDir, "models"), { recursive: true });
        fs.writeFileSync(path.join(sqlDir, "schema.yml"), `models:\n${Object.keys(models).map(m => `  - name: ${m}\n`).join("")}`);
        for (const [name, sql] of Object.entries(models)) fs.writeFileSync(path.join(sqlDir, "models", `${name}.sql`), sql);
    };
    const relations = async () =>
        (await client.query(`select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
                             where n.nspname in ('public', 'ingest') and c.relkind in ('r', 'v')`))
            .rows.map(r => `${r.relkind}:${r.nspname === "public" ? "" : `${r.nspname}.`}${r.relname}`).sort();
    const definition = async (view: string) =>
        (await client.query("select pg_get_viewdef($1::regclass) as sql", [view])).rows[0].sql as string;

    const models = {
        stg_events: "select (data ->> 'id')::int as id, data ->> 'kind' as kind from raw_events",
        event_kinds: "select kind, count(*) as n from stg_events group by kind",
        busy_kinds: "select kind from event_kinds where n > 1",
        event_ids: "select id from stg_events",
    };

    beforeAll(async () => {
        const admin = new Client({ connectionString: postgresUrl });
        await admin.connect();
        await admin.query(`create database "${database}"`);
        await admin.end();
        client = new Client({ connectionString: `${url.protocol}//${url.username}@${url.host}/${database}` });
        await client.connect();
        writeProject(models);
        stack = await newStack(workDir, "postgres", env, {
            sqlDir,
            sources: '["raw_events"]',
            host: url.hostname,
            port: url.port,
            user: decodeURIComponent(url.username),
            database,
        });
    });

    afterAll(async () => {
        await client?.end();
    });

    it("creates the tables and views, and a second up changes nothing", async () => {
        await stack.up();
        const again = await stack.up();
        expect(Object.keys(again.summary.resourceChanges ?? {})).toEqual(["same"]);
        expect(await relations()).toEqual(["r:ingest.raw_events", "v:busy_kinds", "v:event_ids", "v:event_kinds", "v:stg_events"]);
        await client.query(`insert into ingest.raw_events values ('{"id": 1, "kind": "a"}'), ('{"id": 2, "kind": "a"}')`);
        expect((await client.query("select * from busy_kinds")).rows).toEqual([{ kind: "a" }]);
    });

    it("keeps a stack whose objects were named before they carried their component's name (aliases)", async () => {
        await expectOldNamesAdopted(stack, { current: "SqlObject::postgres-", old: "SqlObject::" });
        expect((await client.query("select * from busy_kinds")).rows).toEqual([{ kind: "a" }]);
    });

    it("replaces a changed view and everything downstream, shows the SQL change, and applies it in order", async () => {
        writeProject({ ...models, event_kinds: "select kind, count(*) as n, max(id) as last_id from stg_events group by kind" });
        const preview = new StepLog();
        const result = await stack.preview({ diff: true, onEvent: preview.onEvent });
        expect(preview.names("replace")).toEqual(["postgres-busy_kinds", "postgres-event_kinds"]);
        expect(preview.names("same", sqlObject)).toEqual(["postgres-event_ids", "postgres-ingest", "postgres-ingest.raw_events", "postgres-stg_events"]);
        expect(result.stdout).toContain("max(id) as last_id");

        const up = await stack.up();
        expect(up.summary.resourceChanges?.replace).toBe(2);
        expect(await definition("event_kinds")).toContain("last_id");
        expect((await client.query("select * from busy_kinds")).rows).toEqual([{ kind: "a" }]);
    });

    it("notices objects dropped by hand on refresh, and recreates them", async () => {
        await client.query("drop view event_ids");
        const refresh = await stack.refresh();
        expect(refresh.summary.resourceChanges?.delete).toBe(1);
        const log = new StepLog();
        await stack.up({ onEvent: log.onEvent });
        expect(log.names("create", sqlObject)).toEqual(["postgres-event_ids"]);
        expect(await relations()).toContain("v:event_ids");
    });

    it("notices on refresh a view changed by hand, and the next up puts the declared one back", async () => {
        const quiet = await stack.refresh();
        expect(Object.keys(quiet.summary.resourceChanges ?? {})).toEqual(["same"]);

        await client.query("create or replace view event_ids as select id, 42 as extra from stg_events");
        const refresh = await stack.refresh();
        expect(refresh.summary.resourceChanges?.update).toBe(1);
        const preview = new StepLog();
        await stack.preview({ onEvent: preview.onEvent });
        expect(preview.names("replace")).toEqual(["postgres-event_ids"]);

        await stack.up();
        expect(await definition("event_ids")).not.toContain("extra");
        const again = await stack.up();
        expect(Object.keys(again.summary.resourceChanges ?? {})).toEqual(["same"]);
    });

    it("fails at once, naming it, when the database does not exist (no retrying as for a server still starting)", async () => {
        const missing = await newStack(workDir, "missing-database", env, {
            sqlDir,
            sources: '["raw_events"]',
            host: url.hostname,
            port: url.port,
            user: decodeURIComponent(url.username),
            database: "no_such_database",
        });
        const error = await missing.up().then(() => undefined, (err: Error) => err);
        expect(error?.message).toMatch(/database "no_such_database" does not exist/);
        expect(error?.message).not.toMatch(/could not connect .* within \d+s/);
    });

    it("destroys every object", async () => {
        await stack.destroy();
        expect(await relations()).toEqual([]);
        expect(await resourceCount(stack)).toBe(0);
    });

    it("upgrades, in one up, a stack the previous version made (its layout, state and provider code): its sources and their dependents go, the new ones come, nothing is left", async () => {
        writeProject(models);
        await stack.setConfig("layout", { value: "previous" });
        await stack.up();
        expect(await relations()).toEqual(["r:raw_events", "v:busy_kinds", "v:event_ids", "v:event_kinds", "v:stg_events"]);
        await client.query(`insert into raw_events values ('{"id": 1, "kind": "a"}'), ('{"id": 2, "kind": "a"}')`);
        const state = await stack.exportStack();
        const previous = asPreviousVersion(state.deployment);
        await stack.importStack({ ...state, deployment: previous });

        await stack.removeConfig("layout");
        const log = new StepLog();
        const up = await stack.up({ onEvent: log.onEvent });
        expect(up.summary.result).toBe("succeeded");
        expect(log.names("delete", sqlObject)).toEqual(["postgres-raw_events"]);
        expect(log.names("create", sqlObject).sort()).toEqual(["postgres-ingest", "postgres-ingest.raw_events"]);
        expect(await relations()).toEqual(["r:ingest.raw_events", "v:busy_kinds", "v:event_ids", "v:event_kinds", "v:stg_events"]);
        // The views read the new table, by the same bare name.
        await client.query(`insert into ingest.raw_events values ('{"id": 3, "kind": "b"}'), ('{"id": 4, "kind": "b"}')`);
        expect((await client.query("select * from busy_kinds")).rows).toEqual([{ kind: "b" }]);
        const again = await stack.up();
        expect(Object.keys(again.summary.resourceChanges ?? {})).toEqual(["same"]);
        await stack.destroy();
        expect(await relations()).toEqual([]);
    });
});
