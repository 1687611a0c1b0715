import * as pulumi from "@pulumi/pulumi";
import { existingMaterialize, Materialize, psqlUrl as toPsqlUrl } from "./components/materialize";
import { Redpanda } from "./components/redpanda";
import { Seeder } from "./components/seeder";
import { StreamingModels } from "./components/streamingModels";
import { Topics } from "./components/topics";
import { readConfig } from "./lib/config";
import { definedOutputs } from "./lib/outputs";
import { dbtProfile as toDbtProfile } from "./lib/dbtProfile";
import { loadSqlProject } from "./lib/sqlProject";
import { datasetNames } from "./producer/datasets";
import { readSeeds } from "./producer/seeds";

const config = readConfig();
// Every input file is checked before the first resource is declared, so bad input changes nothing.
const sqlProject = config.sqlObjects ? loadSqlProject(config.sqlDir, datasetNames) : undefined;
const seedsDir = "seeds";
if (config.seed) readSeeds(seedsDir);
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

const kafka = redpanda
    ? { bootstrapServers: redpanda.bootstrapServers, brokersForMaterialize: redpanda.internalBrokers, tls: false, sasl: undefined }
    : { ...config.external!.kafka, bootstrapServers: pulumi.output(config.external!.kafka.bootstrapServers) };
const sqlConnection = materialize?.connection ?? (config.external?.materialize && existingMaterialize(config.external.materialize));

const topics = new Topics("topics", {
    names: datasetNames,
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
    dependsOn: [...(materialize ? [materialize] : []), ...topics.topics],
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
    exampleQuery: models && "select * from public_etl_failure.unique_stg_orders_order_id;",
    seededEvents: seeder?.sent,
    /** With sqlObjects off: the profiles.yml entry that points dbt-materialize at this stack's Materialize. */
    dbtProfile: !config.sqlObjects && sqlConnection
        ? pulumi.unsecret(sqlConnection.apply(connection => toDbtProfile(connection, config.stack, config.cluster)))
        : undefined,
});
