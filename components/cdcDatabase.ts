import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { cdcSchema, cdcTableObjects, publicationName, publicationTables, replicationRoleName } from "../lib/cdc";
import { PostgresServer } from "../lib/config";
import { SqlConnection } from "../lib/sqlObject";
import { RawDatasetName } from "../lib/datasets";
import { SqlObjectGraph } from "./sqlObjectGraph";

export interface CdcDatabaseArgs {
    /** The datasets whose tables are created, published and seeded. */
    datasets: RawDatasetName[];
    /** How this program reaches PostgreSQL, as a user that may create tables, roles and publications. */
    admin: PostgresServer;
    /** The database of the CDC tables. */
    database: string;
    /** Create that database (a PostgreSQL of the stack's own); else it must exist. */
    createDatabase: boolean;
    /** Seed the tables from this directory (relative to the project), already checked with checkSeeds, which gave this hash. */
    seeds?: { dir: string; hash: string };
}

interface CdcSeedingState {
    connection: { host: string; port: number; user: string; password: string; database: string; ssl: boolean };
    /** Relative to the project directory, which providers run in: the state names no machine's paths. */
    seedsDir: string;
    seedsHash: string;
    datasets: RawDatasetName[];
    inserted?: Record<string, number>;
    /** Earlier versions recorded the module's path on the machine that ran `up`. */
    seedModule?: string;
}

/**
 * Inserts the seed rows into the CDC tables once, in one transaction. Rows already there (by id)
 * are skipped, so an `up` after a changed seed file inserts only new rows, and rows changed or
 * deleted since (the CDC scenarios) are not put back by an unchanged one: nothing runs then.
 */
export const cdcSeedingProvider: pulumi.dynamic.ResourceProvider<CdcSeedingState, CdcSeedingState> = {
    async diff(_id, olds, news) {
        // Another server or database has none of the rows: seed it anew.
        const location = (c: CdcSeedingState["connection"]) => `${c.host}:${c.port}/${c.database}`;
        const replaces = location(olds.connection) !== location(news.connection) ? ["connection"] : [];
        const changes = replaces.length > 0 || seedsChanged(olds, news) || olds.seedModule !== undefined;
        return { changes, replaces };
    },
    async create(inputs) {
        return { id: `${inputs.connection.database}:${inputs.datasets.join(",")}`, outs: await runCdcSeed(inputs) };
    },
    async update(_id, olds, news) {
        // An earlier version's state is only rewritten: seeding again would put back rows deleted since.
        return { outs: seedsChanged(olds, news) ? await runCdcSeed(news) : { ...news, inserted: olds.inserted } };
    },
    async delete() {
        // The rows go away with their tables.
    },
};

function seedsChanged(olds: CdcSeedingState, news: CdcSeedingState): boolean {
    return olds.seedsHash !== news.seedsHash || JSON.stringify(olds.datasets) !== JSON.stringify(news.datasets);
}

async function runCdcSeed(state: CdcSeedingState): Promise<CdcSeedingState> {
    require("tsx/cjs/api").register();
    // From the project directory the provider runs in.
    const seed: typeof import("../producer/cdcSeed") = require(require("node:path").resolve("producer", "cdcSeed.ts"));
    const inserted = await seed.seedCdcDatabase({ connection: state.connection, seedsDir: state.seedsDir, datasets: state.datasets });
    return { ...state, inserted };
}

class CdcSeeding extends pulumi.dynamic.Resource {
    declare readonly inserted: pulumi.Output<Record<string, number>>;

    constructor(name: string, state: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
        super(cdcSeedingProvider, name, { ...state, inserted: undefined }, opts, "jaffle-shop-streaming", "CdcSeeding");
    }
}

/**
 * What Materialize's PostgreSQL source needs on the operational PostgreSQL, managed with
 * @pulumi/postgresql: the database (local mode), a replication role with a generated password,
 * the CDC tables (typed, primary key, REPLICA IDENTITY FULL), USAGE on their schema and SELECT on
 * them for that role, and a publication of exactly those tables; then the seed rows.
 */
export class CdcDatabase extends pulumi.ComponentResource {
    readonly provider: postgresql.Provider;
    readonly role: postgresql.Role;
    /** The replication role's password: a Pulumi secret, generated once and kept in the state. */
    readonly rolePassword: pulumi.Output<string>;
    readonly publication: postgresql.Publication;
    readonly grants: postgresql.Grant[];
    readonly tables: SqlObjectGraph;
    readonly publicationName = publicationName;
    readonly roleName = replicationRoleName;
    readonly schema = cdcSchema;
    readonly seeded?: pulumi.Output<Record<string, number>>;

    constructor(name: string, args: CdcDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jaffle-shop-streaming:index:CdcDatabase", name, {}, opts);
        const admin = args.admin;
        this.provider = new postgresql.Provider(`${name}-provider`, {
            host: admin.host,
            port: admin.port,
            username: admin.user,
            password: pulumi.secret(admin.password),
            sslmode: admin.sslMode,
            // The database is created through this provider, so it connects to the maintenance one.
            database: args.createDatabase ? "postgres" : args.database,
        }, { parent: this });
        const inDatabase = { parent: this, provider: this.provider };

        const database = args.createDatabase
            ? new postgresql.Database(`${name}-database`, { name: args.database }, inDatabase)
            : undefined;
        const databaseName = database ? database.name : pulumi.output(args.database);
        const afterDatabase = database ? [database] : [];

        const password = new random.RandomPassword(`${name}-replication-password`, { length: 32, special: false }, { parent: this });
        this.rolePassword = pulumi.secret(password.result);
        this.role = new postgresql.Role(`${name}-replication-role`, {
            name: replicationRoleName,
            login: true,
            replication: true,
            password: this.rolePassword,
        }, inDatabase);

        const connection: pulumi.Output<SqlConnection> = pulumi.secret(
            pulumi.all([admin.password, databaseName]).apply(([adminPassword, db]) => ({
                dialect: "postgres" as const,
                host: admin.host,
                port: admin.port,
                user: admin.user,
                password: adminPassword,
                database: db,
                ssl: admin.sslMode !== "disable",
                connectTimeoutSeconds: 60,
                // No serverInstance: unlike the Materialize emulator, PostgreSQL keeps its data in a named
                // volume, so a replaced container still has the tables and their rows.
            })),
        );
        this.tables = new SqlObjectGraph(`${name}-tables`, {
            connection,
            objects: cdcTableObjects(args.datasets),
        }, { parent: this, dependsOn: afterDatabase });
        const tables = Object.values(this.tables.objects);

        this.grants = [
            new postgresql.Grant(`${name}-schema-usage`, {
                database: databaseName,
                role: this.role.name,
                schema: cdcSchema,
                objectType: "schema",
                privileges: ["USAGE"],
            }, { ...inDatabase, dependsOn: afterDatabase }),
            new postgresql.Grant(`${name}-table-select`, {
                database: databaseName,
                role: this.role.name,
                schema: cdcSchema,
                objectType: "table",
                objects: [...args.datasets],
                privileges: ["SELECT"],
            }, { ...inDatabase, dependsOn: tables }),
        ];
        // Exactly the CDC tables, so nothing else of the database reaches Materialize.
        this.publication = new postgresql.Publication(`${name}-publication`, {
            name: publicationName,
            database: databaseName,
            tables: publicationTables(args.datasets),
        }, { ...inDatabase, dependsOn: tables });

        if (args.seeds) {
            const seeding = new CdcSeeding(`${name}-seeding`, {
                connection,
                seedsDir: args.seeds.dir,
                seedsHash: args.seeds.hash,
                datasets: args.datasets,
            }, { parent: this, dependsOn: tables, additionalSecretOutputs: ["connection"] });
            this.seeded = seeding.inserted;
        }

        this.registerOutputs({
            database: databaseName,
            role: this.role.name,
            publication: this.publication.name,
            seeded: this.seeded,
        });
    }
}
