import * as pulumi from "@pulumi/pulumi";
import { Materialize } from "./components/materialize";
import { Redpanda } from "./components/redpanda";
import { Seeder } from "./components/seeder";
import { StreamingModels } from "./components/streamingModels";
import { Topics } from "./components/topics";
import { readConfig } from "./lib/config";
import { SqlConnection } from "./lib/sqlObject";
import { loadSqlProject } from "./lib/sqlProject";
import { datasetNames } from "./producer/datasets";
import { readSeeds } from "./producer/seeds";

const config = readConfig();
// Every input file is checked before the first resource is declared, so bad input changes nothing.
const sqlProject = loadSqlProject(config.sqlDir, datasetNames);
const seedsDir = "seeds";
if (config.seed) readSeeds(seedsDir);
const namePrefix = `jaffle-${config.stack}`;

// The event bus and the database: containers on this Docker host, or services that already exist.
let bootstrapServers: pulumi.Output<string[]>;
let brokersForMaterialize: string[];
let sqlConnection: pulumi.Output<SqlConnection> | undefined;
let redpanda: Redpanda | undefined;
let materialize: Materialize | undefined;
const kafkaAuth = config.external?.kafka ?? { tls: false, sasl: undefined };

if (config.local) {
    redpanda = new Redpanda("redpanda", {
        namePrefix,
        image: config.local.redpandaImage,
        bindAddress: config.local.bindAddress,
        kafkaPort: config.local.ports.kafka,
        console: config.local.console.enabled
            ? { image: config.local.console.image, port: config.local.ports.console }
            : undefined,
    });
    materialize = new Materialize("materialize", {
        namePrefix,
        image: config.local.materializeImage,
        network: redpanda.network,
        bindAddress: config.local.bindAddress,
        sqlPort: config.local.ports.materializeSql,
        httpPort: config.local.ports.materializeHttp,
    });
    bootstrapServers = redpanda.bootstrapServers;
    brokersForMaterialize = redpanda.internalBrokers;
    sqlConnection = materialize.connection;
} else {
    const external = config.external!;
    bootstrapServers = pulumi.output(external.kafka.bootstrapServers);
    brokersForMaterialize = external.kafka.brokersForMaterialize;
    sqlConnection = external.materialize && pulumi.all([external.materialize.password]).apply(([password]) => ({
        dialect: "materialize" as const,
        ...external.materialize!,
        password,
        connectTimeoutSeconds: 60,
    }));
}

const topics = new Topics("topics", {
    names: datasetNames,
    ...config.topics,
    bootstrapServers,
    tls: kafkaAuth.tls,
    sasl: kafkaAuth.sasl,
    dependsOn: redpanda ? [redpanda] : [],
});

const models = sqlConnection && new StreamingModels("models", {
    connection: sqlConnection,
    project: sqlProject,
    cluster: config.cluster,
    topics: topics.topicNames,
    kafka: { brokers: brokersForMaterialize, tls: kafkaAuth.tls, sasl: kafkaAuth.sasl },
    dependsOn: [...(materialize ? [materialize] : []), ...topics.topics],
});

const seeder = config.seed
    ? new Seeder("seed", {
          seedsDir,
          topics: topics.topicNames,
          bootstrapServers,
          tls: kafkaAuth.tls,
          sasl: kafkaAuth.sasl,
          transactionalId: `jaffle-shop-streaming-seed-${pulumi.getProject()}-${config.stack}`,
          dependsOn: [...topics.topics, ...(models?.sources ?? [])],
      })
    : undefined;

export const kafkaBootstrapServers = bootstrapServers.apply(servers => servers.join(","));
export const topicNames = topics.topicNames;
export const psqlUrl = materialize?.psqlUrl;
export const consoleUrl = redpanda?.consoleUrl;
export const views = models?.views;
export const failureViews = models?.failureViews;
export const exampleQuery = models && "select * from public_etl_failure.unique_stg_orders_order_id;";
export const seededEvents = seeder?.sent;
