import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { runProgram } from "./helpers/pulumiProgram";

/**
 * index.ts under Pulumi's mocks with raw_customers read from PostgreSQL by CDC: the PostgreSQL
 * container (local mode), the @pulumi/postgresql resources and their arguments, the order
 * tables -> publication -> Materialize connection -> source, and secrets kept secret.
 */
const container = "docker:index/container:Container";
const sqlObject = "pulumi-nodejs:dynamic/jaffle-shop-streaming:SqlObject";
const cdcSeeding = "pulumi-nodejs:dynamic/jaffle-shop-streaming:CdcSeeding";
const pg = {
    provider: "pulumi:providers:postgresql",
    database: "postgresql:index/database:Database",
    role: "postgresql:index/role:Role",
    grant: "postgresql:index/grant:Grant",
    publication: "postgresql:index/publication:Publication",
};
const isSecret = (value: unknown) => (value as Record<string, unknown>)?.[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
const unwrap = (value: any) => (isSecret(value) ? value.value : value);

describe("a local stack with raw_customers from PostgreSQL", async () => {
    const run = await runProgram({ stack: "dev", config: { portBase: "19092", cdcDatasets: "raw_customers" } });
    const replicationPassword = "generated-cdc-replication-password";
    const superuserPassword = "generated-postgres-superuser-password";

    it("runs the official postgres image, pinned, with wal_level=logical, on 127.0.0.1:portBase+5, a named volume and the stack's network", () => {
        const postgres = run.byName("postgres-container");
        expect(postgres.inputs.name).toBe("jaffle-dev-postgres");
        expect(run.byName("postgres-image").inputs.name).toMatch(/^postgres:\d+\.\d+/);
        expect(postgres.inputs.command.join(" ")).toContain("-c wal_level=logical");
        expect(postgres.inputs.ports).toEqual([{ internal: 5432, external: 19097, ip: "127.0.0.1" }]);
        expect(postgres.inputs.volumes).toEqual([{ volumeName: "jaffle-dev-postgres-data", containerPath: "/var/lib/postgresql/data" }]);
        expect(postgres.inputs.networksAdvanced).toEqual([{ name: "jaffle-dev-network" }]);
        expect(postgres.inputs.healthcheck.tests).toContain("pg_isready");
        expect(postgres.inputs.wait).toBe(true);
        expect(run.ofType(container).map(c => c.inputs.name).sort()).toEqual(["jaffle-dev-materialize", "jaffle-dev-postgres", "jaffle-dev-redpanda"]);
    });

    it("keeps the superuser's generated password secret in the container's environment", () => {
        const envs = run.byName("postgres-container").inputs.envs;
        expect(isSecret(envs)).toBe(true);
        expect(unwrap(envs)).toContain(`POSTGRES_PASSWORD=${superuserPassword}`);
    });

    it("manages the database, the replication role, the grants and the publication with @pulumi/postgresql", () => {
        const provider = run.ofType(pg.provider)[0];
        expect(provider.inputs).toMatchObject({ host: "127.0.0.1", port: "19097", username: "postgres", sslmode: "disable", database: "postgres" });
        expect(run.ofType(pg.database).map(d => d.inputs.name)).toEqual(["jaffle_shop"]);
        const role = run.byName("cdc-replication-role");
        expect(role.inputs).toMatchObject({ name: "jaffle_materialize", login: true, replication: true });
        expect(isSecret(role.inputs.password)).toBe(true);
        expect(unwrap(role.inputs.password)).toBe(replicationPassword);
        const grants = run.ofType(pg.grant).map(g => g.inputs);
        expect(grants).toEqual(expect.arrayContaining([
            expect.objectContaining({ database: "jaffle_shop", role: "jaffle_materialize", schema: "public", objectType: "schema", privileges: ["USAGE"] }),
            expect.objectContaining({ database: "jaffle_shop", role: "jaffle_materialize", schema: "public", objectType: "table", objects: ["raw_customers"], privileges: ["SELECT"] }),
        ]));
        expect(grants).toHaveLength(2);
        expect(run.byName("cdc-publication").inputs).toMatchObject({ name: "jaffle_cdc", database: "jaffle_shop", tables: ["public.raw_customers"] });
        for (const resource of [...run.ofType(pg.database), ...run.ofType(pg.role), ...run.ofType(pg.grant), ...run.ofType(pg.publication)]) {
            expect(resource.parent, resource.name).toBe("cdc");
        }
    });

    it("creates the typed table with a primary key and REPLICA IDENTITY FULL in the stack's PostgreSQL, and seeds it once", () => {
        const table = run.byName("cdc_table_raw_customers");
        expect(table.inputs.kind).toBe("table");
        expect(table.inputs.create).toBe(
            'CREATE TABLE "public"."raw_customers" ("id" bigint PRIMARY KEY, "first_name" text, "last_name" text);\n' +
                'ALTER TABLE "public"."raw_customers" REPLICA IDENTITY FULL',
        );
        expect(isSecret(table.inputs.connection)).toBe(true);
        expect(unwrap(table.inputs.connection)).toMatchObject({
            dialect: "postgres", host: "127.0.0.1", port: 19097, database: "jaffle_shop",
        });
        // The data lives in the named volume: a replaced container must not make the tables be dropped and recreated.
        expect(unwrap(table.inputs.connection).serverInstance).toBeUndefined();
        const seeding = run.ofType(cdcSeeding);
        expect(seeding).toHaveLength(1);
        expect(seeding[0].inputs.datasets).toEqual(["raw_customers"]);
        expect(run.createdAfter(seeding[0].name, run.byName("cdc_table_raw_customers").name)).toBe(true);
    });

    it("says each dataset's route once, in the output datasets: raw_customers its CDC table, the others their topics", () => {
        expect(run.outputs.datasets).toEqual({
            raw_customers: { cdcTable: { schema: "public", name: "raw_customers" } },
            raw_orders: { topic: "raw_orders" },
            raw_payments: { topic: "raw_payments" },
        });
        expect(run.byName("cdc-publication").inputs.tables).toEqual(["public.raw_customers"]);
    });

    it("gives a CDC dataset no Kafka topic, and seeds through Kafka only the others", () => {
        expect(run.ofType("kafka:index/topic:Topic").map(t => t.inputs.name).sort()).toEqual(["raw_orders", "raw_payments"]);
        const kafkaSeeding = run.ofType("pulumi-nodejs:dynamic/jaffle-shop-streaming:Seeding");
        expect(Object.keys(kafkaSeeding[0].inputs.topics).sort()).toEqual(["raw_orders", "raw_payments"]);
        expect(run.ofType("pulumi-nodejs:dynamic/jaffle-shop-streaming:SqlObject").map(o => `${o.inputs.kind}:${o.localName}`))
            .not.toContain("source:ingest.raw_customers_kafka");
    });

    it("orders creation: database -> table -> publication and grants -> Materialize connection -> source -> its table -> JSON view -> staging", () => {
        const after = (later: string, earlier: string) => run.createdAfter(run.byName(later).name, run.byName(earlier).name);
        expect(after("cdc_table_raw_customers", "postgres-container")).toBe(true);
        expect(after("cdc_table_raw_customers", "cdc-database")).toBe(true);
        expect(after("cdc-publication", "cdc_table_raw_customers")).toBe(true);
        expect(after("cdc-table-select", "cdc_table_raw_customers")).toBe(true);
        for (const earlier of ["cdc-publication", "cdc-schema-usage", "cdc-table-select", "ingest.postgres_password", "materialize-container"]) {
            expect(after("ingest.postgres_connection", earlier), earlier).toBe(true);
        }
        expect(after("ingest.postgres_cdc", "ingest.postgres_connection")).toBe(true);
        expect(after("ingest.raw_customers_cdc", "ingest.postgres_cdc")).toBe(true);
        expect(after("ingest.raw_customers", "ingest.raw_customers_cdc")).toBe(true);
        expect(after("stg_customers", "ingest.raw_customers")).toBe(true);
    });

    it("destroys in the reverse order: every table before its source, every source before its connection, the source schema last", () => {
        // The engine deletes a resource only after everything that depends on it.
        const objects = run.ofType(sqlObject);
        const named = (kind: string) => objects.filter(o => o.inputs.kind === kind);
        const dependsOn = (later: { name: string }, earlier: { name: string }) => run.createdAfter(later.name, earlier.name);
        const tables = named("table from source");
        expect(tables.map(t => t.localName).sort()).toEqual(["ingest.raw_customers_cdc", "ingest.raw_orders", "ingest.raw_payments"]);
        for (const table of tables) {
            const source = named("source").find(s => table.inputs.create.includes(`FROM SOURCE "ingest"."${s.inputs.name}"`))!;
            expect(source, table.localName).toBeDefined();
            expect(dependsOn(table, source), table.localName).toBe(true);
        }
        for (const source of named("source")) {
            const connection = named("connection").find(c => source.inputs.create.includes(`CONNECTION "ingest"."${c.inputs.name}"`))!;
            expect(dependsOn(source, connection), source.localName).toBe(true);
        }
        const schema = run.byName("ingest", sqlObject);
        for (const object of objects.filter(o => o.inputs.schema === "ingest" && o !== schema)) expect(dependsOn(object, schema), object.localName).toBe(true);
    });

    it("replaces the PostgreSQL source's tables and what reads them when the source is replaced (another PostgreSQL host), and nothing of Kafka", async () => {
        const moved = await runProgram({
            stack: "dev",
            config: { portBase: "19092", cdcDatasets: "raw_customers", postgresDatabase: "shop" },
        });
        const upstream = (r: typeof run, name: string) => r.byName(name, sqlObject).inputs.upstreamSql;
        expect(moved.byName("ingest.postgres_connection", sqlObject).inputs.create).not.toBe(run.byName("ingest.postgres_connection", sqlObject).inputs.create);
        for (const name of ["ingest.postgres_cdc", "ingest.raw_customers_cdc", "ingest.raw_customers", "stg_customers", "customers"]) {
            expect(upstream(moved, name), name).not.toBe(upstream(run, name));
        }
        for (const name of ["ingest.raw_orders_kafka", "ingest.raw_orders", "stg_orders"]) expect(upstream(moved, name), name).toBe(upstream(run, name));
    });

    it("gives Materialize a secret, a PostgreSQL connection by container name and a source for the publication", () => {
        const secret = run.byName("ingest.postgres_password");
        expect(secret.inputs.create).toBe('CREATE SECRET "ingest"."postgres_password" AS :secret');
        expect(isSecret(secret.inputs.secret)).toBe(true);
        expect(unwrap(secret.inputs.secret)).toBe(replicationPassword);
        expect(run.byName("ingest.postgres_connection").inputs.create).toBe(
            "CREATE CONNECTION \"ingest\".\"postgres_connection\" TO POSTGRES (HOST 'jaffle-dev-postgres', PORT 5432, USER 'jaffle_materialize', " +
                "PASSWORD SECRET \"ingest\".\"postgres_password\", DATABASE 'jaffle_shop', SSL MODE 'disable')",
        );
        expect(run.byName("ingest.postgres_cdc").inputs.create).toBe(
            "CREATE SOURCE \"ingest\".\"postgres_cdc\" IN CLUSTER \"quickstart\" FROM POSTGRES CONNECTION \"ingest\".\"postgres_connection\" " +
                "(PUBLICATION 'jaffle_cdc')",
        );
        expect(run.byName("ingest.raw_customers_cdc").inputs.create).toBe(
            "CREATE TABLE \"ingest\".\"raw_customers_cdc\" FROM SOURCE \"ingest\".\"postgres_cdc\" (REFERENCE \"public\".\"raw_customers\")",
        );
        const view = run.byName("ingest.raw_customers", sqlObject);
        expect(view.inputs.kind).toBe("view");
        // raw_orders and raw_payments still come from Kafka.
        const sources = run.ofType(sqlObject).filter(o => o.inputs.kind === "source").map(o => o.localName).sort();
        expect(sources).toEqual(["ingest.postgres_cdc", "ingest.raw_orders_kafka", "ingest.raw_payments_kafka"]);
        expect(run.byName("ingest.kafka_connection").inputs.create).toContain("BROKER 'jaffle-dev-redpanda:9092'");
    });

    it("exports the PostgreSQL URL without a password, and the superuser's password only as a secret", () => {
        const { postgresPassword, ...others } = run.outputs;
        expect(JSON.stringify(others)).not.toContain(replicationPassword);
        expect(JSON.stringify(others)).not.toContain(superuserPassword);
        expect(postgresPassword).toBe(superuserPassword);
        expect(run.secretOutputs).toEqual(["postgresPassword"]);
        expect(run.outputs.postgresUrl).toBe("postgres://postgres@127.0.0.1:19097/jaffle_shop?sslmode=disable");
    });
});

describe("an external stack with raw_customers from an existing PostgreSQL", async () => {
    const run = await runProgram({
        stack: "alice",
        config: {
            mode: "external",
            kafkaBootstrapServers: "broker-1.example.com:9092",
            materializeHost: "mz.example.com",
            materializePassword: "mzpass",
            cdcDatasets: "raw_customers",
            postgresHost: "db.example.com",
            postgresPort: "6432",
            postgresUser: "admin",
            postgresPassword: "pgadminpass",
            postgresDatabase: "shop",
            postgresSslMode: "verify-full",
            materializePostgresHost: "db.internal.example.com",
            materializePostgresPort: "5432",
        },
        secretKeys: ["materializePassword", "postgresPassword"],
    });

    it("declares no container and no database, and connects @pulumi/postgresql to the given server", () => {
        expect(run.resources.filter(r => r.type.startsWith("docker:"))).toEqual([]);
        expect(run.ofType(pg.database)).toEqual([]);
        const provider = run.ofType(pg.provider)[0];
        expect(provider.inputs).toMatchObject({ host: "db.example.com", port: "6432", username: "admin", sslmode: "verify-full", database: "shop" });
        expect(isSecret(provider.inputs.password)).toBe(true);
        expect(run.byName("cdc-publication").inputs).toMatchObject({ name: "jaffle_cdc", database: "shop", tables: ["public.raw_customers"] });
        expect(run.ofType(pg.role)).toHaveLength(1);
        expect(run.ofType(pg.grant)).toHaveLength(2);
        expect(unwrap(run.byName("cdc_table_raw_customers").inputs.connection)).toMatchObject({ host: "db.example.com", port: 6432, user: "admin", ssl: true });
    });

    it("gives Materialize the address it reaches PostgreSQL at, with the SSL mode", () => {
        expect(run.byName("ingest.postgres_connection").inputs.create).toBe(
            "CREATE CONNECTION \"ingest\".\"postgres_connection\" TO POSTGRES (HOST 'db.internal.example.com', PORT 5432, USER 'jaffle_materialize', " +
                "PASSWORD SECRET \"ingest\".\"postgres_password\", DATABASE 'shop', SSL MODE 'verify-full')",
        );
        for (const earlier of ["cdc-publication", "cdc-table-select"]) {
            expect(run.createdAfter(run.byName("ingest.postgres_connection").name, earlier), earlier).toBe(true);
        }
    });

    it("keeps the admin password out of the outputs", () => {
        expect(JSON.stringify(run.outputs)).not.toContain("pgadminpass");
        expect(run.outputs.postgresPassword).toBeUndefined();
        expect(run.outputs.postgresUrl).toBe("postgres://admin@db.example.com:6432/shop?sslmode=verify-full");
    });
});

describe("the Kafka-only default stack", () => {
    it("declares nothing of PostgreSQL", async () => {
        const run = await runProgram({ stack: "dev", config: { portBase: "19092" } });
        expect(run.resources.filter(r => r.type.includes("postgresql") || r.type.startsWith("random:"))).toEqual([]);
        expect(run.ofType(container)).toHaveLength(2);
        expect(run.ofType(cdcSeeding)).toEqual([]);
        expect(run.outputs.postgresUrl).toBeUndefined();
    });
});

describe("CDC config validation", () => {
    it.each([
        [{ cdcDatasets: "raw_custmers" }, /jaffle-shop-streaming:cdcDatasets: "raw_custmers" is not a dataset \(known: raw_customers, raw_orders, raw_payments\)/],
        [{ postgresImage: "postgres:17" }, /jaffle-shop-streaming:postgresImage: only applies when cdcDatasets is set/],
        [{ portBase: "65531", cdcDatasets: "raw_customers" }, /jaffle-shop-streaming:portBase: leaves no port for PostgreSQL/],
        [{ mode: "external", kafkaBootstrapServers: "a:1", cdcDatasets: "raw_orders" }, /postgresHost: required when cdcDatasets is set[\s\S]*postgresPassword: required/],
        [{ mode: "external", kafkaBootstrapServers: "a:1", cdcDatasets: "raw_orders", postgresHost: "h", postgresSslMode: "prefer" }, /postgresSslMode: "prefer" is not one of disable, require, verify-ca, verify-full/],
    ])("rejects %j", async (config, message) => {
        await expect(runProgram({ stack: "dev", config })).rejects.toThrow(message);
    });
});
