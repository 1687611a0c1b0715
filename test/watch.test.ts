import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { datasets } from "../lib/datasets";
import { readSeeds } from "../producer/seeds";
import { isRelationReplaced, pollCounts, renderSnapshot, Snapshot, snapshots, watchedRelations, watchStatements } from "../watch/watch";
import { resolveSqlEndpoint } from "../cli/target";
import { startCli } from "./helpers/cli";
import { Warehouse } from "./helpers/warehouse";
import { PostgresServer, startPostgres } from "../testkit/services/postgres";

const postgresUrl = inject("postgresUrl");
const repo = path.join(__dirname, "..");
const seeds = readSeeds(path.join(repo, "seeds"));
const order99 = seeds.find(r => r.dataset.name === "raw_orders" && r.record.id === 99)!.record;

/** A database with the project's views over the seeds. */
async function seededWarehouse(serverUrl: string, label: string): Promise<Warehouse> {
    const created = await Warehouse.create(serverUrl, label);
    for (const dataset of datasets) {
        await created.insert(dataset.name, seeds.filter(r => r.dataset === dataset).map(r => r.record));
    }
    return created;
}

let warehouse: Warehouse;
beforeAll(async () => {
    warehouse = await seededWarehouse(postgresUrl, "watch");
});
afterAll(async () => {
    await warehouse.close();
});

describe("watch", () => {
    it("sends Materialize exactly the statements in its golden, the SUBSCRIBE on the stack's cluster", () => {
        const relations = watchedRelations(warehouse.project);
        const statements = [
            watchStatements.isMaterialize,
            watchStatements.useCluster("jaffle's cluster"),
            watchStatements.begin,
            watchStatements.subscribe(relations),
            watchStatements.fetch,
            watchStatements.end,
            watchStatements.failureRows("public_etl_failure.unique_stg_orders_order_id", 5),
            watchStatements.counts(relations),
        ];
        const golden = path.join(__dirname, "golden", "watch.sql");
        const text = statements.map(statement => `${statement};\n`).join("\n");
        if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(golden, text);
        expect(text).toBe(fs.readFileSync(golden, "utf8"));
    });

    it("tells a SUBSCRIBE ended by a deploy (its relation dropped) from other errors, in the words of Materialize's versions", () => {
        expect(isRelationReplaced(new Error('subscribe has been terminated because underlying relation "materialize.public__deploy.orders" was dropped'))).toBe(true);
        expect(isRelationReplaced(new Error('query could not complete because relation "materialize.public__deploy.customers" was dropped'))).toBe(true);
        expect(isRelationReplaced(new Error('unknown catalog item \'orders\''))).toBe(false);
        expect(isRelationReplaced(new Error("terminating connection due to administrator command"))).toBe(false);
    });

    it("runs in the cluster given, else the stack's with the stack's URL", () => {
        const stack = () => ({ psqlUrl: "postgres://materialize@127.0.0.1:6875/materialize", cluster: "jaffle" });
        expect(resolveSqlEndpoint({}, stack)).toEqual({ url: "postgres://materialize@127.0.0.1:6875/materialize", cluster: "jaffle" });
        expect(resolveSqlEndpoint({ cluster: "other" }, stack).cluster).toBe("other");
        expect(resolveSqlEndpoint({ url: "postgres://elsewhere/db" }, stack)).toEqual({ url: "postgres://elsewhere/db", cluster: undefined });
    });

    it("watches the marts and every failure view of the SQL project", () => {
        const relations = watchedRelations(warehouse.project);
        expect(relations.filter(r => !r.isFailureView).map(r => r.key).sort()).toEqual(["customers", "orders"]);
        const failureViews = warehouse.project.models.filter(m => m.schema === warehouse.project.failureSchema);
        expect(relations.filter(r => r.isFailureView)).toHaveLength(failureViews.length);
    });

    it("polls the counts and reports the duplicate order the next time round", async () => {
        const relations = watchedRelations(warehouse.project);
        const watching = snapshots(pollCounts(warehouse.client, relations, { intervalMs: 50 }), warehouse.client, relations);
        try {
            const nextSnapshot = async (): Promise<Snapshot> => {
                const { done, value } = await watching.next();
                if (done) throw new Error("the watch ended");
                return value;
            };
            const first = await nextSnapshot();
            expect(first.counts.customers).toBe(100);
            expect(first.counts.orders).toBe(99);
            expect(first.counts["public_etl_failure.unique_stg_orders_order_id"]).toBe(0);
            expect(first.changes).toEqual([]);
            expect(first.failureRows).toEqual({});

            await warehouse.insert("raw_orders", [order99]);
            const next = await nextSnapshot();
            expect(next.changes.map(({ relation, from, to }) => ({ relation, from, to }))).toEqual([
                { relation: "orders", from: 99, to: 100 },
                { relation: "public_etl_failure.unique_stg_orders_order_id", from: 0, to: 1 },
                { relation: "public_etl_failure.unique_orders_order_id", from: 0, to: 1 },
            ]);
            expect(next.failureRows["public_etl_failure.unique_stg_orders_order_id"]).toEqual([{ unique_field: "99", n_records: "2" }]);

            const screen = renderSnapshot(next, relations, next.changes);
            expect(screen).toMatch(/public_etl_failure\.unique_stg_orders_order_id\s+1  FAIL\n\s+unique_field \| n_records\n\s+99 \| 2\n/);
            expect(screen).toMatch(/^latest changes\n(  \d\d:\d\d:\d\d  .*\n)*  \d\d:\d\d:\d\d  public_etl_failure\.unique_stg_orders_order_id: 0 -> 1$/m);
        } finally {
            await watching.return(undefined);
        }
    });

    it("prints one snapshot from the command line with --once", async () => {
        const duplicates = (await warehouse.rows("public_etl_failure.unique_orders_order_id")).length;
        const { stdout } = await promisify(execFile)(
            process.execPath,
            ["--import", "tsx", "cli/watch.ts", "--once", "--poll", "--url", warehouse.url],
            { cwd: repo, timeout: 60_000 },
        );
        expect(stdout).toMatch(/^marts\n  customers\s+100$/m);
        expect(stdout).toMatch(new RegExp(`^  public_etl_failure\\.unique_orders_order_id\\s+${duplicates}\\b`, "m"));
        expect(stdout).toMatch(/^  public_etl_failure\.not_null_orders_amount\s+0$/m);
    });
});

describe("watch when the database goes away", () => {
    // A server of its own, to restart and stop without disturbing the other tests.
    let server: PostgresServer;
    beforeAll(async () => {
        server = await startPostgres();
    });
    afterAll(async () => {
        await server?.stop();
    });

    /** The warehouse's URL with a password in it (trust auth ignores it), to see that it is never printed. */
    function withPassword(url: string): string {
        const parsed = new URL(url);
        parsed.password = "s3cret-pw";
        return parsed.toString();
    }

    const firstSnapshot = /^marts\n  customers\s+100\n  orders\s+99$/m;

    it("rides out a PostgreSQL restart: one notice, no crash, the last snapshot kept, fresh data afterwards", async () => {
        const restarted = await seededWarehouse(server.url, "restarted");
        await restarted.close();
        const run = startCli("watch", ["--poll", "--interval", "200", "--url", withPassword(restarted.url)]);
        try {
            await run.waitFor("stdout", firstSnapshot);
            await server.restart();
            await run.waitFor("stderr", "reconnected to");
            const client = new Client({ connectionString: restarted.url });
            await client.connect();
            try {
                await client.query("insert into ingest.raw_orders (data) values ($1::jsonb)", [JSON.stringify(order99)]);
            } finally {
                await client.end();
            }
            await run.waitFor("stdout", /^  \d\d:\d\d:\d\d  public_etl_failure\.unique_orders_order_id: 0 -> 1$/m);
        } finally {
            run.child.kill("SIGINT");
        }
        expect(await run.exitCode(15_000)).toBe(0);

        const database = new URL(restarted.url).pathname.slice(1);
        const notices = run.stderr.trim().split("\n");
        expect(notices).toEqual([
            `lost the connection to 127.0.0.1:${server.port}/${database} (terminating connection due to administrator command); reconnecting for up to 300 s`,
            expect.stringMatching(new RegExp(`^reconnected to 127\\.0\\.0\\.1:${server.port}/${database} after \\d+\\.\\d s$`)),
        ]);
        // Piped, it prints a snapshot when something changed: the first one, then the one with order 99 again.
        expect(run.stdout.match(/^jaffle-shop-streaming at /gm)).toHaveLength(2);
        expect(run.stdout).toMatch(/^  orders\s+100$/m);
        expect(run.stdout + run.stderr).not.toContain("s3cret-pw");
    });

    it("without --poll on PostgreSQL, polls instead of failing on SUBSCRIBE, and says so", async () => {
        const plain = await seededWarehouse(server.url, "plain");
        await plain.close();
        const run = startCli("watch", ["--interval", "200", "--url", plain.url]);
        try {
            await run.waitFor("stdout", firstSnapshot);
        } finally {
            run.child.kill("SIGINT");
        }
        expect(await run.exitCode(15_000)).toBe(0);
        const database = new URL(plain.url).pathname.slice(1);
        expect(run.stderr.trim()).toBe(`127.0.0.1:${server.port}/${database} has no SUBSCRIBE (not Materialize): polling every 200 ms instead`);
    });

    it("on a database without the models (a stack with sqlObjects: false), says they are not there and how to make them", async () => {
        const admin = new Client({ connectionString: postgresUrl });
        await admin.connect();
        const database = `watch_no_models_${process.pid}`;
        try {
            await admin.query(`create database ${database}`);
            const url = new URL(postgresUrl);
            url.pathname = `/${database}`;
            const run = startCli("watch", ["--once", "--url", url.toString()]);
            expect(await run.exitCode(20_000)).toBe(1);
            expect(run.stderr.trim()).toMatch(/^error: 127\.0\.0\.1:\d+\/watch_no_models_\d+: relation "[a-z_.]+" does not exist: the project's models are not there \(a stack with sqlObjects: false leaves them to dbt: create them with `dbt run` first\)$/);
        } finally {
            await admin.query(`drop database if exists ${database}`);
            await admin.end();
        }
    });

    it("gives up after --reconnect-for when the database stays away: exit 1, one line saying so", async () => {
        const doomedServer = await startPostgres();
        try {
            const doomed = await seededWarehouse(doomedServer.url, "doomed");
            await doomed.close();
            const run = startCli("watch", ["--poll", "--interval", "200", "--reconnect-for", "3", "--url", withPassword(doomed.url)]);
            await run.waitFor("stdout", firstSnapshot);
            await doomedServer.stop();
            expect(await run.exitCode(20_000)).toBe(1);

            const where = `127.0.0.1:${doomedServer.port}/${new URL(doomed.url).pathname.slice(1)}`;
            const lines = run.stderr.trim().split("\n");
            expect(lines).toHaveLength(2);
            expect(lines[0]).toMatch(new RegExp(`^lost the connection to ${where.replace(/\./g, "\\.")} \\(.+\\); reconnecting for up to 3 s$`));
            expect(lines[1]).toBe(`error: gave up reconnecting to ${where} after 3 s: connect ECONNREFUSED 127.0.0.1:${doomedServer.port}`);
            expect(run.stdout + run.stderr).not.toContain("s3cret-pw");
        } finally {
            await doomedServer.stop();
        }
    });
});
