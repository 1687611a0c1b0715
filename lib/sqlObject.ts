import * as pulumi from "@pulumi/pulumi";
import { SqlObjectKind } from "./ddl";
import { bindSecret, quoteIdent, secretPlaceholder } from "./quote";

/**
 * A database object (Materialize or PostgreSQL) managed by a Pulumi dynamic provider that speaks
 * SQL through `pg`. Its state is the object's kind, name and CREATE statement; any change to the
 * statement, or to anything upstream of it, replaces it (dropped before re-created, since the
 * name can exist only once). Dynamic providers are serialized closures, so everything the
 * provider needs is required or defined inside its methods.
 */

export type SqlDialect = "materialize" | "postgres";

export interface SqlConnection {
    dialect: SqlDialect;
    host: string;
    port: number;
    user: string;
    password?: string;
    database: string;
    ssl: boolean;
    /** How long to keep retrying while the server starts. */
    connectTimeoutSeconds: number;
    /** The server instance (e.g. its container id): a new instance has an empty catalog. */
    instance?: string;
}

export interface SqlObjectArgs {
    connection: pulumi.Input<SqlConnection>;
    kind: pulumi.Input<SqlObjectKind>;
    schema: pulumi.Input<string>;
    name: pulumi.Input<string>;
    create: pulumi.Input<string>;
    /** Fingerprint of the SQL of everything upstream: when it changes, this object is rebuilt too. */
    upstream: pulumi.Input<string>;
    /**
     * Identity of what this object reads from outside the database, its own and its inputs' (e.g. a
     * topic's epoch): when it changes, this object is rebuilt. Empty when there is none.
     */
    identity: pulumi.Input<string>;
    /** Value for a secret object, substituted for the placeholder at execution time only. */
    secret?: pulumi.Input<string>;
}

interface SqlObjectState {
    connection: SqlConnection;
    kind: SqlObjectKind;
    schema: string;
    name: string;
    create: string;
    upstream: string;
    identity?: string;
    secret?: string;
    /** The definition as the server reports it, for the kinds it reports (see liveDefinition). */
    live?: string;
}

const sqlObjectProvider: pulumi.dynamic.ResourceProvider<SqlObjectState, SqlObjectState> = {
    async diff(_id, olds, news) {
        const replaces: string[] = (["kind", "schema", "name", "create", "upstream"] as const).filter(k => olds[k] !== news[k]);
        const location = (c: SqlConnection) => `${c.dialect}://${c.host}:${c.port}/${c.database}`;
        const newInstance = olds.connection.instance !== undefined && olds.connection.instance !== news.connection.instance;
        if (location(olds.connection) !== location(news.connection) || newInstance) replaces.push("connection");
        // In a preview the identity may not be known yet (the seeder runs first): show "may change",
        // not a replacement that the update may not make; the update itself sees the real value.
        const unknown = (require("@pulumi/pulumi") as typeof import("@pulumi/pulumi")).runtime.unknownValue;
        const identityUnknown = news.identity === unknown;
        if (!identityUnknown && (olds.identity ?? "") !== (news.identity ?? "")) replaces.push("identity");
        const changes =
            replaces.length > 0 ||
            identityUnknown ||
            olds.secret !== news.secret ||
            JSON.stringify(olds.connection) !== JSON.stringify(news.connection);
        return { changes, replaces, deleteBeforeReplace: true };
    },

    async create(inputs) {
        const live = await withSql(inputs.connection, async client => {
            await client.query(bindSecret(inputs.create, inputs.secret));
            return liveDefinition(client, inputs);
        });
        return { id: qualifiedName(inputs), outs: withLive(inputs, live) };
    },

    // The definition as the server keeps it is recorded at create; one that differs later was
    // changed by hand: refresh then shows `create` as it is live, and the next up puts the declared
    // statement back.
    async read(id, props) {
        if (!props) throw new Error(`no recorded state for ${id}; import is not supported`);
        return withSql(props.connection, async client => {
            if (!(await objectExists(client, props))) return { id: "", props };
            const live = await liveDefinition(client, props);
            if (props.live === undefined || live === props.live) return { id, props: withLive(props, live) };
            return { id, props: withLive({ ...props, create: `${driftMarker}\n${live}` }, live) };
        });
    },

    async update(_id, olds, news) {
        if (news.kind === "secret" && olds.secret !== news.secret) {
            await withSql(news.connection, async client => {
                await client.query(bindSecret(`ALTER SECRET ${quoteIdent(news.schema)}.${quoteIdent(news.name)} AS ${secretPlaceholder}`, news.secret));
            });
        }
        return { outs: withLive(news, olds.live) };
    },

    async delete(_id, props) {
        await withSql(props.connection, async client => {
            await client.query(dropSql(props));
        });
    },
};

function qualifiedName(object: { kind: SqlObjectKind; schema: string; name: string }): string {
    return object.kind === "schema" ? object.name : `${object.schema}.${object.name}`;
}

/** The state with the live definition, where there is one (a property can't be undefined in state). */
function withLive(state: SqlObjectState, live: string | undefined): SqlObjectState {
    const { live: _previous, ...rest } = state;
    return live === undefined ? rest : { ...rest, live };
}

/** What `create` becomes in the state when refresh finds the object changed by hand. */
const driftMarker = "-- changed outside Pulumi; as it is now:";

/**
 * The server's own rendering of a view's or materialized view's definition (PostgreSQL:
 * pg_get_viewdef; Materialize: SHOW CREATE, whose second column is the statement), for
 * sources, connections and indexes too on Materialize; undefined for the kinds neither reports.
 */
async function liveDefinition(
    client: import("pg").Client,
    object: { connection: SqlConnection; kind: SqlObjectKind; schema: string; name: string },
): Promise<string | undefined> {
    if (object.connection.dialect === "materialize") {
        if (!["view", "materialized view", "source", "connection", "index"].includes(object.kind)) return undefined;
        const result = await client.query({
            text: `SHOW CREATE ${object.kind.toUpperCase()} ${quoteIdent(object.schema)}.${quoteIdent(object.name)}`,
            rowMode: "array",
        });
        return String(result.rows[0]?.[1] ?? "");
    }
    if (object.kind !== "view" && object.kind !== "materialized view") return undefined;
    const result = await client.query(
        `select pg_get_viewdef(c.oid) as definition from pg_catalog.pg_class c
         join pg_catalog.pg_namespace n on c.relnamespace = n.oid where n.nspname = $1 and c.relname = $2`,
        [object.schema, object.name],
    );
    return result.rows[0]?.definition as string | undefined;
}

function dropSql(object: { kind: SqlObjectKind; schema: string; name: string }): string {
    const name = object.kind === "schema" ? quoteIdent(object.name) : `${quoteIdent(object.schema)}.${quoteIdent(object.name)}`;
    return `DROP ${object.kind.toUpperCase()} IF EXISTS ${name}`;
}

async function objectExists(
    client: import("pg").Client,
    object: { connection: SqlConnection; kind: SqlObjectKind; schema: string; name: string },
): Promise<boolean> {
    const materialize = object.connection.dialect === "materialize";
    const query =
        object.kind === "schema"
            ? materialize
                ? `select 1 from mz_catalog.mz_schemas s join mz_catalog.mz_databases d on s.database_id = d.id
                   where d.name = current_database() and s.name = $1 and $2::text is not null`
                : `select 1 from pg_catalog.pg_namespace where nspname = $1 and $2::text is not null`
            : materialize
              ? `select 1 from mz_catalog.mz_objects o join mz_catalog.mz_schemas s on o.schema_id = s.id
                 join mz_catalog.mz_databases d on s.database_id = d.id
                 where d.name = current_database() and s.name = $1 and o.name = $2`
              : `select 1 from pg_catalog.pg_class c join pg_catalog.pg_namespace n on c.relnamespace = n.oid
                 where n.nspname = $1 and c.relname = $2`;
    const result = await client.query(query, [object.schema, object.name]);
    return (result.rowCount ?? 0) > 0;
}

/** Connects, retrying while the server starts, runs `work`, and always disconnects. */
async function withSql<T>(connection: SqlConnection, work: (client: import("pg").Client) => Promise<T>): Promise<T> {
    const { Client } = require("pg") as typeof import("pg");
    const where = `${connection.dialect} at ${connection.host}:${connection.port}/${connection.database} as ${connection.user}`;
    const deadline = Date.now() + connection.connectTimeoutSeconds * 1000;
    for (let attempt = 1; ; attempt++) {
        const client = new Client({
            host: connection.host,
            port: connection.port,
            user: connection.user,
            password: connection.password,
            database: connection.database,
            ssl: connection.ssl ? { rejectUnauthorized: true } : undefined,
            connectionTimeoutMillis: 5_000,
        });
        try {
            await client.connect();
        } catch (err) {
            await client.end().catch(() => undefined);
            // Waiting helps a server that is starting, not one that answers no: a missing database
            // (3D000) or refused credentials (28000, 28P01) fail at once.
            const code = (err as { code?: string }).code;
            if (code === "3D000" || code === "28000" || code === "28P01") {
                throw new Error(`${where}: ${(err as Error).message}`);
            }
            if (Date.now() >= deadline) {
                throw new Error(
                    `could not connect to ${where} within ${connection.connectTimeoutSeconds}s ` +
                        `(${attempt} attempts): ${(err as Error).message}`,
                );
            }
            await new Promise(resolve => setTimeout(resolve, Math.min(500 * attempt, 3_000)));
            continue;
        }
        try {
            return await work(client);
        } catch (err) {
            throw new Error(`${where}: ${(err as Error).message}`);
        } finally {
            await client.end().catch(() => undefined);
        }
    }
}

export class SqlObject extends pulumi.dynamic.Resource {
    declare readonly kind: pulumi.Output<SqlObjectKind>;
    declare readonly schema: pulumi.Output<string>;
    declare readonly name: pulumi.Output<string>;
    declare readonly create: pulumi.Output<string>;

    constructor(name: string, args: SqlObjectArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            sqlObjectProvider,
            name,
            {
                ...args,
                connection: pulumi.output(args.connection),
                secret: args.secret === undefined ? undefined : pulumi.secret(args.secret),
            },
            { ...opts, additionalSecretOutputs: ["secret"] },
            "jaffle-shop-streaming",
            "SqlObject",
        );
    }
}
