import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { startPostgres } from "../testkit/services/postgres";
import { engineBinDir, pulumiCli } from "./preview";

/**
 * A model change both ways, on PostgreSQL (standing in for Materialize): `pulumi up` of a changed
 * model with modelChanges blueGreen, then replace, while six readers query a mart and a failure
 * view in a loop. Prints how long each up took and what the readers saw: every error they got
 * (a relation missing while it was dropped and created again) counted.
 */

const repo = path.resolve(__dirname, "..");
const readers = 6;

export interface ModelChangeRow {
    mode: "blueGreen" | "replace";
    upMs: number;
    queries: number;
    errors: number;
    firstError?: string;
}

const schemaFile = "models:\n  - name: stg_events\n    columns:\n      - name: id\n        tests: [unique]\n  - name: event_kinds\n";
const model = (version: number) => `select kind, count(*) as n, ${version} as version from stg_events group by kind`;

export async function measureModelChange(log: (message: string) => void): Promise<ModelChangeRow[]> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "jss-model-change-bench-"));
    log("starting PostgreSQL on loopback (standing in for Materialize)");
    const postgres = await startPostgres();
    try {
        const cli = pulumiCli(path.join(root, "state"), engineBinDir(log));
        fs.mkdirSync(path.join(root, "state"));
        for (const entry of ["test/engine/sql-program", "components", "lib", "producer", "tsconfig.json"]) {
            fs.cpSync(path.join(repo, entry), path.join(root, "program", entry), { recursive: true });
        }
        fs.symlinkSync(path.join(repo, "node_modules"), path.join(root, "program", "node_modules"));
        const dir = path.join(root, "program", "test", "engine", "sql-program");
        const sqlDir = path.join(dir, "project");
        fs.mkdirSync(path.join(sqlDir, "models"), { recursive: true });
        fs.writeFileSync(path.join(sqlDir, "schema.yml"), schemaFile);
        fs.cpSync(path.join(repo, "sql", "tests"), path.join(sqlDir, "tests"), { recursive: true });
        fs.writeFileSync(path.join(sqlDir, "models", "stg_events.sql"), "select (data ->> 'id')::int as id, data ->> 'kind' as kind from raw_events");

        const rows: ModelChangeRow[] = [];
        for (const mode of ["blueGreen", "replace"] as const) {
            const database = `bench_${mode.toLowerCase()}`;
            const admin = new Client({ connectionString: postgres.url });
            await admin.connect();
            await admin.query(`create database ${database}`);
            await admin.end();
            const url = `postgres://${postgres.user}@127.0.0.1:${postgres.port}/${database}`;
            await cli.run(dir, ["stack", "init", mode]);
            const config = { sqlDir, sources: '["raw_events"]', host: "127.0.0.1", port: String(postgres.port), user: postgres.user, database, modelChanges: mode };
            for (const [key, value] of Object.entries(config)) await cli.run(dir, ["config", "set", "--stack", mode, key, value]);
            fs.writeFileSync(path.join(sqlDir, "models", "event_kinds.sql"), model(1));
            await cli.run(dir, ["up", "--yes", "--skip-preview", "--stack", mode]);
            const client = new Client({ connectionString: url });
            await client.connect();
            await client.query(`insert into ingest.raw_events select jsonb_build_object('id', i, 'kind', 'k' || (i % 7)) from generate_series(1, 10000) i`);
            await client.end();

            log(`changing a model with modelChanges ${mode}, ${readers} readers querying`);
            fs.writeFileSync(path.join(sqlDir, "models", "event_kinds.sql"), model(2));
            let deploying = true;
            const reading = Array.from({ length: readers }, () => read(url, () => deploying));
            const up = await cli.run(dir, ["up", "--yes", "--skip-preview", "--stack", mode]).finally(() => (deploying = false));
            const seen = await Promise.all(reading);
            const errors = seen.flatMap(reader => reader.errors);
            rows.push({ mode, upMs: up.ms, queries: seen.reduce((n, reader) => n + reader.queries, 0), errors: errors.length, firstError: errors[0] });
        }
        return rows;
    } finally {
        await postgres.stop();
        fs.rmSync(root, { recursive: true, force: true });
    }
}

/** Queries the mart and a failure view until told to stop (at most 10 minutes), counting errors. */
async function read(url: string, going: () => boolean): Promise<{ queries: number; errors: string[] }> {
    const client = new Client({ connectionString: url });
    await client.connect();
    const errors: string[] = [];
    let queries = 0;
    const deadline = Date.now() + 600_000;
    try {
        while (going() && Date.now() < deadline) {
            for (const query of ["select max(version) from event_kinds", "select count(*) from public_etl_failure.unique_stg_events_id"]) {
                queries++;
                await client.query(query).catch((err: Error) => errors.push(err.message));
            }
        }
    } finally {
        await client.end();
    }
    return { queries, errors };
}

export function renderModelChange(rows: ModelChangeRow[]): string[] {
    const lines = ["| model change | pulumi up | reader queries | reader errors | first error |", "| --- | ---: | ---: | ---: | --- |"];
    for (const row of rows) {
        lines.push(`| ${row.mode} | ${(row.upMs / 1000).toFixed(1)} s | ${row.queries} | ${row.errors} | ${row.firstError ?? ""} |`);
    }
    const [blueGreen, replace] = rows;
    lines.push("", `blue/green up over replace up: ${(blueGreen.upMs / replace.upMs).toFixed(2)}; reader errors ${blueGreen.errors} (target 0) vs ${replace.errors}`);
    return lines;
}

export function modelChangeTargetMet(rows: ModelChangeRow[]): boolean {
    return rows.find(row => row.mode === "blueGreen")?.errors === 0;
}

if (require.main === module) {
    measureModelChange(message => process.stderr.write(`[bench] ${message}\n`))
        .then(rows => {
            for (const line of renderModelChange(rows)) console.log(line);
            if (!modelChangeTargetMet(rows)) {
                console.log("TARGET MISSED");
                process.exitCode = 1;
            }
        })
        .catch(err => {
            console.error(err);
            process.exitCode = 1;
        });
}
