import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "pg";
import { quoteIdent, quoteLiteral } from "../lib/quote";
import { relationKey, SqlProject } from "../lib/sqlProject";

/**
 * The core of `npm run watch`: row counts of the marts and the failure views as they change,
 * from Materialize's SUBSCRIBE or, on plain PostgreSQL, by polling, across lost connections;
 * and a text rendering.
 */

export interface WatchedRelation {
    /** As in the SQL project: "customers", "public_etl_failure.unique_orders_order_id". */
    key: string;
    isFailureView: boolean;
}

export type Counts = Record<string, number>;

/** What reads the counts and rows: a pg Client. */
export interface Queryable {
    query(sql: string): Promise<{ rows: Record<string, unknown>[] }>;
}

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

/** Every statement the watch sends, made here only (test/golden/watch.sql pins them). */
export const watchStatements = {
    isMaterialize: "select mz_version()",
    /** Materialize runs SUBSCRIBE and SELECT on the session's cluster: the stack's, not the role's default. */
    useCluster: (cluster: string) => `SET cluster TO ${quoteLiteral(cluster)}`,
    begin: "begin",
    subscribe: (relations: readonly WatchedRelation[]) => `declare watch_counts cursor for subscribe (${countsQuery(relations)}) with (progress = false)`,
    fetch: "fetch all watch_counts with (timeout = '1s')",
    end: "rollback",
    counts: countsQuery,
    failureRows: (relation: string, limit: number) => `select * from ${qualified(relation)} limit ${limit}`,
};

function qualified(key: string): string {
    return key.split(".").map(quoteIdent).join(".");
}

type CountRow = { relation: string; n: string | number };

function toCounts(rows: CountRow[], into: Counts = {}): Counts {
    for (const row of rows) into[row.relation] = Number(row.n);
    return into;
}

/** Counts every intervalMs (PostgreSQL, or any database without SUBSCRIBE). */
export async function* pollCounts(
    client: Queryable,
    relations: readonly WatchedRelation[],
    options: { intervalMs: number; signal?: AbortSignal },
): AsyncGenerator<Counts> {
    const query = watchStatements.counts(relations);
    while (!options.signal?.aborted) {
        yield toCounts((await client.query(query)).rows as CountRow[]);
        await sleep(options.intervalMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
}

/**
 * Counts as Materialize pushes their changes: a SUBSCRIBE cursor, fetched with a timeout so an
 * abort is noticed. The first fetch is the current state; later ones carry only changes, each a
 * retraction of the old count (mz_diff -1) and an insertion of the new one (+1).
 */
export async function* subscribeCounts(
    client: Queryable,
    relations: readonly WatchedRelation[],
    options: { signal?: AbortSignal } = {},
): AsyncGenerator<Counts> {
    await client.query(watchStatements.begin);
    try {
        await client.query(watchStatements.subscribe(relations));
        const counts: Counts = {};
        while (!options.signal?.aborted) {
            const { rows } = await client.query(watchStatements.fetch);
            const inserted = rows.filter(row => Number(row.mz_diff) > 0);
            if (inserted.length > 0) yield { ...toCounts(inserted as CountRow[], counts) };
        }
    } finally {
        await client.query(watchStatements.end).catch(() => undefined);
    }
}

/**
 * Snapshots from a stream of counts: what changed since the previous one (`previous` carries the
 * counts seen before a reconnection), and the rows of the failure views that have any, read
 * through `client` (not the one a SUBSCRIBE is holding).
 */
export async function* snapshots(
    counts: AsyncIterable<Counts>,
    client: Queryable,
    relations: readonly WatchedRelation[],
    options: { rowsPerView?: number; previous?: Counts } = {},
): AsyncGenerator<Snapshot> {
    let previous = options.previous;
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
            failureRows[relation.key] = (await client.query(watchStatements.failureRows(relation.key, limit))).rows;
        }
        previous = current;
        yield { at, counts: current, changes, failureRows };
    }
}

/** Longest wait between two reconnection attempts. */
export const maxReconnectDelayMs = 10_000;
/** How long the watch keeps trying to reconnect before it gives up, unless told otherwise. */
export const defaultReconnectForMs = 300_000;

export interface WatchOptions {
    /** Where to connect; it may hold a password, so it is never shown: notices name host, port and database. */
    url: string;
    relations: readonly WatchedRelation[];
    /** "subscribe" follows SUBSCRIBE where the server has it (Materialize) and polls elsewhere. */
    mode: "subscribe" | "poll";
    /** Materialize's cluster for the SUBSCRIBE and the queries (the stack's); unset: the session's default. */
    cluster?: string;
    intervalMs: number;
    /** After a lost connection, how long to keep trying (default defaultReconnectForMs); then it throws. */
    reconnectForMs?: number;
    signal?: AbortSignal;
    /** One line each: polling instead of SUBSCRIBE, connection lost, connection back. */
    onNotice?: (message: string) => void;
}

/**
 * Snapshots until aborted, whatever happens to the connection: when it is lost (the server
 * restarts, the network drops), the watch reconnects, waiting 0.5 s, then twice as long each
 * time up to maxReconnectDelayMs, for up to reconnectForMs, and carries on from the counts it
 * saw last, so what changed meanwhile shows up as changes. The first connection is not retried:
 * a wrong URL should fail at once.
 */
export async function* watchSnapshots(options: WatchOptions): AsyncGenerator<Snapshot> {
    const server = describeServer(options.url);
    let session: Session;
    try {
        session = await openSession(options.url, options.mode === "subscribe" ? "if-supported" : false, options.cluster);
    } catch (err) {
        throw new Error(`cannot connect to ${server}: ${(err as Error).message}`, { cause: err });
    }
    if (options.mode === "subscribe" && !session.subscribes) {
        options.onNotice?.(`${server} has no SUBSCRIBE (not Materialize): polling every ${options.intervalMs} ms instead`);
    }
    let previous: Counts | undefined;
    /** Subscriptions ended by a replacement with no snapshot since: a deploy ends one, a loop of them is something else. */
    let replacedInARow = 0;
    try {
        for (;;) {
            const counts = session.subscribes
                ? subscribeCounts(session.counts, options.relations, { signal: options.signal })
                : pollCounts(session.counts, options.relations, { intervalMs: options.intervalMs, signal: options.signal });
            try {
                for await (const snapshot of snapshots(counts, session.rows, options.relations, { previous })) {
                    previous = snapshot.counts;
                    replacedInARow = 0;
                    yield snapshot;
                }
                return;
            } catch (err) {
                if (options.signal?.aborted) return;
                // A client that lost its connection while idle fails the next query with a generic
                // "not queryable"; what the server or the socket said then is the better explanation.
                const cause = /not queryable/.test((err as Error).message) ? (session.lostBecause() ?? (err as Error)) : (err as Error);
                if ((cause as { code?: string }).code === undefinedTable) {
                    throw new Error(
                        `${server}: ${cause.message}: the project's models are not there ` +
                            "(a stack with sqlObjects: false leaves them to dbt: create them with `dbt run` first)",
                        { cause },
                    );
                }
                if (session.subscribes && isRelationReplaced(cause) && ++replacedInARow <= maxReplacementsInARow) {
                    // A blue/green deploy swapped the watched objects out and dropped them: the
                    // same names now hold the new ones.
                    options.onNotice?.(`the watched relations were replaced (a deploy): following the new ones (${cause.message})`);
                    continue;
                }
                if (!isConnectionLoss(cause)) throw err;
                await session.close();
                const reopened = await reconnect(() => openSession(options.url, session.subscribes, options.cluster), cause, server, options);
                if (reopened === undefined) return;
                session = reopened;
            }
        }
    } finally {
        await session.close();
    }
}

/** One connection, or two for SUBSCRIBE: it holds its own inside a transaction, and the failure rows need another. */
interface Session {
    subscribes: boolean;
    counts: Client;
    rows: Client;
    /** The first error a client reported on its own, e.g. the server's "terminating connection". */
    lostBecause(): Error | undefined;
    close(): Promise<void>;
}

async function openSession(url: string, subscribe: boolean | "if-supported", cluster: string | undefined): Promise<Session> {
    const clients: Client[] = [];
    let lost: Error | undefined;
    const connect = async () => {
        const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
        // Without a listener, a connection dropped while idle (between polls) is an uncaught 'error' event.
        client.on("error", err => (lost ??= err));
        clients.push(client);
        await client.connect();
        return client;
    };
    let closed: Promise<void> | undefined;
    const close = () => (closed ??= Promise.all(clients.map(client => client.end().catch(() => undefined))).then(() => undefined));
    try {
        const counts = await connect();
        const subscribes = subscribe === "if-supported" ? await hasSubscribe(counts) : subscribe;
        const rows = subscribes ? await connect() : counts;
        // Only Materialize has clusters; PostgreSQL (polled) would refuse the setting.
        if (subscribes && cluster !== undefined) {
            for (const client of [counts, rows]) await client.query(watchStatements.useCluster(cluster));
        }
        return { subscribes, counts, rows, lostBecause: () => lost, close };
    } catch (err) {
        await close();
        throw err;
    }
}

const maxReplacementsInARow = 5;

/**
 * How Materialize ends a SUBSCRIBE whose relation was dropped: "subscribe has been terminated
 * because underlying relation ... was dropped" (v26), "query could not complete because relation
 * ... was dropped" (later versions).
 */
export function isRelationReplaced(error: Error): boolean {
    return /(subscribe has been terminated because underlying relation|query could not complete because relation) .* was dropped/.test(error.message);
}

/** Materialize answers mz_version(); PostgreSQL has no such function (and no SUBSCRIBE). */
async function hasSubscribe(client: Client): Promise<boolean> {
    try {
        await client.query(watchStatements.isMaterialize);
        return true;
    } catch (err) {
        if ((err as { code?: string }).code === undefinedFunction) return false;
        throw err;
    }
}

const undefinedFunction = "42883";
const undefinedTable = "42P01";

/**
 * Tries to open a new session until one opens, the time is up (throws) or the watch is aborted
 * (undefined). Errors other than an unreachable server (a dropped database, a revoked login) throw at once.
 */
async function reconnect(
    open: () => Promise<Session>,
    lostBecause: Error,
    server: string,
    options: Pick<WatchOptions, "reconnectForMs" | "signal" | "onNotice">,
): Promise<Session | undefined> {
    const reconnectForMs = options.reconnectForMs ?? defaultReconnectForMs;
    const lostAt = Date.now();
    const deadline = lostAt + reconnectForMs;
    options.onNotice?.(`lost the connection to ${server} (${lostBecause.message}); reconnecting for up to ${reconnectForMs / 1000} s`);
    let lastError = lostBecause;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
        const delayMs = Math.min(500 * 2 ** attempt, maxReconnectDelayMs, deadline - Date.now());
        try {
            await sleep(delayMs, undefined, { signal: options.signal });
        } catch {
            return undefined;
        }
        try {
            const session = await open();
            options.onNotice?.(`reconnected to ${server} after ${((Date.now() - lostAt) / 1000).toFixed(1)} s`);
            return session;
        } catch (err) {
            if (!isConnectionLoss(err)) throw err;
            lastError = err as Error;
        }
    }
    throw new Error(`gave up reconnecting to ${server} after ${reconnectForMs / 1000} s: ${lastError.message}`, { cause: lastError });
}

/** Socket errors, SQLSTATE class 08 and the server shutting down or starting up, and pg's words for a dropped connection. */
function isConnectionLoss(err: unknown): boolean {
    const { code, message } = err as { code?: string; message?: string };
    if (code !== undefined && (connectionLossCodes.has(code) || code.startsWith("08"))) return true;
    return /^(Connection terminated|Client has encountered a connection error|timeout expired)/.test(message ?? "");
}

const connectionLossCodes = new Set([
    "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN",
    "57P01", // admin_shutdown: terminating connection due to administrator command
    "57P02", // crash_shutdown
    "57P03", // cannot_connect_now: the database system is starting up / shutting down
]);

/** host:port/database, never the user or password. */
function describeServer(url: string): string {
    try {
        const parsed = new URL(url);
        const host = parsed.hostname || parsed.searchParams.get("host") || "localhost";
        return `${host}:${parsed.port || 5432}${decodeURIComponent(parsed.pathname) || "/"}`;
    } catch {
        return "the database";
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
