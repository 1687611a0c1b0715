import { setTimeout as sleep } from "node:timers/promises";
import type { Client } from "pg";
import { inTransaction, insertRows } from "../lib/cdc";
import { RawDatasetName, RawRecord } from "../lib/datasets";
import { retryWithin, UndeliveredBatchError } from "./send";

/**
 * Writes the generated rows of the CDC datasets into their PostgreSQL tables: one transaction per
 * batch, on one connection, batches in the order given. Exactly once, the way the Kafka side is:
 * a batch whose outcome is unknown (PostgreSQL paused or restarting, the connection lost before
 * COMMIT was answered) is written again on a new connection for up to retryForMs, and the rows'
 * ids (the generator's seed block) are primary keys, so rows that did land are not written twice.
 */
export interface CdcTableWriter {
    /** Resolves once the batch is committed; rejects with UndeliveredBatchError when it gave up. */
    write(rows: Map<RawDatasetName, RawRecord[]>): Promise<void>;
    close(): Promise<void>;
}

export interface CdcTableWriterOptions {
    /** postgres://... of the database of the CDC tables; the password may come from PGPASSWORD. */
    url: string;
    tables: Partial<Record<RawDatasetName, { schema: string; name: string }>>;
    retryForMs: number;
    /** How long a statement may go unanswered before the connection is given up and the batch written again. */
    requestTimeoutMs: number;
    onRetrying?: (error: Error) => void;
}

export function cdcTableWriter(options: CdcTableWriterOptions): CdcTableWriter {
    const { Client } = require("pg") as typeof import("pg");
    let client: Client | undefined;
    let queue: Promise<unknown> = Promise.resolve();

    const connect = async (): Promise<Client> => {
        const next = new Client({ connectionString: options.url, connectionTimeoutMillis: options.requestTimeoutMs, query_timeout: options.requestTimeoutMs });
        // A lost connection is noticed by the next query; an idle one must not crash the process.
        next.on("error", () => undefined);
        await next.connect().catch(async err => {
            await abandon(next);
            throw err;
        });
        return next;
    };

    const writeOnce = async (rows: Map<RawDatasetName, RawRecord[]>) => {
        client ??= await connect();
        const connection = client;
        await inTransaction(connection, async () => {
            for (const [dataset, records] of rows) {
                const table = options.tables[dataset];
                if (!table) throw new UndeliveredBatchError(`no CDC table given for ${dataset}`);
                await insertRows(connection, { schema: table.schema, name: dataset }, records);
            }
        });
    };

    const write = (rows: Map<RawDatasetName, RawRecord[]>): Promise<void> =>
        retryWithin({ retryForMs: options.retryForMs, onRetry: options.onRetrying }, isWorthRetrying, () => writeOnce(rows), async () => {
            if (client) await abandon(client);
            client = undefined;
        });

    return {
        write: rows => {
            const written = queue.then(() => write(rows));
            queue = written.catch(() => undefined);
            return written;
        },
        close: async () => {
            await queue;
            if (client) await client.end().catch(() => undefined);
            client = undefined;
        },
    };
}

/**
 * Lets a connection go without waiting for the server's goodbye: a paused server would never give
 * it. Its transaction, if the server still has one, is rolled back once the server sees it gone.
 */
async function abandon(client: Client): Promise<void> {
    const socket = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    socket?.destroy();
    await Promise.race([client.end().catch(() => undefined), sleep(100)]);
}

/**
 * What a later attempt may get through: no answer at all (refused, reset, timed out), or
 * PostgreSQL's connection, shutdown, resource and serialization errors (SQLSTATE 08, 57P, 53, 40).
 * A missing table or refused credentials fail at once.
 */
function isWorthRetrying(error: Error): boolean {
    if (error instanceof UndeliveredBatchError) return false;
    const code = (error as { code?: string }).code;
    if (code === undefined || /^E[A-Z]+$/.test(code)) return true;
    return /^(08|57P|53|40)/.test(code);
}
