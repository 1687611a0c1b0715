import type { Client } from "pg";
import { ColumnType, Dataset, datasets, RawDatasetName, RawRecord } from "./datasets";
import type { SqlObjectDefinition } from "./ddl";
import { quoteIdent, quoteLiteral } from "./quote";

/**
 * The PostgreSQL side of the CDC datasets: typed tables named after their dataset, the publication
 * Materialize replicates, and the view that gives a replicated table the shape of a Kafka JSON
 * source (one `data jsonb` column), so the staging models read it unchanged.
 */

/** The publication Materialize reads; it holds exactly the CDC tables. */
export const publicationName = "jaffle_cdc";
/** Schema of the CDC tables upstream. */
export const cdcSchema = "public";
/** The role Materialize replicates as (LOGIN REPLICATION, SELECT on the CDC tables only). */
export const replicationRoleName = "jaffle_materialize";

const postgresTypes: Record<ColumnType, string> = { int: "bigint", text: "text", date: "date" };

export function datasetOf(name: string): Dataset {
    const dataset = datasets.find(d => d.name === name);
    if (!dataset) throw new Error(`unknown dataset "${name}" (known: ${datasets.map(d => d.name).join(", ")})`);
    return dataset;
}

function qualified(schema: string, name: string): string {
    return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/**
 * The CDC tables on PostgreSQL: typed columns, `id` the primary key, and REPLICA IDENTITY FULL,
 * which Materialize's PostgreSQL source asks for so an UPDATE or DELETE carries the whole old row.
 */
export function cdcTableObjects(names: readonly RawDatasetName[], schema = cdcSchema): SqlObjectDefinition[] {
    return names.map(name => {
        const dataset = datasetOf(name);
        const columns = Object.entries(dataset.columns).map(([column, type]) =>
            `${quoteIdent(column)} ${postgresTypes[type]}${column === "id" ? " PRIMARY KEY" : ""}`);
        const table = qualified(schema, name);
        return {
            // Not the dataset's name: in Materialize that is the JSON view over the replicated table.
            key: `cdc_table_${name}`,
            kind: "table",
            schema,
            name,
            create: `CREATE TABLE ${table} (${columns.join(", ")});\nALTER TABLE ${table} REPLICA IDENTITY FULL`,
            dependsOn: [],
        };
    });
}

/** The tables of the publication, as @pulumi/postgresql's Publication takes them ("schema.table"). */
export function publicationTables(names: readonly RawDatasetName[], schema = cdcSchema): string[] {
    return names.map(name => `${schema}.${name}`);
}

/** The statement the Publication resource stands for, for tests on a real PostgreSQL. */
export function createPublicationSql(names: readonly RawDatasetName[], schema = cdcSchema): string {
    return `CREATE PUBLICATION ${quoteIdent(publicationName)} FOR TABLE ${names.map(n => qualified(schema, n)).join(", ")}`;
}

/**
 * A view named like the raw relation that rebuilds the JSON event from the typed columns, exactly
 * as the producer writes it (numbers as JSON numbers, dates as "YYYY-MM-DD" text).
 */
export function jsonViewQuery(name: RawDatasetName, from: { schema: string; name: string }): string {
    const dataset = datasetOf(name);
    const fields = Object.entries(dataset.columns).map(([column, type]) =>
        `${quoteLiteral(column)}, ${quoteIdent(column)}${type === "date" ? "::text" : ""}`);
    return `SELECT jsonb_build_object(${fields.join(", ")}) AS data FROM ${qualified(from.schema, from.name)}`;
}

export interface CdcSeedRow {
    dataset: { name: RawDatasetName };
    record: RawRecord;
}

/**
 * Inserts rows into a dataset's CDC table, typed by the table's own columns; a row whose id is
 * already there is left alone, so inserting the same rows again inserts nothing. Returns how many
 * were inserted.
 */
export async function insertRows(client: Client, table: { schema: string; name: RawDatasetName }, records: readonly RawRecord[]): Promise<number> {
    const dataset = datasetOf(table.name);
    const columns = Object.keys(dataset.columns).map(quoteIdent).join(", ");
    const name = qualified(table.schema, table.name);
    // jsonb_populate_recordset types each value by the table's own columns.
    const result = await client.query(
        `INSERT INTO ${name} (${columns}) SELECT ${columns} FROM jsonb_populate_recordset(NULL::${name}, $1::jsonb)` +
            ` ON CONFLICT (${quoteIdent("id")}) DO NOTHING`,
        [JSON.stringify(records)],
    );
    return result.rowCount ?? 0;
}

/**
 * Runs `work` in one transaction: any error rolls back everything.
 */
export async function inTransaction<T>(client: Client, work: () => Promise<T>): Promise<T> {
    await client.query("BEGIN");
    try {
        const result = await work();
        await client.query("COMMIT");
        return result;
    } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
    }
}

/**
 * Inserts the seed rows of the CDC datasets in one transaction: rows whose id is already there are
 * left alone, so a second run inserts nothing; any error rolls back everything. Returns the number
 * of rows inserted per dataset.
 */
export async function seedCdcTables(
    client: Client,
    names: readonly RawDatasetName[],
    rows: Iterable<CdcSeedRow>,
    schema = cdcSchema,
): Promise<Record<string, number>> {
    const byDataset = new Map<RawDatasetName, RawRecord[]>(names.map(name => [name, []]));
    for (const row of rows) byDataset.get(row.dataset.name)?.push(row.record);
    return inTransaction(client, async () => {
        const inserted: Record<string, number> = {};
        for (const name of names) inserted[name] = await insertRows(client, { schema, name }, byDataset.get(name)!);
        return inserted;
    });
}
