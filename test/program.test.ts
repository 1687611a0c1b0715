import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { derivedPortBase } from "../lib/config";
import { runProgram } from "./helpers/pulumiProgram";

const container = "docker:index/container:Container";
const sqlObject = "pulumi-nodejs:dynamic/jaffle-shop-streaming:SqlObject";
const seeding = "pulumi-nodejs:dynamic/jaffle-shop-streaming:Seeding";

describe("the dev stack (local Docker)", async () => {
    const run = await runProgram({ stack: "dev", config: { portBase: "19092" } });

    it("declares Redpanda, Materialize, three topics, the SQL objects and the seeder", () => {
        const count = (type: string) => run.ofType(type).length;
        expect(count("docker:index/network:Network")).toBe(1);
        expect(count("docker:index/volume:Volume")).toBe(1);
        expect(count("docker:index/remoteImage:RemoteImage")).toBe(2);
        expect(count(container)).toBe(2);
        expect(count("pulumi:providers:kafka")).toBe(1);
        expect(run.ofType("kafka:index/topic:Topic").map(t => t.inputs.name).sort()).toEqual([
            "raw_customers", "raw_orders", "raw_payments",
        ]);
        expect(count(seeding)).toBe(1);
        const objects = run.ofType(sqlObject).map(o => `${o.inputs.kind}:${o.localName}`);
        expect(objects).toContain("schema:ingest");
        expect(objects).toContain("connection:ingest.kafka_connection");
        expect(objects).toContain("source:ingest.raw_orders_kafka");
        expect(objects).toContain("table from source:ingest.raw_orders");
        expect(objects).toContain("view:stg_orders");
        expect(objects).toContain("materialized view:customers");
        expect(objects).toContain("index:orders_order_id_idx");
        expect(objects).toContain("schema:public_etl_failure");
        expect(objects).toContain("materialized view:public_etl_failure.unique_stg_orders_order_id");
        expect(objects).toContain("materialized view:public_etl_failure.unique_orders_order_id");
    });

    it("names every Docker object after the stack", () => {
        const dockerNames = run.resources.filter(r => r.type.startsWith("docker:") && r.type !== "docker:index/remoteImage:RemoteImage")
            .map(r => r.inputs.name);
        expect(dockerNames.sort()).toEqual([
            "jaffle-dev-materialize", "jaffle-dev-network", "jaffle-dev-redpanda", "jaffle-dev-redpanda-data",
        ]);
    });

    it("binds every published port to 127.0.0.1, on the ports from portBase", () => {
        const ports = run.ofType(container).flatMap(c => c.inputs.ports);
        expect(ports.map((p: any) => p.ip)).toEqual(ports.map(() => "127.0.0.1"));
        expect(ports.map((p: any) => p.external).sort()).toEqual([19092, 19093, 19094, 19096]);
        expect(run.outputs.materializeConsoleUrl).toBe("http://127.0.0.1:19096");
        expect(run.outputs.kafkaBootstrapServers).toBe("127.0.0.1:19092");
        expect(run.outputs.psqlUrl).toBe("postgres://materialize@127.0.0.1:19093/materialize");
    });

    it("advertises the external listener on the host port and the internal one by container name", () => {
        const redpanda = run.byName("redpanda-container");
        const args: string[] = redpanda.inputs.command;
        expect(args[args.indexOf("--advertise-kafka-addr") + 1]).toBe(
            "internal://jaffle-dev-redpanda:9092,external://127.0.0.1:19092",
        );
        const connection = run.byName("ingest.kafka_connection");
        expect(connection.inputs.create).toContain("BROKER 'jaffle-dev-redpanda:9092'");
        expect(connection.inputs.create).toContain("SECURITY PROTOCOL = 'PLAINTEXT'");
    });

    it("gives both containers a healthcheck and waits for it", () => {
        for (const name of ["redpanda-container", "materialize-container"]) {
            const c = run.byName(name);
            expect(c.inputs.healthcheck.tests.length, name).toBeGreaterThan(1);
            expect(c.inputs.wait, name).toBe(true);
        }
        expect(run.byName("materialize-container").inputs.healthcheck.tests.join(" ")).toContain("/api/readyz");
        expect(run.byName("materialize-container").inputs.envs).toContain("MZ_NO_TELEMETRY=1");
    });

    it("talks plaintext Kafka to Redpanda, never on the provider's defaults (TLS on, a protocol newer than Redpanda's)", () => {
        const provider = run.ofType("pulumi:providers:kafka")[0];
        // Provider inputs reach the engine as strings.
        expect(provider.inputs.tlsEnabled).toBe("false");
        expect(provider.inputs.kafkaVersion).toMatch(/^\d+\.\d+\.\d+$/);
    });

    it("orders creation: topics after the broker, seeding after the topics, sources after connection and topics, views after inputs", () => {
        const topics = run.ofType("kafka:index/topic:Topic").map(t => t.name);
        for (const topic of [...topics, "topics-provider"]) expect(run.createdAfter(topic, "redpanda-container"), topic).toBe(true);
        for (const topic of topics) expect(run.createdAfter("seed-seeding", topic), topic).toBe(true);
        const source = run.byName("ingest.raw_orders_kafka", sqlObject).name;
        // (After the seeding too, through its topic's epoch: a data dependency, which mocks don't show; see below.)
        for (const earlier of ["materialize-container", run.byName("ingest.kafka_connection").name, ...topics]) {
            expect(run.createdAfter(source, earlier), earlier).toBe(true);
        }
        const after = (later: string, earlier: string) =>
            run.createdAfter(run.byName(later, sqlObject).name, run.byName(earlier, sqlObject).name);
        expect(after("ingest.raw_orders", "ingest.raw_orders_kafka")).toBe(true);
        expect(after("stg_orders", "ingest.raw_orders")).toBe(true);
        expect(after("orders", "stg_orders") && after("orders", "stg_payments")).toBe(true);
        expect(after("public_etl_failure.unique_orders_order_id", "orders")).toBe(true);
        expect(after("public_etl_failure.unique_orders_order_id", "public_etl_failure")).toBe(true);
        expect(after("orders_order_id_idx", "orders")).toBe(true);
        // And nothing waits for what it does not need: the broker does not wait for Materialize.
        expect(run.createdAfter("redpanda-container", "materialize-container")).toBe(false);
        expect(after("stg_customers", "stg_orders")).toBe(false);
    });

    it("clears the earlier layout's PostgreSQL subsources after every SQL object of the update, before the engine deletes removed resources", () => {
        const cleanup = run.byName("models-previous-layout");
        for (const object of run.ofType(sqlObject)) expect(run.createdAfter(cleanup.name, object.name), object.name).toBe(true);
        expect(cleanup.inputs.connection.serverInstance).toBe("materialize-container-id");
    });

    it("names every child after its component, so no two resources share a name", () => {
        expect(run.misnamedChildren()).toEqual([]);
        const names = run.resources.map(r => r.name);
        expect(new Set(names).size).toBe(names.length);
    });

    it("builds every SQL object in the Materialize container it runs in: a new container is a new, empty catalog", () => {
        for (const object of run.ofType(sqlObject)) {
            expect(object.inputs.connection.serverInstance, object.name).toBe("materialize-container-id");
        }
    });

    it("gives each source its topic's seeding epoch, and everything downstream the epochs it reads", () => {
        const identity = (name: string) => run.byName(name, sqlObject).inputs.externalIdentity;
        expect(identity("ingest.raw_orders_kafka")).not.toBe("");
        expect(new Set(["raw_customers", "raw_orders", "raw_payments"].map(d => identity(`ingest.${d}_kafka`))).size).toBe(3);
        expect(identity("ingest.raw_orders")).not.toBe("");
        expect(identity("stg_orders")).not.toBe(identity("ingest.raw_orders"));
        expect(identity("orders")).not.toBe("");
        // Objects that read no topic have no identity to change.
        expect(identity("ingest.kafka_connection")).toBe("");
        expect(identity("public_etl_failure")).toBe("");
    });

    it("exports what users need", () => {
        expect(run.outputs.datasets).toEqual({
            raw_customers: { topic: "raw_customers" }, raw_orders: { topic: "raw_orders" }, raw_payments: { topic: "raw_payments" },
        });
        expect(run.outputs.views).toEqual(expect.arrayContaining(["stg_customers", "stg_orders", "stg_payments", "customers", "orders"]));
        expect(run.outputs.failureViews).toContain("public_etl_failure.unique_stg_orders_order_id");
        // Derived from the project: the failure view of its first unique test.
        expect(run.outputs.exampleQuery).toBe("select * from public_etl_failure.unique_stg_customers_customer_id;");
        expect(run.outputs.consoleUrl).toBeUndefined();
    });
});

describe("sourceSchema", () => {
    it("puts the connection, sources and their tables in the schema given, and the models read it by bare name", async () => {
        const run = await runProgram({ stack: "dev", config: { portBase: "19092", sourceSchema: "landing" } });
        const objects = run.ofType(sqlObject);
        expect(objects.filter(o => ["connection", "source", "table from source"].includes(o.inputs.kind)).map(o => o.inputs.schema))
            .toEqual(expect.arrayContaining(["landing"]));
        expect(objects.filter(o => o.inputs.schema === "ingest")).toEqual([]);
        expect(run.byName("landing.raw_orders", sqlObject).inputs.create).toBe(
            'CREATE TABLE "landing"."raw_orders" FROM SOURCE "landing"."raw_orders_kafka" FORMAT JSON ENVELOPE NONE');
        expect(run.byName("stg_orders", sqlObject).inputs.searchPath).toEqual(["landing", "public"]);
        expect(run.byName("stg_orders", sqlObject).inputs.create).toContain("from raw_orders");
    });
});

describe("model changes", () => {
    const deployment = "pulumi-nodejs:dynamic/jaffle-shop-streaming:ModelsDeployment";

    it("go by blue/green deploys by default: the deployment holds every model's SQL built in staging, each model's resource only records it", async () => {
        const run = await runProgram({ stack: "dev", config: { portBase: "19092" } });
        const deploy = run.byName("models-deployment", deployment);
        expect(deploy.inputs.mode).toBe("blueGreen");
        expect(deploy.inputs.swapSchemas).toEqual(["public", "public_etl_failure"]);
        expect(deploy.inputs.searchPath).toEqual(["ingest", "public__deploy"]);
        const orders = deploy.inputs.objects.find((o: { key: string }) => o.key === "orders");
        expect(orders.create).toMatch(/^CREATE MATERIALIZED VIEW "public__deploy"\."orders" IN CLUSTER "quickstart" AS\n/);
        expect(deploy.inputs.objects.map((o: { key: string }) => o.key)).toContain("public_etl_failure.unique_orders_order_id");
        expect(deploy.inputs.plan).toMatch(/^blue\/green deploy [0-9a-f]{12}: \d+ objects built in public__deploy, public_etl_failure__deploy, then 2 schemas swapped$/);
        expect(deploy.inputs.readiness).toEqual({ timeoutSeconds: 600, maxLagSeconds: 1, pollMs: 2000 });
        for (const model of ["stg_orders", "orders", "orders_order_id_idx", "public_etl_failure", "public_etl_failure.unique_orders_order_id"]) {
            expect(run.byName(model, sqlObject).inputs.deployedBy, model).toBe("models-deployment");
        }
        for (const source of ["ingest.raw_orders", "ingest.raw_orders_kafka", "ingest.kafka_connection"]) {
            expect(run.byName(source, sqlObject).inputs.deployedBy, source).toBeUndefined();
        }
        // After the source side it reads; the earlier layout's cleanup after it.
        expect(run.createdAfter(deploy.name, run.byName("ingest.raw_orders", sqlObject).name)).toBe(true);
        expect(run.createdAfter(run.byName("models-previous-layout").name, deploy.name)).toBe(true);
    });

    it("go by dropping and creating again with modelChanges: replace: each model's resource builds it, the deployment stays idle", async () => {
        const run = await runProgram({ stack: "dev", config: { portBase: "19092", modelChanges: "replace", deployTimeoutSeconds: "30" } });
        expect(run.byName("models-deployment", deployment).inputs).toMatchObject({ mode: "replace", readiness: { timeoutSeconds: 30 } });
        expect(run.byName("orders", sqlObject).inputs.deployedBy).toBeUndefined();
    });
});

describe("per-developer stacks", () => {
    it("give alice and bob their own Docker names and ports", async () => {
        const alice = await runProgram({ stack: "alice" });
        const aliceNames = alice.ofType(container).map(c => c.inputs.name);
        const alicePorts = alice.ofType(container).flatMap(c => c.inputs.ports.map((p: any) => p.external));
        const bob = await runProgram({ stack: "bob" });
        const bobNames = bob.ofType(container).map(c => c.inputs.name);
        const bobPorts = bob.ofType(container).flatMap(c => c.inputs.ports.map((p: any) => p.external));
        expect(aliceNames.sort()).toEqual(["jaffle-alice-materialize", "jaffle-alice-redpanda"]);
        expect(bobNames.sort()).toEqual(["jaffle-bob-materialize", "jaffle-bob-redpanda"]);
        expect(alicePorts.filter(p => bobPorts.includes(p))).toEqual([]);
        expect(alicePorts).toContain(derivedPortBase("alice"));
    });
});

describe("the console flag", () => {
    it("adds Redpanda Console on its own port and exports its URL", async () => {
        const run = await runProgram({ stack: "dev", config: { portBase: "19092", console: "true" } });
        const console = run.byName("redpanda-console");
        expect(console.inputs.name).toBe("jaffle-dev-console");
        expect(console.inputs.ports).toEqual([{ internal: 8080, external: 19095, ip: "127.0.0.1" }]);
        expect(console.inputs.envs).toContain("KAFKA_BROKERS=jaffle-dev-redpanda:9092");
        expect(run.outputs.consoleUrl).toBe("http://127.0.0.1:19095");
    });
});

describe("external mode", () => {
    it("declares no containers, prefixes topics with the stack, and uses SASL over TLS", async () => {
        const run = await runProgram({
            stack: "alice",
            config: {
                mode: "external",
                kafkaBootstrapServers: "broker-1.example.com:9092,broker-2.example.com:9092",
                kafkaTls: "true",
                kafkaSaslMechanism: "scram-sha-256",
                kafkaSaslUsername: "jaffle",
                kafkaSaslPassword: "hunter2",
                materializeHost: "mz.example.com",
                materializePassword: "mzpass",
                materializeSsl: "true",
            },
            secretKeys: ["kafkaSaslPassword", "materializePassword"],
        });
        expect(run.resources.filter(r => r.type.startsWith("docker:"))).toEqual([]);
        expect(run.ofType("kafka:index/topic:Topic").map(t => t.inputs.name).sort()).toEqual([
            "alice.raw_customers", "alice.raw_orders", "alice.raw_payments",
        ]);
        const provider = run.ofType("pulumi:providers:kafka")[0];
        expect(provider.inputs.tlsEnabled).toBe("true");
        expect(provider.inputs.saslMechanism).toBe("scram-sha-256");
        const connection = run.byName("ingest.kafka_connection");
        expect(connection.inputs.create).toBe(
            "CREATE CONNECTION \"ingest\".\"kafka_connection\" TO KAFKA (BROKERS ('broker-1.example.com:9092', 'broker-2.example.com:9092'), " +
                "SECURITY PROTOCOL = 'SASL_SSL', SASL MECHANISMS = 'SCRAM-SHA-256', SASL USERNAME = 'jaffle', " +
                "SASL PASSWORD = SECRET \"ingest\".\"kafka_sasl_password\")",
        );
        expect(run.createdAfter(connection.name, run.byName("ingest.kafka_sasl_password").name)).toBe(true);
        const secret = run.byName("ingest.kafka_sasl_password");
        expect(secret.inputs.create).not.toContain("hunter2");
        expect(run.byName("ingest.raw_orders_kafka", sqlObject).inputs.create).toContain("(TOPIC 'alice.raw_orders')");
        // The connection carries the Materialize password, so the whole of it is a Pulumi secret.
        const connectionInput = run.byName("ingest.raw_orders_kafka", sqlObject).inputs.connection;
        expect(connectionInput[pulumi.runtime.specialSigKey]).toBe(pulumi.runtime.specialSecretSig);
        expect(connectionInput.value).toMatchObject({ host: "mz.example.com", port: 6875, ssl: true, password: "mzpass" });
        expect(run.outputs.psqlUrl).toBe("postgres://materialize@mz.example.com:6875/materialize?sslmode=require");
        expect(JSON.stringify(run.outputs)).not.toContain("mzpass");
    });

    it("names the topics without a prefix when topicPrefix is set empty", async () => {
        const run = await runProgram({ stack: "ci", config: { mode: "external", kafkaBootstrapServers: "127.0.0.1:9092", topicPrefix: "" } });
        expect(run.ofType("kafka:index/topic:Topic").map(t => t.inputs.name).sort()).toEqual(["raw_customers", "raw_orders", "raw_payments"]);
    });

    it("manages only the topics and seeding when no Materialize host is given", async () => {
        const run = await runProgram({
            stack: "ci",
            config: { mode: "external", kafkaBootstrapServers: "127.0.0.1:9092" },
        });
        expect(run.ofType(sqlObject)).toEqual([]);
        expect(run.ofType("kafka:index/topic:Topic")).toHaveLength(3);
        expect(run.ofType(seeding)).toHaveLength(1);
    });

    it("reads the models only where it creates them: a broken one fails a stack with a Materialize, not one without", async () => {
        const broken = fs.mkdtempSync(path.join(os.tmpdir(), "sqlproject-"));
        fs.cpSync(path.join(__dirname, "..", "sql"), broken, { recursive: true });
        fs.writeFileSync(path.join(broken, "models", "orders.sql"), "select * from stg_orderz");
        const config = { mode: "external", kafkaBootstrapServers: "127.0.0.1:9092", sqlDir: broken };
        await expect(runProgram({ stack: "ci", config })).resolves.toBeDefined();
        await expect(runProgram({ stack: "ci", config: { ...config, materializeHost: "127.0.0.1" } }))
            .rejects.toThrow(/orders\.sql: model "orders" references unknown model or source "stg_orderz"/);
    });
});

describe("sqlObjects: false (models kept in dbt)", () => {
    it("stands up the containers, topics and seeding, declares no SQL object, and exports a dbt profile", async () => {
        const run = await runProgram({ stack: "dev", config: { portBase: "19092", sqlObjects: "false" } });
        expect(run.ofType(sqlObject)).toEqual([]);
        expect(run.ofType(container)).toHaveLength(2);
        expect(run.ofType("kafka:index/topic:Topic")).toHaveLength(3);
        expect(run.ofType(seeding)).toHaveLength(1);
        expect(run.outputs.views).toBeUndefined();
        expect(run.outputs.dbtProfile).toBe([
            "jaffle_shop:",
            "  target: dev",
            "  outputs:",
            "    dev:",
            "      type: materialize",
            "      host: 127.0.0.1",
            "      port: 19093",
            "      user: materialize",
            "      pass: ''",
            "      dbname: materialize",
            "      schema: public",
            "      cluster: quickstart",
            "      sslmode: disable",
            "      threads: 1",
            "",
        ].join("\n"));
    });

    it("reads the password from the environment in the profile of a remote Materialize, never from the stack", async () => {
        const run = await runProgram({
            stack: "ci",
            config: { mode: "external", kafkaBootstrapServers: "127.0.0.1:9092", materializeHost: "mz.example.com", materializePassword: "mzpass", materializeSsl: "true", sqlObjects: "false" },
            secretKeys: ["materializePassword"],
        });
        expect(run.outputs.dbtProfile).toContain("pass: '{{ env_var(''DBT_MATERIALIZE_PASSWORD'') }}'");
        expect(run.outputs.dbtProfile).toContain("sslmode: require");
        expect(run.outputs.dbtProfile).not.toContain("mzpass");
    });

    it("exports no dbt profile while the program manages the SQL objects", async () => {
        const run = await runProgram({ stack: "dev", config: { portBase: "19092" } });
        expect(run.outputs.dbtProfile).toBeUndefined();
    });
});

describe("config validation", () => {
    it.each([
        [{ portBse: "20000" }, /jaffle-shop-streaming:portBse: unknown config key \(did you mean portBase\?\)/],
        [{ portBase: "80x" }, /jaffle-shop-streaming:portBase: "80x" is not a whole number/],
        [{ portBase: "70000" }, /jaffle-shop-streaming:portBase: "70000" is not a whole number from 1024 to 65531/],
        [{ mode: "cloud" }, /jaffle-shop-streaming:mode: "cloud" is not one of local, external/],
        [{ console: "yes" }, /jaffle-shop-streaming:console: "yes" is not true or false/],
        [{ sqlObjects: "no" }, /jaffle-shop-streaming:sqlObjects: "no" is not true or false/],
        [{ topicConfig: "[1]" }, /jaffle-shop-streaming:topicConfig: expected an object/],
        [{ kafkaBootstrapServers: "x:1" }, /kafkaBootstrapServers: only applies in external mode/],
        [{ mode: "external" }, /kafkaBootstrapServers: required in external mode/],
        [{ mode: "external", kafkaBootstrapServers: "nope" }, /kafkaBootstrapServers: "nope" is not a host:port list/],
        [{ mode: "external", kafkaBootstrapServers: "a:1", kafkaSaslMechanism: "plain" }, /kafkaSaslMechanism: needs kafkaSaslUsername and kafkaSaslPassword/],
        [{ modelChanges: "blue-green" }, /jaffle-shop-streaming:modelChanges: "blue-green" is not one of blueGreen, replace/],
        [{ deployTimeoutSeconds: "0" }, /jaffle-shop-streaming:deployTimeoutSeconds: "0" is not a whole number from 1 to 86400/],
        [{ sourceSchema: "public_etl_failure" }, /jaffle-shop-streaming:sourceSchema: "public_etl_failure" holds models or the system's objects; the sources need a schema of their own/],
    ])("rejects %j", async (config, message) => {
        await expect(runProgram({ stack: "dev", config })).rejects.toThrow(message);
    });

    it.each([49, 200])("rejects a local stack name of %i characters, naming the limit, before declaring anything", async length => {
        await expect(runProgram({ stack: "s".repeat(length), config: { portBase: "20000" } }))
            .rejects.toThrow(new RegExp(`stack name "s{${length}}" has ${length} characters; a local stack's may have at most 44: its containers are named jaffle-<stack>-materialize`));
    });

    it("takes a local stack name of 44 characters, every container name a DNS label of at most 63", async () => {
        const run = await runProgram({ stack: "s".repeat(44), config: { portBase: "20000", console: "true", cdcDatasets: "raw_customers" } });
        const containers = run.ofType(container);
        expect(containers).toHaveLength(4);
        for (const container of containers) {
            expect(container.inputs.name.length, container.inputs.name).toBeLessThanOrEqual(63);
            expect(container.inputs.name).toMatch(/^[a-z0-9-]+$/);
        }
    });

    it("rejects an external stack whose default topic prefix makes topic names longer than Kafka's 249", async () => {
        const config = { mode: "external", kafkaBootstrapServers: "127.0.0.1:9092" };
        await expect(runProgram({ stack: "s".repeat(236), config })).rejects.toThrow(/topicPrefix: "s{236}\." makes topic names of 250 characters; Kafka allows 249 \(the default prefix is the stack's name/);
        await expect(runProgram({ stack: "s".repeat(200), config })).resolves.toBeDefined();
    });

    it("reports every problem at once", async () => {
        await expect(runProgram({ stack: "dev", config: { portBase: "x", console: "maybe" } }))
            .rejects.toThrow(/portBase[\s\S]*console/);
    });
});
