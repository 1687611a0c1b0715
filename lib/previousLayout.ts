import * as pulumi from "@pulumi/pulumi";
import { kafkaConnectionName, kafkaPasswordSecretName, postgresConnectionName, postgresPasswordSecretName, postgresSourceName } from "./ddl";
import { CatalogQuery, dropStatement } from "./sqlKinds";
import { isNewServer, SqlConnection, withSql } from "./sqlObject";

/**
 * A migration step for stacks made before the source schema. Their PostgreSQL source
 * (`public.postgres_cdc`, FOR TABLES) kept its tables as subsources, each read by a JSON view. When
 * an update removes that source, Pulumi deletes it with the provider code recorded in the old
 * state (dynamic providers delete with the code that created), which drops it without CASCADE:
 * Materialize refuses while the subsources exist. This resource runs after every SQL object of
 * the update and before those deletes (the engine deletes removed resources last), and drops the
 * subsources and the views reading them, each by name; the old resources' drops then find
 * nothing in their way. On a stack without that source it does nothing. Remove it once no stack
 * of the earlier layout is left.
 */

/**
 * What the earlier layout kept in public besides the models: per dataset its source (and the
 * source's progress subsource), a CDC dataset's subsource; the PostgreSQL source, the connections
 * and secrets. A blue/green deploy swaps them out with the old models and drops them.
 */
export function earlierLayoutNames(datasets: readonly string[]): string[] {
    return [
        ...datasets.flatMap(dataset => [dataset, `${dataset}_progress`, `${dataset}_cdc`]),
        postgresSourceName, `${postgresSourceName}_progress`, kafkaConnectionName, kafkaPasswordSecretName, postgresConnectionName, postgresPasswordSecretName,
    ];
}

/** Rows (schema, name) of the subsources of the earlier layout's PostgreSQL source. */
export function previousSubsourcesQuery(): CatalogQuery {
    return {
        text:
            "select sub_schema.name as schema, sub.name as name from mz_catalog.mz_sources sub" +
            " join mz_catalog.mz_schemas sub_schema on sub.schema_id = sub_schema.id" +
            " join mz_internal.mz_object_dependencies dep on dep.object_id = sub.id" +
            " join mz_catalog.mz_sources src on src.id = dep.referenced_object_id" +
            " join mz_catalog.mz_schemas src_schema on src.schema_id = src_schema.id" +
            " join mz_catalog.mz_databases d on src_schema.database_id = d.id" +
            " where d.name = current_database() and src_schema.name = $1 and src.name = $2 and sub.type = 'subsource'",
        values: ["public", postgresSourceName],
    };
}

/** Rows (schema, name) of the views reading a subsource ($1 schema, $2 name). */
export function viewsReadingQuery(subsource: { schema: string; name: string }): CatalogQuery {
    return {
        text:
            "select v_schema.name as schema, v.name as name from mz_catalog.mz_views v" +
            " join mz_catalog.mz_schemas v_schema on v.schema_id = v_schema.id" +
            " join mz_internal.mz_object_dependencies dep on dep.object_id = v.id" +
            " join mz_catalog.mz_sources sub on sub.id = dep.referenced_object_id" +
            " join mz_catalog.mz_schemas sub_schema on sub.schema_id = sub_schema.id" +
            " join mz_catalog.mz_databases d on sub_schema.database_id = d.id" +
            " where d.name = current_database() and sub_schema.name = $1 and sub.name = $2",
        values: [subsource.schema, subsource.name],
    };
}


const previousLayoutProvider: pulumi.dynamic.ResourceProvider<{ connection: SqlConnection }, { connection: SqlConnection }> = {
    async create(inputs) {
        await withSql(inputs.connection, undefined, async client => {
            const subsources = previousSubsourcesQuery();
            for (const subsource of (await client.query(subsources.text, subsources.values)).rows as { schema: string; name: string }[]) {
                const views = viewsReadingQuery(subsource);
                for (const view of (await client.query(views.text, views.values)).rows as { schema: string; name: string }[]) {
                    await client.query(dropStatement({ kind: "view", ...view }));
                }
                await client.query(dropStatement({ kind: "source", ...subsource }));
            }
        });
        return { id: "previous-layout", outs: inputs };
    },
    async diff(_id, olds, news) {
        const replaces = isNewServer(olds.connection, news.connection) ? ["connection"] : [];
        return { changes: replaces.length > 0 || JSON.stringify(olds.connection) !== JSON.stringify(news.connection), replaces };
    },
    async update(_id, _olds, news) {
        return { outs: news };
    },
};

export class PreviousLayoutCleanup extends pulumi.dynamic.Resource {
    constructor(name: string, args: { connection: pulumi.Input<SqlConnection> }, opts?: pulumi.CustomResourceOptions) {
        super(previousLayoutProvider, name, { connection: pulumi.output(args.connection) }, opts, "jaffle-shop-streaming", "PreviousLayoutCleanup");
    }
}
