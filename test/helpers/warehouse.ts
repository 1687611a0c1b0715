import { randomUUID } from "node:crypto";
import * as path from "node:path";
import { Client, types } from "pg";
import { planSqlObjects } from "../../components/sqlObjectGraph";
import { cdcTableObjects } from "../../lib/cdc";
import { defaults } from "../../lib/config";
import { postgresObjects } from "../../lib/ddl";
import { searchPathStatement } from "../../lib/sqlKinds";
import { quoteIdent } from "../../lib/quote";
import { loadSqlProject, relationKey, SqlProject } from "../../lib/sqlProject";
import { datasetNames, RawDatasetName } from "../../lib/datasets";
import { consumeUntilIdle } from "../../testkit/kafkaTopics";

export const sqlDir = path.join(__dirname, "..", "..", "sql");
/** Where the datasets' tables are, as on a stack with the default configuration. */
export const sourceSchema = defaults.sourceSchema;

/**
 * The project's SQL, from the very files in sql/, on a fresh PostgreSQL database: each dataset a
 * table in the source schema shaped like Materialize's JSON table (one `data jsonb` column, same
 * name), each model and failure view a plain view, so a query sees every row inserted so far.
 */
export class Warehouse {
    private constructor(
        readonly client: Client,
        readonly url: string,
        readonly project: SqlProject,
    ) {}

    /**
     * With `cdc`, those datasets are instead the program's typed CDC tables in schema `cdc.schema`
     * (as on the operational PostgreSQL) under a JSON view of the dataset's name (as in Materialize).
     */
    static async create(postgresUrl: string, label: string, cdc?: { datasets: RawDatasetName[]; schema: string }): Promise<Warehouse> {
        const database = `${label}_${randomUUID().slice(0, 8)}`;
        const admin = new Client({ connectionString: postgresUrl });
        await admin.connect();
        try {
            await admin.query(`create database ${quoteIdent(database)}`);
        } finally {
            await admin.end();
        }
        const url = new URL(postgresUrl);
        url.pathname = `/${database}`;
        // Dates stay text ("2018-01-01"), as psql shows them, instead of local-time Date objects.
        const client = new Client({
            connectionString: url.toString(),
            types: { getTypeParser: (oid: number, format?: "text" | "binary") => (oid === types.builtins.DATE ? (v: string) => v : types.getTypeParser(oid, format)) },
        });
        await client.connect();
        const project = loadSqlProject(sqlDir, datasetNames);
        if (cdc) {
            await client.query(`create schema ${quoteIdent(cdc.schema)}`);
            for (const { definition } of planSqlObjects(cdcTableObjects(cdc.datasets, cdc.schema))) await client.query(definition.create);
        }
        for (const { definition } of planSqlObjects(postgresObjects(project, sourceSchema, cdc))) {
            if (definition.searchPath) await client.query(searchPathStatement(definition.searchPath));
            await client.query(definition.create);
        }
        await client.query("RESET search_path");
        return new Warehouse(client, url.toString(), project);
    }

    /** Appends events (their JSON values, as the producer sends them) to a dataset's table. */
    async insert(dataset: string, values: (string | object)[]): Promise<void> {
        if (values.length === 0) return;
        const json = values.map(v => (typeof v === "string" ? v : JSON.stringify(v)));
        await this.client.query(
            `insert into ${quoteIdent(sourceSchema)}.${quoteIdent(dataset)} (data) select value::jsonb from unnest($1::text[]) as value`,
            [json],
        );
    }

    async rows(relation: string): Promise<Record<string, unknown>[]> {
        const name = relation.split(".").map(quoteIdent).join(".");
        return (await this.client.query(`select * from ${name}`)).rows;
    }

    /** Every failure view's rows, keyed by view name (without the schema). */
    async failures(): Promise<Record<string, Record<string, unknown>[]>> {
        const views = this.project.models.filter(m => m.schema === this.project.failureSchema);
        const result: Record<string, Record<string, unknown>[]> = {};
        for (const view of views) result[view.name] = await this.rows(relationKey(view));
        return result;
    }

    /** Names of the failure views that have rows. */
    async tripped(): Promise<string[]> {
        return Object.entries(await this.failures())
            .filter(([, rows]) => rows.length > 0)
            .map(([name]) => name)
            .sort();
    }

    async close(): Promise<void> {
        await this.client.end();
    }
}

/**
 * The small consumer of the end-to-end tests: copies every record of each topic into the source
 * table of its dataset, as Materialize's sources do, until it is caught up.
 */
export async function copyTopicsToWarehouse(brokers: string, topics: Record<string, string>, warehouse: Warehouse): Promise<number> {
    const sourceOfTopic = new Map(Object.entries(topics).map(([source, topic]) => [topic, source]));
    let copied = 0;
    await consumeUntilIdle(brokers, [...sourceOfTopic.keys()], async (topic, _partition, messages) => {
        await warehouse.insert(sourceOfTopic.get(topic)!, messages.map(m => m.value?.toString() ?? "null"));
        copied += messages.length;
    });
    return copied;
}
