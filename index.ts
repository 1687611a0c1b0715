import * as pulumi from "@pulumi/pulumi";
import { CdcDatabase } from "./components/cdcDatabase";
import { Postgres } from "./components/postgres";
import { existingMaterialize, Materialize, psqlUrl as toPsqlUrl } from "./components/materialize";
import { Redpanda } from "./components/redpanda";
import { Seeder } from "./components/seeder";
import { StreamingModels } from "./components/streamingModels";
import { Topics } from "./components/topics";
import { readConfig } from "./lib/config";
import { definedOutputs } from "./lib/outputs";
import { postgresUrl } from "./lib/postgresUrl";
import { dbtProfile as toDbtProfile } from "./lib/dbtProfile";
import { loadSqlProject } from "./lib/sqlProject";
import { datasetNames } from "./lib/datasets";
import { validateSeeds } from "./producer/seeds";

const config = readConfig();
// Every input file is checked before the first resource is declared, so bad input changes nothing.
const sqlProject = config.sqlObjects ? loadSqlProject(config.sqlDir, datasetNames) : undefined;
const seedsDir = "seeds";
if (config.seed) validateSeeds(seedsDir);
const namePrefix = `jaffle-${config.stack}`;

// The event bus and the database: containers on this Docker host, or services that already exist.
const redpanda = config.local
    ? new Redpanda("redpanda", {
          namePrefix,
          image: config.local.redpandaImage,
          bindAddress: config.local.bindAddress,
          kafkaPort: config.local.ports.kafka,
          console: config.local.console.enabled
              ? { image: config.local.console.image, port: config.local.ports.console }
              : undefined,
      })
    : undefined;
const materialize = config.local && redpanda
    ? new Materialize("materialize", {
          namePrefix,
          image: config.local.materializeImage,
          network: redpanda.network,
          bindAddress: config.local.bindAddress,
          sqlPort: config.local.ports.materializeSql,
          httpPort: config.local.ports.materializeHttp,
          consolePort: config.local.ports.materializeConsole,
      })
    : undefined;

// The operational PostgreSQL of the CDC datasets: a container of the stack, or one that exists.
const postgres = config.cdc?.local && redpanda
    ? new Postgres("postgres", {
          namePrefix,
          image: config.cdc.local.image,
          network: redpanda.network,
          bindAddress: config.local!.bindAddress,
          port: config.cdc.local.port,
      })
    : undefined;
const cdcExternal = config.cdc?.external;
const cdc = config.cdc && (postgres || cdcExternal)
    ? new CdcDatabase("cdc", {
          datasets: config.cdc.datasets,
          admin: postgres
              ? { host: postgres.host, port: postgres.port, user: postgres.superuser, password: postgres.superuserPassword, sslMode: "disable" }
              : { host: cdcExternal!.host, port: cdcExternal!.port, user: cdcExternal!.user, password: cdcExternal!.password, sslMode: cdcExternal!.sslMode },
          database: config.cdc.database,
          createDatabase: postgres !== undefined,
          seedsDir: config.seed ? seedsDir : undefined,
          dependsOn: postgres ? [postgres] : [],
      })
    : undefined;

const kafka = redpanda
    ? { bootstrapServers: redpanda.bootstrapServers, brokersForMaterialize: redpanda.internalBrokers, tls: false, sasl: undefined }
    : { ...config.external!.kafka, bootstrapServers: pulumi.output(config.external!.kafka.bootstrapServers) };
const sqlConnection = materialize?.connection ?? (config.external?.materialize && existingMaterialize(config.external.materialize));

// The datasets that travel through Kafka: all but those read from PostgreSQL by CDC.
const kafkaDatasets = datasetNames.filter(name => !config.cdc?.datasets.includes(name));
const topics = new Topics("topics", {
    names: kafkaDatasets,
    ...config.topics,
    bootstrapServers: kafka.bootstrapServers,
    tls: kafka.tls,
    sasl: kafka.sasl,
    dependsOn: redpanda ? [redpanda] : [],
});

// Seeding comes before the sources (they read their topics from the start): a topic seeded anew
// after it was recreated gets a new epoch, and its source is rebuilt.
const seeder = config.seed
    ? new Seeder("seed", {
          seedsDir,
          topics: topics.topicNames,
          bootstrapServers: kafka.bootstrapServers,
          tls: kafka.tls,
          sasl: kafka.sasl,
          transactionalId: `jaffle-shop-streaming-seed-${pulumi.getProject()}-${config.stack}`,
          dependsOn: topics.topics,
      })
    : undefined;

const models = sqlConnection && sqlProject && new StreamingModels("models", {
    connection: sqlConnection,
    project: sqlProject,
    cluster: config.cluster,
    topics: topics.topicNames,
    topicEpochs: seeder?.epochs,
    kafka: { brokers: kafka.brokersForMaterialize, tls: kafka.tls, sasl: kafka.sasl },
    postgres: cdc && config.cdc && {
        host: postgres ? postgres.internalHost : cdcExternal!.hostForMaterialize,
        port: postgres ? postgres.internalPort : cdcExternal!.portForMaterialize,
        user: cdc.roleName,
        password: cdc.rolePassword,
        database: config.cdc.database,
        sslMode: postgres ? "disable" : cdcExternal!.sslMode,
        publication: cdc.publicationName,
        schema: cdc.schema,
        datasets: config.cdc.datasets,
    },
    // Materialize's PostgreSQL connection and source come after the publication and the grants.
    dependsOn: [...(materialize ? [materialize] : []), ...topics.topics, ...(cdc ? [cdc.publication, ...cdc.grants] : [])],
});

// Outputs that don't apply to this stack (no Materialize, no seeding, no console) are left out
// rather than shown as empty. (`export =`: Pulumi reads module.exports; a default export would
// nest everything under "default".)
export = definedOutputs({
    kafkaBootstrapServers: kafka.bootstrapServers.apply(servers => servers.join(",")),
    topicNames: topics.topicNames,
    psqlUrl: sqlConnection && pulumi.unsecret(sqlConnection.apply(toPsqlUrl)),
    consoleUrl: redpanda?.consoleUrl,
    materializeConsoleUrl: materialize?.consoleUrl,
    views: models?.views,
    failureViews: models?.failureViews,
    exampleQuery: models?.exampleQuery,
    seededEvents: seeder?.sent,
    /** The CDC datasets' PostgreSQL as this machine reaches it (no password), for psql and the CDC scenarios. */
    postgresUrl: config.cdc && (postgres
        ? postgresUrl({ user: postgres.superuser, host: postgres.host, port: postgres.port, database: config.cdc.database })
        : cdcExternal && postgresUrl({ ...cdcExternal, database: config.cdc.database })),
    /** The stack's own PostgreSQL superuser password, a secret: `npm run output -- --show-secrets postgresPassword`. */
    postgresPassword: postgres?.superuserPassword,
    /** With sqlObjects off: the profiles.yml entry that points dbt-materialize at this stack's Materialize. */
    dbtProfile: !config.sqlObjects && sqlConnection
        ? pulumi.unsecret(sqlConnection.apply(connection => toDbtProfile(connection, config.stack, config.cluster)))
        : undefined,
});
