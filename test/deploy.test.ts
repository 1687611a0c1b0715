import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Stack } from "@pulumi/pulumi/automation";
import { asPreviousVersion, copyProject, engineEnv, newStack, StepLog } from "./helpers/engine";

/**
 * Blue/green deploys of the models under `pulumi up`, on the real engine and a real PostgreSQL
 * (which stands in for Materialize: three renames in one transaction do what SWAP does there, and
 * its views are ready once created; the Materialize statements are pinned in test/golden/).
 */
const postgresUrl = inject("postgresUrl");
const deployment = "pulumi-nodejs:dynamic/jaffle-shop-streaming:ModelsDeployment";

const schemaFile = [
    "models:",
    "  - name: stg_events",
    "    columns:",
    "      - name: id",
    "        tests: [unique]",
    "  - name: event_kinds",
    "",
].join("\n");
const models = (version: number) => ({
    stg_events: "select (data ->> 'id')::int as id, data ->> 'kind' as kind from raw_events",
    event_kinds: `select kind, count(*) as n, ${version} as version from stg_events group by kind`,
});

describe("blue/green deploys of the models, on the real engine", () => {
    const env = engineEnv();
    const workDir = copyProject(["test/engine/sql-program", "components", "lib", "producer", "tsconfig.json"], "test/engine/sql-program");
    const sqlDir = path.join(workDir, "project");
    const url = new URL(postgresUrl);
    const database = `deploy_${Date.now()}`;
    const databaseUrl = `${url.protocol}//${url.username}@${url.host}/${database}`;
    let stack: Stack;
    let client: Client;

    const writeProject = (version: number) => {
        fs.rmSync(sqlDir, { recursive: true, force: true });
        fs.mkdirSync(path.join(sqlDir, "models"), { recursive: true });
        fs.writeFileSync(path.join(sqlDir, "schema.yml"), schemaFile);
        fs.cpSync(path.join(__dirname, "..", "sql", "tests"), path.join(sqlDir, "tests"), { recursive: true });
        for (const [name, sql] of Object.entries(models(version))) fs.writeFileSync(path.join(sqlDir, "models", `${name}.sql`), sql);
    };
    const version = async () => (await client.query("select distinct version from event_kinds")).rows.map(r => r.version);
    /** The production relations and their identities: a failed deploy leaves every one as it was. */
    const production = async () =>
        (await client.query(`select n.nspname || '.' || c.relname as name, c.oid::text as oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
                             where n.nspname in ('public', 'public_etl_failure') order by 1`)).rows;
    const stagingSchemas = async () =>
        (await client.query("select nspname from pg_namespace where nspname like '%\\_\\_deploy' or nspname like '%\\_\\_swapping'")).rows.map(r => r.nspname);

    beforeAll(async () => {
        const admin = new Client({ connectionString: postgresUrl });
        await admin.connect();
        await admin.query(`create database "${database}"`);
        await admin.end();
        client = new Client({ connectionString: databaseUrl });
        await client.connect();
        writeProject(1);
        stack = await newStack(workDir, "blue-green", env, {
            sqlDir,
            sources: '["raw_events"]',
            host: url.hostname,
            port: url.port,
            user: decodeURIComponent(url.username),
            database,
            modelChanges: "blueGreen",
            deployTimeoutSeconds: "3",
        });
        await stack.up();
        await client.query(`insert into ingest.raw_events values ('{"id": 1, "kind": "a"}'), ('{"id": 2, "kind": "a"}'), ('{"id": 2, "kind": "b"}')`);
    });

    afterAll(async () => {
        await client?.end();
    });

    it("deploys a changed model while six readers query a mart and a failure view: no reader sees an error, each sees the old version, then the new one", async () => {
        expect(await version()).toEqual([1]);
        writeProject(2);
        const preview = new StepLog();
        const previewed = await stack.preview({ diff: true, onEvent: preview.onEvent });
        expect(preview.names("update", deployment)).toEqual(["models-deployment"]);
        expect(previewed.stdout).toContain("2 as version");
        expect(previewed.stdout).toContain("3 objects built in public__deploy, public_etl_failure__deploy, then 2 schemas swapped");

        let deploying = true;
        const readers = Array.from({ length: 6 }, async () => {
            const reader = new Client({ connectionString: databaseUrl });
            await reader.connect();
            const seen: number[] = [];
            const errors: string[] = [];
            try {
                for (let round = 0; deploying && round < 100_000; round++) {
                    try {
                        const { rows } = await reader.query("select max(version) as version from event_kinds");
                        if (seen[seen.length - 1] !== rows[0].version) seen.push(rows[0].version);
                        const failures = await reader.query("select n_records from public_etl_failure.unique_stg_events_id");
                        if (failures.rows.length !== 1) errors.push(`failure view: ${failures.rows.length} rows`);
                    } catch (err) {
                        errors.push((err as Error).message);
                    }
                }
            } finally {
                await reader.end();
            }
            return { seen, errors };
        });
        const up = await stack.up().finally(() => (deploying = false));
        // The deployment, and the record of the changed model; nothing dropped or replaced.
        expect(up.summary.resourceChanges).toMatchObject({ update: 2 });
        expect(up.summary.resourceChanges?.replace ?? 0).toBe(0);
        expect(up.summary.resourceChanges?.delete ?? 0).toBe(0);
        for (const reader of await Promise.all(readers)) {
            expect(reader.errors).toEqual([]);
            expect(reader.seen).toEqual([1, 2]);
        }
        expect(await stagingSchemas()).toEqual([]);
        // The failure view reads the new staging model, now public.stg_events, not a dropped one.
        const reads = await client.query(`select distinct d.refobjid::regclass::text as relation from pg_depend d join pg_rewrite r on d.objid = r.oid
                                          where r.ev_class = 'public_etl_failure.unique_stg_events_id'::regclass and d.refobjid <> r.ev_class`);
        expect(reads.rows.map(r => r.relation)).toEqual(["stg_events"]);
        const again = await stack.up();
        expect(Object.keys(again.summary.resourceChanges ?? {})).toEqual(["same"]);
    });

    it("fails a deploy that never gets ready within the timeout, leaving production's objects as they were and no staging schema; the next up succeeds", async () => {
        const before = await production();
        writeProject(3);
        // The engine's plugins inherit the workspace's environment: the provider reads the injection there.
        stack.workspace.envVars.JSS_DEPLOY_NOT_READY = "*";
        const began = Date.now();
        try {
            await expect(stack.up()).rejects.toThrow(/the deploy was not ready after 3 s: 3 object\(s\) pending, e\.g\. stg_events \(not ready \(injected\)\).*production is unchanged/);
        } finally {
            delete stack.workspace.envVars.JSS_DEPLOY_NOT_READY;
        }
        expect(Date.now() - began).toBeLessThan(3_000 + 30_000);
        expect(await production()).toEqual(before);
        expect(await stagingSchemas()).toEqual([]);
        expect(await version()).toEqual([2]);

        await stack.up();
        expect(await version()).toEqual([3]);
    });

    it("drops a staging schema an interrupted deploy left holding only its models, and converges", async () => {
        await client.query("create schema public__deploy");
        await client.query("create view public__deploy.stg_events as select 1 as id");
        writeProject(4);
        await stack.up();
        expect(await version()).toEqual([4]);
        expect(await stagingSchemas()).toEqual([]);
    });

    it.each([
        ["a staging schema", "public_etl_failure__deploy", 5],
        ["a production schema", "public", 6],
    ])("refuses to deploy over an object it did not make in %s, naming it, and changes nothing", async (_, schema, next) => {
        await client.query(`create schema if not exists ${schema}`);
        await client.query(`create table ${schema}.not_ours (id int)`);
        const before = await production();
        writeProject(next);
        try {
            await expect(stack.up()).rejects.toThrow(new RegExp(`${schema}\\.not_ours: not made by this stack's models.*nothing was changed`));
            expect(await production()).toEqual(before);
            expect(await version()).toEqual([next - 1]);
        } finally {
            await client.query(`drop table ${schema}.not_ours`);
            if (schema !== "public") await client.query(`drop schema ${schema}`);
        }
        await stack.up();
        expect(await version()).toEqual([next]);
    });

    it("switches to replace and back without dropping anything: the objects stay, only who rebuilds them changes", async () => {
        const before = await production();
        await stack.setConfig("modelChanges", { value: "replace" });
        const toReplace = await stack.up();
        expect(toReplace.summary.resourceChanges?.delete ?? 0).toBe(0);
        expect(await production()).toEqual(before);
        writeProject(7);
        await stack.up();
        expect(await version()).toEqual([7]);

        await stack.setConfig("modelChanges", { value: "blueGreen" });
        writeProject(8);
        await stack.up();
        expect(await version()).toEqual([8]);
        expect(await stagingSchemas()).toEqual([]);
    });

    it("destroys the models and the failure schema, leaving no staging schema", async () => {
        await stack.destroy();
        expect(await production()).toEqual([]);
        expect(await stagingSchemas()).toEqual([]);
        expect((await client.query("select 1 from pg_namespace where nspname = 'public_etl_failure'")).rows).toEqual([]);
    });
});

describe("upgrading a stack the previous version made (per-model resources, its provider code) to blue/green deploys", () => {
    const env = engineEnv();
    const workDir = copyProject(["test/engine/sql-program", "components", "lib", "producer", "tsconfig.json"], "test/engine/sql-program");
    const sqlDir = path.join(workDir, "project");
    const url = new URL(postgresUrl);
    const database = `upgrade_${Date.now()}`;
    let client: Client;

    afterAll(async () => {
        await client?.end();
    });

    it("keeps every model while the old resources become the new ones', in one up", async () => {
        const admin = new Client({ connectionString: postgresUrl });
        await admin.connect();
        await admin.query(`create database "${database}"`);
        await admin.end();
        client = new Client({ connectionString: `${url.protocol}//${url.username}@${url.host}/${database}` });
        await client.connect();
        fs.mkdirSync(path.join(sqlDir, "models"), { recursive: true });
        fs.writeFileSync(path.join(sqlDir, "schema.yml"), schemaFile);
        fs.cpSync(path.join(__dirname, "..", "sql", "tests"), path.join(sqlDir, "tests"), { recursive: true });
        for (const [name, sql] of Object.entries(models(1))) fs.writeFileSync(path.join(sqlDir, "models", `${name}.sql`), sql);
        const stack = await newStack(workDir, "upgrade", env, {
            sqlDir, sources: '["raw_events"]', host: url.hostname, port: url.port, user: decodeURIComponent(url.username), database, layout: "previous",
        });
        await stack.up();
        const state = await stack.exportStack();
        const previous = asPreviousVersion(state.deployment);
        await stack.importStack({ ...state, deployment: previous });

        await stack.removeConfig("layout");
        await stack.setConfig("modelChanges", { value: "blueGreen" });
        for (const [name, sql] of Object.entries(models(2))) fs.writeFileSync(path.join(sqlDir, "models", `${name}.sql`), sql);
        await stack.up();
        await client.query(`insert into ingest.raw_events values ('{"id": 1, "kind": "a"}')`);
        expect((await client.query("select version from event_kinds")).rows).toEqual([{ version: 2 }]);
        const left = await client.query(`select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
                                         where n.nspname in ('public', 'public_etl_failure') and c.relkind in ('r', 'v') order by 1`);
        expect(left.rows.map(r => r.name)).toEqual(["public.event_kinds", "public.stg_events", "public_etl_failure.unique_stg_events_id"]);
        const again = await stack.up();
        expect(Object.keys(again.summary.resourceChanges ?? {})).toEqual(["same"]);
        await stack.destroy();
    });
});
