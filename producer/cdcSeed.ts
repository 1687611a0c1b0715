import { Client } from "pg";
import { cdcSchema, seedCdcTables } from "../lib/cdc";
import { datasets, RawDatasetName } from "../lib/datasets";
import { seedRows } from "./seeds";

export interface CdcSeedOptions {
    connection: { host: string; port: number; user: string; password?: string; database: string; ssl: boolean };
    seedsDir: string;
    /** The datasets whose tables are seeded. */
    datasets: RawDatasetName[];
    schema?: string;
}

/**
 * Seeds the CDC tables of a PostgreSQL from seeds/*.csv, once: every row is checked before the
 * transaction begins (a bad row inserts nothing), and a row whose id is there already is skipped
 * (a second run inserts nothing). Returns the rows inserted per dataset.
 */
export async function seedCdcDatabase(options: CdcSeedOptions): Promise<Record<string, number>> {
    const only = datasets.filter(d => options.datasets.includes(d.name));
    const client = new Client({
        ...options.connection,
        ssl: options.connection.ssl ? { rejectUnauthorized: true } : undefined,
        connectionTimeoutMillis: 10_000,
    });
    await client.connect();
    try {
        return await seedCdcTables(client, options.datasets, seedRows(options.seedsDir, only), options.schema ?? cdcSchema);
    } finally {
        await client.end().catch(() => undefined);
    }
}
