import { quoteIdent } from "./quote";

/**
 * The kinds of SQL object the program manages, one row each: how each is named in SQL, where it
 * lives, and how its existence is checked, its definition read back and the object dropped. The
 * SQL-object provider and the goldens both take their statements from here, so the goldens hold
 * every statement the provider can send. Adding a kind is adding a row.
 */

export type SqlDialect = "materialize" | "postgres";

export type SqlObjectKind =
    | "schema"
    | "secret"
    | "connection"
    | "source"
    /** A plain table (PostgreSQL: the source-shaped tables of the tests, the CDC tables upstream). */
    | "table"
    /** Materialize's table fed by a source (CREATE TABLE ... FROM SOURCE): read-only, depends on its source. */
    | "table from source"
    | "view"
    | "materialized view"
    | "index";

interface SqlKind {
    /** What follows CREATE, DROP and SHOW CREATE. */
    keyword: string;
    /** In a schema of the database, or (a schema) in the database itself. */
    inSchema: boolean;
    /** The catalogs that list it, by dialect: where its existence is checked. */
    listedIn: "relations" | "schemas";
    /** The dialects whose server renders its definition back (see readDefinitionStatement). */
    readBackOn: readonly SqlDialect[];
}

export const sqlKinds: Readonly<Record<SqlObjectKind, SqlKind>> = {
    schema: { keyword: "SCHEMA", inSchema: false, listedIn: "schemas", readBackOn: [] },
    secret: { keyword: "SECRET", inSchema: true, listedIn: "relations", readBackOn: [] },
    connection: { keyword: "CONNECTION", inSchema: true, listedIn: "relations", readBackOn: ["materialize"] },
    source: { keyword: "SOURCE", inSchema: true, listedIn: "relations", readBackOn: ["materialize"] },
    table: { keyword: "TABLE", inSchema: true, listedIn: "relations", readBackOn: [] },
    "table from source": { keyword: "TABLE", inSchema: true, listedIn: "relations", readBackOn: ["materialize"] },
    view: { keyword: "VIEW", inSchema: true, listedIn: "relations", readBackOn: ["materialize", "postgres"] },
    "materialized view": { keyword: "MATERIALIZED VIEW", inSchema: true, listedIn: "relations", readBackOn: ["materialize", "postgres"] },
    index: { keyword: "INDEX", inSchema: true, listedIn: "relations", readBackOn: ["materialize"] },
};

export interface NamedSqlObject {
    kind: SqlObjectKind;
    schema: string;
    name: string;
}

/** A parameterized query: `$1` the schema, `$2` the name. */
export interface CatalogQuery {
    text: string;
    values: unknown[];
}

/** The name as SQL writes it: schema-qualified, except a schema's own. */
export function qualifiedSql(object: NamedSqlObject): string {
    return sqlKinds[object.kind].inSchema ? `${quoteIdent(object.schema)}.${quoteIdent(object.name)}` : quoteIdent(object.name);
}

const existenceQueries: Record<SqlDialect, Record<SqlKind["listedIn"], string>> = {
    materialize: {
        schemas:
            "select 1 from mz_catalog.mz_schemas s join mz_catalog.mz_databases d on s.database_id = d.id" +
            " where d.name = current_database() and s.name = $1 and $2::text is not null",
        relations:
            "select 1 from mz_catalog.mz_objects o join mz_catalog.mz_schemas s on o.schema_id = s.id" +
            " join mz_catalog.mz_databases d on s.database_id = d.id" +
            " where d.name = current_database() and s.name = $1 and o.name = $2",
    },
    postgres: {
        schemas: "select 1 from pg_catalog.pg_namespace where nspname = $1 and $2::text is not null",
        relations:
            "select 1 from pg_catalog.pg_class c join pg_catalog.pg_namespace n on c.relnamespace = n.oid" +
            " where n.nspname = $1 and c.relname = $2",
    },
};

/** Returns a row when the object exists. */
export function existsQuery(dialect: SqlDialect, object: NamedSqlObject): CatalogQuery {
    return { text: existenceQueries[dialect][sqlKinds[object.kind].listedIn], values: [object.schema, object.name] };
}

/**
 * The server's own rendering of the definition, in the first row's `column`: Materialize's SHOW
 * CREATE (second column), PostgreSQL's pg_get_viewdef; undefined for kinds the server can't render.
 */
export function readDefinitionStatement(dialect: SqlDialect, object: NamedSqlObject): (CatalogQuery & { column: number }) | undefined {
    if (!sqlKinds[object.kind].readBackOn.includes(dialect)) return undefined;
    if (dialect === "materialize") return { text: `SHOW CREATE ${sqlKinds[object.kind].keyword} ${qualifiedSql(object)}`, values: [], column: 1 };
    return {
        text:
            "select pg_get_viewdef(c.oid) from pg_catalog.pg_class c join pg_catalog.pg_namespace n on c.relnamespace = n.oid" +
            " where n.nspname = $1 and c.relname = $2",
        values: [object.schema, object.name],
        column: 0,
    };
}

/**
 * Never CASCADE: whatever depends on the object is a resource of its own, dropped first by the
 * engine, so a drop that would take something else along fails and says what.
 */
export function dropStatement(object: NamedSqlObject): string {
    return `DROP ${sqlKinds[object.kind].keyword} IF EXISTS ${qualifiedSql(object)}`;
}

/** Sets where unqualified names resolve for the statements after it (the models read sources by bare name). */
export function searchPathStatement(schemas: readonly string[]): string {
    return `SET search_path TO ${schemas.map(quoteIdent).join(", ")}`;
}
