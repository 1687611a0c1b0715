import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "pg";
import { quoteIdent, quoteLiteral } from "../lib/quote";
import { relationKey, SqlProject } from "../lib/sqlProject";

/**
 * The core of `npm run watch`: row counts of the marts and the failure views as they change,
 * from Materialize's SUBSCRIBE or, on plain PostgreSQL, by polling; and a text rendering.
 */

export interface WatchedRelation {
    /** As in the SQL project: "customers", "public_etl_failure.unique_orders_order_id". */
    key: string;
    isFailureView: boolean;
}

export type Counts = Record<string, number>;

export interface CountChange {
    relation: string;
    from: number;
    to: number;
    at: Date;
}

export interface Snapshot {
    at: Date;
    counts: Counts;
    /** Relations whose count differs from the previous snapshot (none for the first). */
    changes: CountChange[];
    /** The first rows of every failure view that has any. */
    failureRows: Record<string, Record<string, unknown>[]>;
}

/** The marts (models no other model reads) and every failure view, in the project's order. */
export function watchedRelations(project: SqlProject): WatchedRelation[] {
    const isFailureView = (schema: string) => schema === project.failureSchema;
    const readByModels = new Set(project.models.filter(m => !isFailureView(m.schema)).flatMap(m => m.dependsOn));
    return project.models
        .filter(m => isFailureView(m.schema) || !readByModels.has(relationKey(m)))
        .map(m => ({ key: relationKey(m), isFailureView: isFailureView(m.schema) }));
}

/** One query for every count, as rows (relation, n): one SUBSCRIBE follows all of them. */
export function countsQuery(relations: readonly WatchedRelation[]): string {
    return relations
        .map(r => `select ${quoteLiteral(r.key)} as relation, count(*) as n from ${qualified(r.key)}`)
        .join("\nunion all\n");
}

function qualified(key: string): string {
    return key.split(".").map(quoteIdent).join(".");
}

function toCounts(rows: { relation: string; n: string | number }[], into: Counts = {}): Counts {
    for (const row of rows) into[row.relation] = Number(row.n);
    return into;
}

/** Counts every intervalMs (PostgreSQL, or any database without SUBSCRIBE). */
export async function* pollCounts(
    client: Client,
    relations: readonly WatchedRelation[],
    options: { intervalMs: number; signal?: AbortSignal },
): AsyncGenerator<Counts> {
    const query = countsQuery(relations);
    while (!options.signal?.aborted) {
        yield toCounts((await client.query(query)).rows);
        await sleep(options.intervalMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
}

/**
 * Counts as Materialize pushes their changes: a SUBSCRIBE cursor, fetched with a timeout so an
 * abort is noticed. The first fetch is the current state; later ones carry only changes, each a
 * retraction of the old count (mz_diff -1) and an insertion of the new one (+1).
 */
export async function* subscribeCounts(
    client: Client,
    relations: readonly WatchedRelation[],
    options: { signal?: AbortSignal } = {},
): AsyncGenerator<Counts> {
    await client.query("begin");
    try {
        await client.query(`declare watch_counts cursor for subscribe (${countsQuery(relations)}) with (progress = false)`);
        const counts: Counts = {};
        while (!options.signal?.aborted) {
            const { rows } = await client.query("fetch all watch_counts with (timeout = '1s')");
            const inserted = rows.filter(row => Number(row.mz_diff) > 0);
            if (inserted.length > 0) yield { ...toCounts(inserted, counts) };
        }
    } finally {
        await client.query("rollback").catch(() => undefined);
    }
}

/**
 * Snapshots from a stream of counts: what changed since the previous one, and the rows of the
 * failure views that have any, read through `client` (not the one a SUBSCRIBE is holding).
 */
export async function* snapshots(
    counts: AsyncIterable<Counts>,
    client: Client,
    relations: readonly WatchedRelation[],
    options: { rowsPerView?: number } = {},
): AsyncGenerator<Snapshot> {
    let previous: Counts | undefined;
    for await (const current of counts) {
        const at = new Date();
        const changes = previous === undefined
            ? []
            : relations
                  .filter(r => previous![r.key] !== current[r.key])
                  .map(r => ({ relation: r.key, from: previous![r.key] ?? 0, to: current[r.key] ?? 0, at }));
        const failureRows: Snapshot["failureRows"] = {};
        for (const relation of relations.filter(r => r.isFailureView && (current[r.key] ?? 0) > 0)) {
            const limit = options.rowsPerView ?? 5;
            failureRows[relation.key] = (await client.query(`select * from ${qualified(relation.key)} limit ${limit}`)).rows;
        }
        previous = current;
        yield { at, counts: current, changes, failureRows };
    }
}

/** A screenful: counts (failure views with rows marked FAIL, with their rows), then the latest changes. */
export function renderSnapshot(snapshot: Snapshot, relations: readonly WatchedRelation[], recentChanges: readonly CountChange[]): string {
    const width = Math.max(...relations.map(r => r.key.length));
    const lines = [`jaffle-shop-streaming at ${snapshot.at.toISOString()}`, ""];
    for (const section of [false, true]) {
        lines.push(section ? "failure views" : "marts");
        for (const relation of relations.filter(r => r.isFailureView === section)) {
            const count = snapshot.counts[relation.key] ?? 0;
            const mark = section && count > 0 ? "  FAIL" : "";
            lines.push(`  ${relation.key.padEnd(width)}  ${String(count).padStart(8)}${mark}`);
            const rows = snapshot.failureRows[relation.key] ?? [];
            if (rows.length > 0) lines.push(`      ${Object.keys(rows[0]).join(" | ")}`);
            for (const row of rows) lines.push(`      ${Object.values(row).map(formatValue).join(" | ")}`);
        }
        lines.push("");
    }
    lines.push("latest changes");
    if (recentChanges.length === 0) lines.push("  (none yet)");
    for (const change of recentChanges) {
        lines.push(`  ${change.at.toISOString().slice(11, 19)}  ${change.relation}: ${change.from} -> ${change.to}`);
    }
    return lines.join("\n");
}

function formatValue(value: unknown): string {
    if (value === null) return "null";
    if (value instanceof Date) return value.toISOString().slice(0, 10);
    return String(value);
}
