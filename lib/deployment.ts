import { modelObjects, modelSearchPath } from "./ddl";
import { quoteIdent, quoteLiteral } from "./quote";
import { CatalogQuery, dropStatement, searchPathStatement, SqlDialect, SqlObjectKind } from "./sqlKinds";
import { SqlProject } from "./sqlProject";

/**
 * The statements of a blue/green deploy of the models: build every model in staging schemas,
 * wait until they are ready, swap the staging schemas with the production ones in one
 * transaction, drop what was swapped out. Readers of the production names see the old models,
 * then the new ones, never a missing relation. The provider (lib/modelsDeployment.ts) and
 * the goldens both take their statements from here.
 */

export const stagingSuffix = "__deploy";

export function stagingSchema(schema: string): string {
    return `${schema}${stagingSuffix}`;
}

/** An object of the models as a deploy builds it: its production name, and the statement that builds it in staging. */
export interface DeployedObject {
    /** The object's key in the project (its production name, schema-qualified outside public). */
    key: string;
    kind: SqlObjectKind;
    schema: string;
    name: string;
    create: string;
}

export interface ModelsDeploymentPlan {
    /** The production schemas swapped together: every schema that holds models or failure views. */
    swapSchemas: string[];
    /** Where bare names resolve while building: the source schema, then the staging schema of public. */
    searchPath: string[];
    /** In creation order. */
    objects: DeployedObject[];
    /** What an update does, in words, for the preview. */
    plan: string;
}

/** The project's models, failure views and indexes, built in staging schemas to be swapped in. */
export function modelsDeploymentPlan(project: SqlProject, options: { sourceSchema: string; cluster?: string }): ModelsDeploymentPlan {
    const built = modelObjects(project, { ...options, buildSchema: stagingSchema });
    const production = (schema: string) => schema.slice(0, -stagingSuffix.length);
    const objects = built.filter(object => object.kind !== "schema")
        .map(({ key, kind, schema, name, create }) => ({ key, kind, schema: production(schema), name, create }));
    const swapSchemas = [...new Set(["public", ...objects.map(object => object.schema)])];
    return {
        swapSchemas,
        searchPath: modelSearchPath(options.sourceSchema, stagingSchema("public")),
        objects,
        // Named by the objects' fingerprint, so that every change of a model changes the plan too and
        // `pulumi preview --diff` shows it beside the SQL.
        plan: `blue/green deploy ${fingerprint(objects)}: ${objects.length} objects built in ${swapSchemas.map(stagingSchema).join(", ")}, ` +
            `then ${swapSchemas.length} schemas swapped`,
    };
}

/** A short hash of the objects' statements: names a deploy. */
export function fingerprint(objects: readonly DeployedObject[]): string {
    // Required here, not imported: the deploy's provider is serialized with this function.
    const { createHash } = require("node:crypto") as typeof import("node:crypto");
    return createHash("sha256").update(JSON.stringify(objects)).digest("hex").slice(0, 12);
}

/** The comment on a staging schema: whose deploy made it. */
export function deployTag(stack: string, objects: readonly DeployedObject[]): string {
    return `jaffle-shop-streaming ${stack} deploy ${fingerprint(objects)}`;
}

/** Rows (schema, name) of every object in these schemas: whatever is not ours is refused by name. */
export function objectsInSchemas(dialect: SqlDialect, schemas: readonly string[]): CatalogQuery {
    return {
        text: dialect === "materialize"
            ? "select s.name as schema, o.name as name from mz_catalog.mz_objects o join mz_catalog.mz_schemas s on o.schema_id = s.id" +
              " join mz_catalog.mz_databases d on s.database_id = d.id where d.name = current_database() and s.name = any($1)"
            : "select n.nspname as schema, c.relname as name from pg_catalog.pg_class c join pg_catalog.pg_namespace n on c.relnamespace = n.oid" +
              " where n.nspname = any($1) and c.relkind in ('r', 'v', 'm', 'i', 'S', 'f', 'p')",
        values: [schemas],
    };
}

/** A staging schema, tagged: COMMENT runs on its own (Materialize allows no DDL besides it in a transaction). */
export function createStagingStatements(schema: string, tag: string): string[] {
    return [`CREATE SCHEMA ${quoteIdent(stagingSchema(schema))}`, `COMMENT ON SCHEMA ${quoteIdent(stagingSchema(schema))} IS ${quoteLiteral(tag)}`];
}

/** A production schema the swap needs (the failure schema on a first deploy). */
export function createProductionStatement(schema: string): string {
    return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`;
}

/**
 * The swap, one transaction: Materialize's ALTER SCHEMA ... SWAP WITH; PostgreSQL has no SWAP, so
 * three renames per schema.
 */
export function swapStatements(dialect: SqlDialect, schemas: readonly string[]): string[] {
    const swaps = schemas.flatMap(schema => {
        const [production, staging] = [quoteIdent(schema), quoteIdent(stagingSchema(schema))];
        if (dialect === "materialize") return [`ALTER SCHEMA ${production} SWAP WITH ${staging}`];
        const parked = quoteIdent(`${schema}__swapping`);
        return [
            `ALTER SCHEMA ${production} RENAME TO ${parked}`,
            `ALTER SCHEMA ${staging} RENAME TO ${production}`,
            `ALTER SCHEMA ${parked} RENAME TO ${staging}`,
        ];
    });
    return ["BEGIN", ...swaps, "COMMIT"];
}

/** Drops a staging schema and everything in it: only ever a schema the deploy made and checked. */
export function dropStagingStatement(schema: string): string {
    return `DROP SCHEMA IF EXISTS ${quoteIdent(stagingSchema(schema))} CASCADE`;
}

/**
 * Rows (name, why) of the materialized views and indexes in the staging schemas not ready yet: not
 * hydrated on every replica, or lagging more than $2 behind the wall clock (what dbt-materialize's
 * deploy_await checks). PostgreSQL's views are ready once created: no query.
 */
export function pendingObjectsQuery(dialect: SqlDialect, stagingSchemas: readonly string[], maxLagSeconds: number): CatalogQuery | undefined {
    if (dialect !== "materialize") return undefined;
    return {
        text:
            "select o.name as name, case when h.hydrated is not true then 'hydrating' else 'lagging ' || coalesce(l.lag::text, '(unknown)') end as why" +
            " from mz_catalog.mz_objects o join mz_catalog.mz_schemas s on o.schema_id = s.id" +
            " join mz_catalog.mz_databases d on s.database_id = d.id" +
            " left join mz_internal.mz_hydration_statuses h on h.object_id = o.id" +
            " left join mz_internal.mz_wallclock_global_lag l on l.object_id = o.id" +
            " where d.name = current_database() and s.name = any($1) and o.type in ('materialized-view', 'index')" +
            " and (h.hydrated is not true or l.lag is null or extract(epoch from l.lag) > $2::float8)",
        values: [stagingSchemas, maxLagSeconds],
    };
}

/**
 * Rows (problem) when the cluster can't get ready however long one waits: no replica, or every
 * replica OOM-killed three times in the last day.
 */
export function clusterProblemsQuery(dialect: SqlDialect, cluster: string): CatalogQuery | undefined {
    if (dialect !== "materialize") return undefined;
    return {
        text:
            "with replicas as (select r.id from mz_catalog.mz_cluster_replicas r join mz_catalog.mz_clusters c on r.cluster_id = c.id where c.name = $1)," +
            " oom as (select replica_id from mz_internal.mz_cluster_replica_status_history" +
            " where reason = 'oom-killed' and occurred_at + interval '24 hours' > mz_now() group by replica_id having count(*) >= 3)" +
            " select 'cluster ' || $1 || ' has no replica' as problem where not exists (select 1 from replicas)" +
            " union all select 'every replica of cluster ' || $1 || ' was killed for memory 3 times in the last day'" +
            " where exists (select 1 from replicas) and not exists (select 1 from replicas where id not in (select replica_id from oom))",
        values: [cluster],
    };
}

/** Every statement of a deploy and of a destroy, in the order the provider sends them. */
export interface DeployStatements {
    /** Objects in the production and staging schemas: anything not ours stops the deploy before any change. */
    objects: CatalogQuery;
    /** Drops the staging schemas: leftovers before the build, the swapped-out models after the swap. */
    dropStaging: string[];
    /** Staging schemas (each production one made to exist first), the search path, every object. */
    build: string[];
    /** Polled until ready: what can't get ready at all, then what is not ready yet. */
    clusterProblems?: CatalogQuery;
    pending?: CatalogQuery;
    swap: string[];
    /** A destroy: staging leftovers checked and dropped, then every object in reverse, then the schemas the models own. */
    destroy: string[];
}

export function deployStatements(
    dialect: SqlDialect,
    deploy: { stack: string; swapSchemas: readonly string[]; searchPath: readonly string[]; objects: readonly DeployedObject[]; cluster?: string; maxLagSeconds: number },
): DeployStatements {
    const staging = deploy.swapSchemas.map(stagingSchema);
    const tag = deployTag(deploy.stack, deploy.objects);
    const dropStaging = deploy.swapSchemas.map(dropStagingStatement);
    return {
        objects: objectsInSchemas(dialect, [...deploy.swapSchemas, ...staging]),
        dropStaging,
        build: [
            ...deploy.swapSchemas.flatMap(schema => [createProductionStatement(schema), ...createStagingStatements(schema, tag)]),
            searchPathStatement(deploy.searchPath),
            ...deploy.objects.map(object => object.create),
        ],
        clusterProblems: deploy.cluster === undefined ? undefined : clusterProblemsQuery(dialect, deploy.cluster),
        pending: pendingObjectsQuery(dialect, staging, deploy.maxLagSeconds),
        swap: swapStatements(dialect, deploy.swapSchemas),
        destroy: [
            ...dropStaging,
            ...[...deploy.objects].reverse().map(dropStatement),
            ...deploy.swapSchemas.filter(schema => schema !== "public").map(schema => dropStatement({ kind: "schema", schema, name: schema })),
        ],
    };
}
