import * as pulumi from "@pulumi/pulumi";
import { bindSecret, secretPlaceholder } from "./quote";
import {
    dropStatement,
    existsQuery,
    qualifiedSql,
    readDefinitionStatement,
    searchPathStatement,
    SqlDialect,
    SqlObjectKind,
} from "./sqlKinds";

export type { SqlDialect } from "./sqlKinds";

/**
 * A database object (Materialize or PostgreSQL) managed by a Pulumi dynamic provider that speaks
 * SQL through `pg`, with the statements of its kind (lib/sqlKinds.ts). Its state is the object's
 * kind, name and CREATE statement. Dynamic providers are serialized closures, so everything the
 * provider needs is required or defined inside its methods.
 *
 * Why an object is rebuilt (dropped, then created again, since its name can exist only once):
 * - its own `create`, `kind`, `schema`, `name` or `searchPath` changed;
 * - `upstreamSql`, a fingerprint of the SQL of everything it reads, changed: a view is rebuilt
 *   with the view it reads;
 * - `externalIdentity`, the identity of the data it reads from outside the database, changed: a
 *   source is rebuilt when its topic was deleted and created again (the topic's epoch);
 * - `connection.serverInstance` changed: a new server instance (a new emulator container) has an
 *   empty catalog;
 * - refresh found it changed by hand: `create` then starts with `changedByHandMarker`, so the next
 *   up sees a changed statement and puts the declared one back.
 *
 * An object with `deployedBy` is built by that resource (a blue/green deploy of the models,
 * lib/modelsDeployment.ts): its resource only records its statement, so the preview shows the
 * change per model, and never touches the database. Switching an object between the two ways is
 * an update, never a drop: the object stays where it is, and only who rebuilds it changes.
 */

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
    serverInstance?: string;
}

export interface SqlObjectArgs {
    connection: pulumi.Input<SqlConnection>;
    kind: pulumi.Input<SqlObjectKind>;
    schema: pulumi.Input<string>;
    name: pulumi.Input<string>;
    create: pulumi.Input<string>;
    searchPath?: pulumi.Input<string[]>;
    upstreamSql: pulumi.Input<string>;
    /** Empty when the object reads nothing from outside the database. */
    externalIdentity: pulumi.Input<string>;
    /** Value for a secret object, substituted for the placeholder at execution time only. */
    secret?: pulumi.Input<string>;
    /** The resource that builds this object instead (see above). */
    deployedBy?: pulumi.Input<string>;
}

interface SqlObjectState {
    connection: SqlConnection;
    kind: SqlObjectKind;
    schema: string;
    name: string;
    create: string;
    searchPath?: string[];
    upstreamSql: string;
    externalIdentity?: string;
    secret?: string;
    deployedBy?: string;
    /** The definition as the server reports it, for the kinds it reports (see readDefinitionStatement). */
    live?: string;
}

/** The state as earlier versions recorded it: the rebuild triggers under their old names. */
type EarlierState = Omit<SqlObjectState, "upstreamSql"> & {
    upstreamSql?: string;
    upstream?: string;
    identity?: string;
    connection: SqlConnection & { instance?: string };
};

function isEarlierVersion(state: EarlierState): boolean {
    return state.upstream !== undefined || state.identity !== undefined || state.connection.instance !== undefined;
}

function fromEarlierVersion(state: EarlierState): SqlObjectState {
    const { upstream, identity, connection, ...rest } = state;
    const { instance, ...connectionRest } = connection;
    return {
        ...rest,
        connection: instance === undefined ? connectionRest : { ...connectionRest, serverInstance: connectionRest.serverInstance ?? instance },
        upstreamSql: rest.upstreamSql ?? upstream ?? "",
        ...(rest.externalIdentity ?? identity) === undefined ? {} : { externalIdentity: rest.externalIdentity ?? identity },
    };
}

const sqlObjectProvider: pulumi.dynamic.ResourceProvider<SqlObjectState, SqlObjectState> = {
    async diff(_id, earlier, news) {
        const olds = fromEarlierVersion(earlier);
        const replaces: string[] = (["kind", "schema", "name", "create", "upstreamSql"] as const).filter(k => olds[k] !== news[k]);
        if (JSON.stringify(olds.searchPath ?? []) !== JSON.stringify(news.searchPath ?? [])) replaces.push("searchPath");
        if (isNewServer(olds.connection, news.connection)) replaces.push("connection");
        // In a preview the identity may not be known yet (the seeder runs first): show "may change",
        // not a replacement that the update may not make; the update itself sees the real value.
        const unknown = (require("@pulumi/pulumi") as typeof import("@pulumi/pulumi")).runtime.unknownValue;
        const identityUnknown = news.externalIdentity === unknown;
        if (!identityUnknown && (olds.externalIdentity ?? "") !== (news.externalIdentity ?? "")) replaces.push("externalIdentity");
        const changes =
            replaces.length > 0 ||
            identityUnknown ||
            olds.secret !== news.secret ||
            olds.deployedBy !== news.deployedBy ||
            JSON.stringify(olds.connection) !== JSON.stringify(news.connection) ||
            isEarlierVersion(earlier);
        const deployed = olds.deployedBy !== undefined || news.deployedBy !== undefined;
        return { changes, replaces: deployed ? [] : replaces, deleteBeforeReplace: true };
    },

    async create(inputs) {
        if (inputs.deployedBy !== undefined) return { id: qualifiedName(inputs), outs: inputs };
        const live = await withSql(inputs.connection, inputs.searchPath, async client => {
            await client.query(bindSecret(inputs.create, inputs.secret));
            return liveDefinition(client, inputs);
        });
        return { id: qualifiedName(inputs), outs: withLive(inputs, live) };
    },

    // The definition as the server keeps it is recorded at create; one that differs later was
    // changed by hand: refresh then shows `create` as it is live, and the next up puts the declared
    // statement back.
    async read(id, earlier) {
        if (!earlier) throw new Error(`no recorded state for ${id}; import is not supported`);
        const props = fromEarlierVersion(earlier);
        if (props.deployedBy !== undefined) return { id, props };
        return withSql(props.connection, props.searchPath, async client => {
            if (!(await exists(client, props))) return { id: "", props };
            const live = await liveDefinition(client, props);
            if (props.live === undefined || live === props.live) return { id, props: withLive(props, live) };
            return { id, props: withLive({ ...props, create: `${changedByHandMarker}\n${live}` }, live) };
        });
    },

    async update(_id, earlier, news) {
        const olds = fromEarlierVersion(earlier);
        if (news.deployedBy !== undefined) return { outs: withLive(news, undefined) };
        if (olds.deployedBy !== undefined) {
            // Built by a deploy until now: from here on, this resource keeps it (and builds it, were it missing).
            const live = await withSql(news.connection, news.searchPath, async client => {
                if (!(await exists(client, news))) await client.query(bindSecret(news.create, news.secret));
                return liveDefinition(client, news);
            });
            return { outs: withLive(news, live) };
        }
        if (news.kind === "secret" && olds.secret !== news.secret) {
            await withSql(news.connection, undefined, async client => {
                await client.query(bindSecret(alterSecretStatement(news), news.secret));
            });
        }
        return { outs: withLive(news, olds.live) };
    },

    async delete(_id, earlier) {
        const props = fromEarlierVersion(earlier);
        if (props.deployedBy !== undefined) return;
        await withSql(props.connection, undefined, async client => {
            await client.query(dropStatement(props));
        });
    },
};

function qualifiedName(object: { kind: SqlObjectKind; schema: string; name: string }): string {
    return object.kind === "schema" ? object.name : `${object.schema}.${object.name}`;
}

/** A secret's new value, the placeholder standing for it. */
export function alterSecretStatement(object: { kind: SqlObjectKind; schema: string; name: string }): string {
    return `ALTER SECRET ${qualifiedSql(object)} AS ${secretPlaceholder}`;
}

/** The state with the live definition, where there is one (a property can't be undefined in state). */
function withLive(state: SqlObjectState, live: string | undefined): SqlObjectState {
    const { live: _previous, ...rest } = state;
    return live === undefined ? rest : { ...rest, live };
}

/** What `create` becomes in the state when refresh finds the object changed by hand. */
const changedByHandMarker = "-- changed outside Pulumi; as it is now:";

async function liveDefinition(client: import("pg").Client, object: SqlObjectState): Promise<string | undefined> {
    const statement = readDefinitionStatement(object.connection.dialect, object);
    if (!statement) return undefined;
    const result = await client.query({ text: statement.text, values: statement.values, rowMode: "array" });
    const value = result.rows[0]?.[statement.column];
    return value === undefined || value === null ? undefined : String(value);
}

async function exists(client: import("pg").Client, object: SqlObjectState): Promise<boolean> {
    const query = existsQuery(object.connection.dialect, object);
    return ((await client.query(query.text, query.values)).rowCount ?? 0) > 0;
}

/**
 * Whether objects made through `olds` are not on the server `news` reaches: another address or
 * database, or a new instance there (a new emulator container, with an empty catalog).
 */
export function isNewServer(olds: SqlConnection, news: SqlConnection): boolean {
    const location = (c: SqlConnection) => `${c.dialect}://${c.host}:${c.port}/${c.database}`;
    return location(olds) !== location(news) || (olds.serverInstance !== undefined && olds.serverInstance !== news.serverInstance);
}

/** Connects, retrying while the server starts, runs `work` (after setting the search path, if given), and always disconnects. */
export async function withSql<T>(
    connection: SqlConnection,
    searchPath: string[] | undefined,
    work: (client: import("pg").Client) => Promise<T>,
): Promise<T> {
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
            if (searchPath) await client.query(searchPathStatement(searchPath));
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
    declare readonly upstreamSql: pulumi.Output<string>;
    declare readonly externalIdentity: pulumi.Output<string>;

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
