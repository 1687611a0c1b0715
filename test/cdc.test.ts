import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { cdcSeedingProvider } from "../components/cdcDatabase";
import { planSqlObjects } from "../components/sqlObjectGraph";
import { cdcTableObjects, createPublicationSql, publicationName, seedCdcTables } from "../lib/cdc";
import { quoteIdent } from "../lib/quote";
import { loadSqlProject } from "../lib/sqlProject";
import { seedCdcDatabase } from "../producer/cdcSeed";
import { cdcScenarios, findCdcScenario, runCdcScenario } from "../producer/cdcScenarios";
import { datasetNames } from "../lib/datasets";
import { failureViewOf } from "../producer/scenarios";
import { checkSeeds, readSeeds } from "../producer/seeds";
import { expectedMarts, martRows, seeds } from "./helpers/jaffleShop";
import { seedsDir } from "./helpers/pipeline";
import { sqlDir, Warehouse } from "./helpers/warehouse";
import { PostgresServer, startPostgres } from "../testkit/services/postgres";
import { createTopics, readTopics, uniquePrefix } from "../testkit/kafkaTopics";
import { prefixedTopics } from "../cli/target";

/**
 * The CDC datasets on a real PostgreSQL started with wal_level=logical: the program's tables, its
 * seeding, and what a logical replication slot on its publication carries (pgoutput, the plugin
 * Materialize uses); then the project's models over CDC-shaped tables.
 */
let server: PostgresServer;
const clients: Client[] = [];
let databases = 0;

beforeAll(async () => {
    // Logical decoding reads only WAL that is flushed: commits must not return before it is.
    server = await startPostgres({
        database: "cdc",
        settings: { wal_level: "logical", max_replication_slots: "20", max_wal_senders: "20", synchronous_commit: "on" },
    });
}, 90_000);
afterAll(async () => {
    await Promise.all(clients.splice(0).map(c => c.end().catch(() => undefined)));
    await server?.stop();
});

/** A fresh database with the program's CDC tables for these datasets, and a client on it. */
async function cdcDatabase(names = ["raw_customers"] as typeof datasetNames[number][]) {
    const database = `cdc_${++databases}`;
    const admin = new Client({ host: server.host, port: server.port, user: server.user, database: server.database });
    await admin.connect();
    await admin.query(`create database ${quoteIdent(database)}`);
    await admin.end();
    const connection = { host: server.host, port: server.port, user: server.user, database, ssl: false };
    const client = new Client(connection);
    await client.connect();
    clients.push(client);
    for (const { definition } of planSqlObjects(cdcTableObjects(names))) await client.query(definition.create);
    return { client, connection, database };
}

const count = async (client: Client, table: string) => Number((await client.query(`select count(*) from ${quoteIdent(table)}`)).rows[0].count);

describe("the CDC tables", () => {
    it("are typed, keyed by id and REPLICA IDENTITY FULL", async () => {
        const { client } = await cdcDatabase([...datasetNames]);
        const { rows: columns } = await client.query(
            "select table_name, column_name, data_type from information_schema.columns where table_schema = 'public' order by table_name, ordinal_position",
        );
        expect(columns.filter(c => c.table_name === "raw_orders").map(c => `${c.column_name}:${c.data_type}`))
            .toEqual(["id:bigint", "user_id:bigint", "order_date:date", "status:text"]);
        expect(columns.filter(c => c.table_name === "raw_payments").map(c => `${c.column_name}:${c.data_type}`))
            .toEqual(["id:bigint", "order_id:bigint", "payment_method:text", "amount:bigint"]);
        const { rows: keys } = await client.query(
            `select c.relname, c.relreplident, pg_get_constraintdef(k.oid) as pk from pg_class c
             join pg_constraint k on k.conrelid = c.oid and k.contype = 'p' where c.relname like 'raw_%' order by 1`,
        );
        expect(keys).toEqual(datasetNames.map(name => ({ relname: name, relreplident: "f", pk: "PRIMARY KEY (id)" })));
    });
});

describe("seeding the CDC tables", () => {
    it("inserts every seed row once: a second run inserts nothing", async () => {
        const { client, connection } = await cdcDatabase([...datasetNames]);
        const first = await seedCdcDatabase({ connection, seedsDir, datasets: [...datasetNames] });
        expect(first).toEqual({ raw_customers: 100, raw_orders: 99, raw_payments: 113 });
        const second = await seedCdcDatabase({ connection, seedsDir, datasets: [...datasetNames] });
        expect(second).toEqual({ raw_customers: 0, raw_orders: 0, raw_payments: 0 });
        expect(await count(client, "raw_customers")).toBe(100);
        const { rows: [order] } = await client.query("select id, user_id, order_date::text, status from raw_orders where id = 99");
        expect(order).toEqual({ id: "99", user_id: "85", order_date: "2018-04-09", status: "placed" });
    });

    it("is what the CdcSeeding resource runs: create seeds, an unchanged up has nothing to do, changed seeds re-run and insert nothing twice", async () => {
        const { client, connection } = await cdcDatabase(["raw_customers"]);
        const inputs = {
            connection: { ...connection, password: "" },
            seedsDir,
            seedsHash: checkSeeds(seedsDir).hash,
            datasets: ["raw_customers" as const],
        };
        const created = await cdcSeedingProvider.create!(inputs);
        const outs = created.outs!;
        expect(outs.inserted).toEqual({ raw_customers: 100 });
        expect(await cdcSeedingProvider.diff!(created.id, outs, inputs)).toMatchObject({ changes: false });
        const edited = { ...inputs, seedsHash: "changed" };
        expect(await cdcSeedingProvider.diff!(created.id, outs, edited)).toMatchObject({ changes: true, replaces: [] });
        expect((await cdcSeedingProvider.update!(created.id, outs, edited)).outs!.inserted).toEqual({ raw_customers: 0 });
        expect(await count(client, "raw_customers")).toBe(100);
        expect(await cdcSeedingProvider.diff!(created.id, outs, { ...inputs, connection: { ...inputs.connection, database: "other" } }))
            .toMatchObject({ changes: true, replaces: ["connection"] });
    });

    it("rewrites a state that names a machine's path (an earlier version's) without seeding again: a deleted row stays deleted", async () => {
        const { client, connection } = await cdcDatabase(["raw_customers"]);
        const inputs = { connection: { ...connection, password: "" }, seedsDir: "seeds", seedsHash: checkSeeds(seedsDir).hash, datasets: ["raw_customers" as const] };
        const created = await cdcSeedingProvider.create!(inputs);
        await client.query("delete from raw_customers where id = 1");
        const earlier = { ...created.outs!, seedsDir: path.resolve(seedsDir), seedModule: path.resolve("producer", "cdcSeed.ts") };

        expect(await cdcSeedingProvider.diff!(created.id, earlier, inputs)).toMatchObject({ changes: true, replaces: [] });
        const updated = (await cdcSeedingProvider.update!(created.id, earlier, inputs)).outs!;
        expect(updated).toEqual({ ...inputs, inserted: { raw_customers: 100 } });
        expect(await count(client, "raw_customers")).toBe(99);
    });

    it("inserts nothing when a seed file has a bad row, and names it", async () => {
        const { client, connection } = await cdcDatabase();
        const badDir = fs.mkdtempSync(path.join(os.tmpdir(), "jss-bad-seeds-"));
        try {
            for (const file of fs.readdirSync(seedsDir)) fs.copyFileSync(path.join(seedsDir, file), path.join(badDir, file));
            fs.appendFileSync(path.join(badDir, "raw_customers.csv"), "not-a-number,Bad,R.\n");
            await expect(seedCdcDatabase({ connection, seedsDir: badDir, datasets: ["raw_customers"] })).rejects.toThrow(/raw_customers\.csv:102/);
        } finally {
            fs.rmSync(badDir, { recursive: true, force: true });
        }
        expect(await count(client, "raw_customers")).toBe(0);
    });

    it("rolls back every table when the database refuses a row", async () => {
        const { client } = await cdcDatabase(["raw_customers", "raw_orders"]);
        const rows = [
            ...readSeeds(seedsDir).filter(r => r.dataset.name === "raw_customers"),
            { dataset: { name: "raw_orders" as const }, record: { id: 1, user_id: 1, order_date: "not a date", status: "placed" } },
        ];
        await expect(seedCdcTables(client, ["raw_customers", "raw_orders"], rows)).rejects.toThrow(/date/);
        expect(await count(client, "raw_customers")).toBe(0);
        expect(await count(client, "raw_orders")).toBe(0);
    });
});

interface Change {
    kind: "insert" | "update" | "delete";
    table: string;
    /** The old row (REPLICA IDENTITY FULL: every column) for updates and deletes. */
    old?: (string | null)[];
    row?: (string | null)[];
}

/**
 * Decodes pgoutput (protocol 1) messages: relations, inserts, updates and deletes, with their
 * tuples as text. Begin, commit and the other messages are skipped.
 */
function decodePgoutput(messages: Buffer[]): Change[] {
    const relations = new Map<number, string>();
    const changes: Change[] = [];
    for (const data of messages) {
        let at = 0;
        const byte = () => String.fromCharCode(data[at++]);
        const int16 = () => { const v = data.readInt16BE(at); at += 2; return v; };
        const int32 = () => { const v = data.readInt32BE(at); at += 4; return v; };
        const cstring = () => { const end = data.indexOf(0, at); const s = data.toString("utf8", at, end); at = end + 1; return s; };
        const tuple = () => {
            const values: (string | null)[] = [];
            for (let columns = int16(), i = 0; i < columns; i++) {
                const kind = byte();
                if (kind === "t") {
                    const length = int32();
                    values.push(data.toString("utf8", at, at + length));
                    at += length;
                } else values.push(null);
            }
            return values;
        };
        const type = byte();
        if (type === "R") {
            const oid = int32();
            const schema = cstring();
            relations.set(oid, `${schema}.${cstring()}`);
        } else if (type === "I") {
            const table = relations.get(int32())!;
            byte(); // 'N'
            changes.push({ kind: "insert", table, row: tuple() });
        } else if (type === "U") {
            const table = relations.get(int32())!;
            let marker = byte();
            let old: (string | null)[] | undefined;
            if (marker === "O" || marker === "K") {
                old = tuple();
                marker = byte();
            }
            changes.push({ kind: "update", table, old, row: tuple() });
        } else if (type === "D") {
            const table = relations.get(int32())!;
            const marker = byte();
            changes.push({ kind: "delete", table, old: marker === "O" || marker === "K" ? tuple() : undefined });
        }
    }
    return changes;
}

describe("a logical replication slot on the program's publication", () => {
    it("carries every seeded row and each CDC scenario's UPDATE and DELETE with the whole old row, and nothing outside the publication", async () => {
        const { client, connection, database } = await cdcDatabase(["raw_customers"]);
        // A table in the same database but not in the publication: its rows must not flow.
        await client.query("create table not_published (id bigint primary key, note text)");
        await client.query(createPublicationSql(["raw_customers"]));
        const slot = `jss_${database}`;
        await client.query("select pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
        try {
            await seedCdcDatabase({ connection, seedsDir, datasets: ["raw_customers"] });
            await client.query("insert into not_published values (1, 'private')");
            await runCdcScenario(findCdcScenario("rename-customer")!, client);
            await runCdcScenario(findCdcScenario("delete-customer")!, client);

            const { rows } = await client.query(
                "select data from pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2)",
                [slot, publicationName],
            );
            const changes = decodePgoutput(rows.map(r => r.data as Buffer));
            expect(changes.every(c => c.table === "public.raw_customers")).toBe(true);
            const inserts = changes.filter(c => c.kind === "insert").map(c => c.row);
            expect(inserts).toEqual(seeds.raw_customers.map(c => [String(c.id), c.first_name, c.last_name]));
            const [michael] = inserts;
            expect(changes.filter(c => c.kind !== "insert")).toEqual([
                { kind: "update", table: "public.raw_customers", old: michael, row: ["1", "Renamed", "R."] },
                { kind: "delete", table: "public.raw_customers", old: ["1", "Renamed", "R."] },
            ]);
        } finally {
            await client.query("select pg_drop_replication_slot($1)", [slot]);
        }
    });
});

describe("the models over CDC tables", () => {
    const postgresUrl = inject("postgresUrl");
    const project = loadSqlProject(sqlDir, datasetNames);
    const warehouses: Warehouse[] = [];
    afterAll(() => Promise.all(warehouses.map(w => w.close())));

    /** raw_customers from its typed table (seeded by the program's seeding), the other datasets as Kafka JSON. */
    async function cdcWarehouse(label: string) {
        const warehouse = await Warehouse.create(postgresUrl, label, { datasets: ["raw_customers"], schema: "upstream" });
        warehouses.push(warehouse);
        await seedCdcTables(warehouse.client, ["raw_customers"], readSeeds(seedsDir), "upstream");
        await warehouse.insert("raw_orders", seeds.raw_orders);
        await warehouse.insert("raw_payments", seeds.raw_payments);
        return warehouse;
    }
    const viewNames = (name: string) =>
        findCdcScenario(name)!.trips.map(test => failureViewOf(project, test).split(".").pop()!).sort();

    it("still equal dbt jaffle_shop's marts, with every failure view empty", async () => {
        const warehouse = await cdcWarehouse("cdc_marts");
        const expected = expectedMarts();
        expect(await martRows(warehouse, "orders")).toEqual(expected.orders);
        expect(await martRows(warehouse, "customers")).toEqual(expected.customers);
        expect(await warehouse.tripped()).toEqual([]);
    });

    it("rename-customer changes the name in the mart in place and trips nothing", async () => {
        const warehouse = await cdcWarehouse("cdc_rename");
        await runCdcScenario(findCdcScenario("rename-customer")!, warehouse.client, "upstream");
        const customers = await martRows(warehouse, "customers");
        expect(customers).toHaveLength(100);
        const before = expectedMarts().customers;
        expect(customers[0]).toEqual({ ...before[0], first_name: "Renamed", last_name: "R." });
        expect(customers.slice(1)).toEqual(before.slice(1));
        expect(await warehouse.tripped()).toEqual(viewNames("rename-customer"));
        expect(viewNames("rename-customer")).toEqual([]);
    });

    it("delete-customer orphans the customer's orders: exactly the relationships view trips", async () => {
        const warehouse = await cdcWarehouse("cdc_delete");
        await runCdcScenario(findCdcScenario("delete-customer")!, warehouse.client, "upstream");
        expect(await warehouse.tripped()).toEqual(viewNames("delete-customer"));
        expect(viewNames("delete-customer")).toEqual(["relationships_orders_customer_id__customer_id__ref_customers_"]);
        expect(await warehouse.rows("public_etl_failure.relationships_orders_customer_id__customer_id__ref_customers_"))
            .toEqual([{ from_field: "1" }, { from_field: "1" }]);
        expect((await martRows(warehouse, "customers")).map(c => c.customer_id)).not.toContain("1");
    });

    it("a CDC scenario run twice fails and changes nothing the second time", async () => {
        const warehouse = await cdcWarehouse("cdc_twice");
        const scenario = findCdcScenario("delete-customer")!;
        await runCdcScenario(scenario, warehouse.client, "upstream");
        await expect(runCdcScenario(scenario, warehouse.client, "upstream")).rejects.toThrow(/delete-customer: expected to change one raw_customers row \(id 1\), changed 0/);
        expect(cdcScenarios.map(s => s.name)).toEqual(["rename-customer", "delete-customer"]);
    });
});

describe("npm run scenario with the CDC scenarios", () => {
    const cli = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
        promisify(execFile)(process.execPath, ["--import", "tsx", "cli/scenario.ts", ...args], { cwd: path.join(__dirname, ".."), timeout: 60_000, env });

    it("--list names them and what each trips", async () => {
        const { stdout } = await cli(["--list"]);
        expect(stdout).toMatch(/^rename-customer .*UPDATE.*\n\s+\(no failure view: the mart changes in place\)$/m);
        expect(stdout).toMatch(/^delete-customer .*DELETE.*\n\s+public_etl_failure\.relationships_orders_customer_id__customer_id__ref_customers_$/m);
    });

    it("runs delete-customer against the PostgreSQL given by --postgres-url, in one transaction", async () => {
        const { client, database } = await cdcDatabase();
        await seedCdcTables(client, ["raw_customers"], readSeeds(seedsDir));
        const url = `postgres://${server.user}@${server.host}:${server.port}/${database}`;
        const { stdout } = await cli(["delete-customer", "--postgres-url", url]);
        expect(stdout).toContain("delete-customer: DELETE of one raw_customers row");
        expect(stdout).toContain("now tripped: public_etl_failure.relationships_orders_customer_id__customer_id__ref_customers_");
        expect((await client.query("select count(*)::int as n from raw_customers where id = 1")).rows[0].n).toBe(0);
        expect(await count(client, "raw_customers")).toBe(99);
        // Again: nothing left to delete, so it fails and says why.
        await expect(cli(["delete-customer", "--postgres-url", url])).rejects.toMatchObject({ stderr: expect.stringMatching(/changed 0; has it run already\?/) });
    });
    it("sends a Kafka scenario's customer to the CDC table and its order and payment to their topics; refuses a duplicate customer there, sending nothing", async () => {
        const brokers = inject("kafkaBrokers");
        const { client, database } = await cdcDatabase();
        await seedCdcTables(client, ["raw_customers"], readSeeds(seedsDir));
        const url = `postgres://${server.user}@${server.host}:${server.port}/${database}`;
        const prefix = uniquePrefix("cdc-scenario");
        const topics = prefixedTopics(prefix);
        await createTopics(brokers, Object.values(topics));
        const route = ["--brokers", brokers, "--topic-prefix", prefix, "--cdc-datasets", "raw_customers", "--postgres-url", url];

        const { stdout } = await cli(["unknown-status", ...route]);
        expect(stdout).toMatch(/^  CDC table public\.raw_customers  \{"id":\d+,"first_name":"Scenario"/m);
        expect(stdout).toMatch(new RegExp(`^  topic ${prefix}raw_orders  \\{.*"status":"cancelled"`, "m"));
        expect(await count(client, "raw_customers")).toBe(101);
        const sent = async () => (await readTopics(brokers, Object.values(topics))).map(r => r.topic).sort();
        expect(await sent()).toEqual([`${prefix}raw_orders`, `${prefix}raw_payments`]);

        await expect(cli(["duplicate-customer", ...route])).rejects.toMatchObject({
            stderr: expect.stringMatching(/duplicate-customer: raw_customers comes from PostgreSQL by CDC, where id is the table's primary key, and row 1 is already in public\.raw_customers: .*nothing was sent/),
        });
        expect(await count(client, "raw_customers")).toBe(101);
        expect(await sent()).toEqual([`${prefix}raw_orders`, `${prefix}raw_payments`]);
    });
});
