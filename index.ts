import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { CdcDatabase } from "./components/cdcDatabase";
import { Postgres } from "./components/postgres";
import { existingMaterialize, Materialize, psqlUrl as toPsqlUrl } from "./components/materialize";
import { Redpanda } from "./components/redpanda";
import { Seeder } from "./components/seeder";
import { StreamingModels } from "./components/streamingModels";
import { Topics } from "./components/topics";
import { ExternalConfig, KafkaEndpoint, LocalConfig, PostgresServer, readConfig } from "./lib/config";
import { cacheDir } from "./lib/cacheDir";
import { namePrefix as namePrefixOf } from "./lib/containers";
import { cdcSchema } from "./lib/cdc";
import { datasetNames } from "./lib/datasets";
import { datasetRoutes, topicsOf } from "./lib/routes";
import { dbtProfile as toDbtProfile } from "./lib/dbtProfile";
import { definedOutputs } from "./lib/outputs";
import { postgresUrl } from "./lib/postgresUrl";
import { SqlConnection } from "./lib/sqlObject";
import { loadSqlProject } from "./lib/sqlProject";
import { checkSeedsOnce } from "./producer/seeds";

const config = readConfig();
// Every input file is checked before the first resource is declared, so bad input changes nothing.
// The models only where there is a Materialize to create them in: parsing them costs the program
// about 36 MB (the parser's WASM in a worker) for nothing otherwise.
const managesModels = config.sqlObjects && (config.mode === "local" || config.materialize !== undefined);
const sqlProject = managesModels ? loadSqlProject(config.sqlDir, datasetNames) : undefined;
const seedsDir = "seeds";
const seeds = config.seed ? checkSeedsOnce(seedsDir, path.join(cacheDir(), "checked-seeds")) : undefined;

/** The event bus, the database and the CDC datasets' PostgreSQL, wherever they run. */
interface Services {
    kafka: KafkaEndpoint;
    sqlConnection?: pulumi.Output<SqlConnection>;
    cdcServer?: PostgresServer;
    redpanda?: Redpanda;
    materialize?: Materialize;
    postgres?: Postgres;
}

/** Containers on this Docker host, named after the stack. */
function localServices(config: LocalConfig): Services {
    const namePrefix = namePrefixOf(config.stack);
    const redpanda = new Redpanda("redpanda", {
        namePrefix,
        image: config.redpandaImage,
        bindAddress: config.bindAddress,
        kafkaPort: config.ports.kafka,
        console: config.console.enabled ? { image: config.console.image, port: config.ports.console } : undefined,
    });
    const materialize = new Materialize("materialize", {
        namePrefix,
        image: config.materializeImage,
        network: redpanda.network,
        bindAddress: config.bindAddress,
        sqlPort: config.ports.materializeSql,
        httpPort: config.ports.materializeHttp,
        consolePort: config.ports.materializeConsole,
    });
    const postgres = config.cdc && new Postgres("postgres", {
        namePrefix,
        image: config.cdc.image,
        network: redpanda.network,
        bindAddress: config.bindAddress,
        port: config.cdc.port,
    });
    return { kafka: redpanda.kafka, sqlConnection: materialize.connection, cdcServer: postgres?.server, redpanda, materialize, postgres };
}

/** Services that exist. */
function externalServices(config: ExternalConfig): Services {
    return {
        kafka: config.kafka,
        sqlConnection: config.materialize && existingMaterialize(config.materialize),
        cdcServer: config.cdc,
    };
}

const { kafka, sqlConnection, cdcServer, redpanda, materialize, postgres } =
    config.mode === "local" ? localServices(config) : externalServices(config);

// The CDC datasets' tables, replication role, grants and publication, in that PostgreSQL.
const cdc = config.cdc && cdcServer && new CdcDatabase("cdc", {
    datasets: config.cdc.datasets,
    admin: cdcServer,
    database: config.cdc.database,
    createDatabase: postgres !== undefined,
    seeds: seeds && { dir: seedsDir, hash: seeds.hash },
}, { dependsOn: postgres ? [postgres] : [] });

// Each dataset's one route: a topic, or a PostgreSQL table read by CDC.
const routes = datasetRoutes(config.topics.prefix, config.cdc && { datasets: config.cdc.datasets, schema: cdcSchema });
const topics = new Topics("topics", {
    topicNames: topicsOf(routes),
    partitions: config.topics.partitions,
    replicationFactor: config.topics.replicationFactor,
    config: config.topics.config,
    bootstrapServers: kafka.bootstrapServers,
    tls: kafka.tls,
    sasl: kafka.sasl,
}, { dependsOn: redpanda ? [redpanda] : [] });

// Seeding comes before the sources (they read their topics from the start): a topic seeded anew
// after it was recreated gets a new epoch, and its source is rebuilt.
const seeder = seeds && new Seeder("seed", {
    seedsDir,
    seedsHash: seeds.hash,
    topics: topics.topicNames,
    bootstrapServers: kafka.bootstrapServers,
    tls: kafka.tls,
    sasl: kafka.sasl,
    transactionalId: `jaffle-shop-streaming-seed-${pulumi.getProject()}-${config.stack}`,
}, { dependsOn: [topics] });

// Materialize's PostgreSQL connection and source come after the publication and the grants.
const models = sqlConnection && sqlProject && new StreamingModels("models", {
    connection: sqlConnection,
    project: sqlProject,
    cluster: config.cluster,
    sourceSchema: config.sourceSchema,
    stack: config.stack,
    modelChanges: config.modelChanges,
    topics: topics.topicNames,
    topicEpochs: seeder?.epochs,
    kafka: { brokers: kafka.brokersForMaterialize, tls: kafka.tls, sasl: kafka.sasl },
    postgres: cdc && config.cdc && cdcServer && {
        host: cdcServer.hostForMaterialize,
        port: cdcServer.portForMaterialize,
        user: cdc.roleName,
        password: cdc.rolePassword,
        database: config.cdc.database,
        sslMode: cdcServer.sslMode,
        publication: cdc.publicationName,
        schema: cdc.schema,
        datasets: config.cdc.datasets,
    },
}, { dependsOn: [...(materialize ? [materialize] : []), topics, ...(cdc ? [cdc] : [])] });

// Outputs that don't apply to this stack (no Materialize, no seeding, no console) are left out
// rather than shown as empty. (`export =`: Pulumi reads module.exports; a default export would
// nest everything under "default".)
export = definedOutputs({
    kafkaBootstrapServers: pulumi.output(kafka.bootstrapServers).apply(servers => servers.join(",")),
    /** Per dataset, where its events go: { topic } or { cdcTable: { schema, name } }. */
    datasets: routes,
    psqlUrl: sqlConnection && pulumi.unsecret(sqlConnection.apply(toPsqlUrl)),
    /** The Materialize cluster of the sources, materialized views and indexes; npm run watch runs in it. */
    cluster: sqlConnection && config.cluster,
    consoleUrl: redpanda?.consoleUrl,
    materializeConsoleUrl: materialize?.consoleUrl,
    views: models?.views,
    failureViews: models?.failureViews,
    exampleQuery: models?.exampleQuery,
    seededEvents: seeder?.sent,
    /** The CDC datasets' PostgreSQL as this machine reaches it (no password), for psql and the CDC scenarios. */
    postgresUrl: config.cdc && cdcServer && postgresUrl({ ...cdcServer, database: config.cdc.database }),
    /** The stack's own PostgreSQL superuser password, a secret: `npm run output -- --show-secrets postgresPassword`. */
    postgresPassword: postgres?.server.password,
    /** With sqlObjects off: the profiles.yml entry that points dbt-materialize at this stack's Materialize. */
    dbtProfile: !config.sqlObjects && sqlConnection
        ? pulumi.unsecret(sqlConnection.apply(connection => toDbtProfile(connection, config.stack, config.cluster)))
        : undefined,
});
