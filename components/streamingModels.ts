import * as pulumi from "@pulumi/pulumi";
import { kafkaPasswordSecretName, KafkaSecurityProtocol, kafkaSourceName, MaterializePostgres, materializeObjects, postgresPasswordSecretName } from "../lib/ddl";
import { SqlConnection } from "../lib/sqlObject";
import { relationKey, SqlProject } from "../lib/sqlProject";
import { SqlObjectGraph } from "./sqlObjectGraph";
import { deployModels, ModelsDeployment } from "../lib/modelsDeployment";
import { earlierLayoutNames, PreviousLayoutCleanup } from "../lib/previousLayout";
import { SaslCredentials } from "../lib/kafka";

export interface StreamingModelsArgs {
    connection: pulumi.Input<SqlConnection>;
    /** The models and failure views; its sources are the keys of `topics`. */
    project: SqlProject;
    cluster: string;
    /** The schema of the connections, secrets, sources and their tables. */
    sourceSchema: string;
    /** The stack's name: staging schemas are tagged with it. */
    stack: string;
    modelChanges: { mode: "blueGreen" | "replace"; timeoutSeconds: number; maxLagSeconds: number };
    /** Topic of each dataset read from Kafka. */
    topics: Record<string, string>;
    /** Per dataset, its topic's epoch (see Seeder): its source is rebuilt when the topic was recreated. */
    topicEpochs?: pulumi.Input<Record<string, string>>;
    /** How Materialize reaches Kafka. */
    kafka: {
        brokers: string[];
        tls: boolean;
        sasl?: SaslCredentials<pulumi.Input<string>>;
    };
    /** The PostgreSQL of the CDC datasets, as Materialize reaches it, with the replication role's password. */
    postgres?: MaterializePostgres & { password: pulumi.Input<string> };
}

/**
 * The jaffle_shop project on Materialize: in the source schema a Kafka connection, per topic a
 * source and the JSON table the models read (and for CDC datasets the PostgreSQL source and its
 * tables); the staging and mart views; the data-quality failure views in public_etl_failure.
 */
export class StreamingModels extends pulumi.ComponentResource {
    readonly project: SqlProject;
    readonly graph: SqlObjectGraph;
    /** Builds the models by blue/green deploys (modelChanges: blueGreen); idle otherwise. */
    readonly deployment: ModelsDeployment;
    /** Every view users can query, schema-qualified where not in public. */
    readonly views: string[];
    readonly failureViews: string[];
    /** A query to start with: the failure view of the first `unique` test, else the first failure view, else the first view. */
    readonly exampleQuery: string;

    constructor(name: string, args: StreamingModelsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jaffle-shop-streaming:index:StreamingModels", name, {}, opts);
        this.project = args.project;
        const inSourceSchema = (object: string) => relationKey({ schema: args.sourceSchema, name: object });
        const securityProtocol: KafkaSecurityProtocol = args.kafka.sasl
            ? (args.kafka.tls ? "SASL_SSL" : "SASL_PLAINTEXT")
            : (args.kafka.tls ? "SSL" : "PLAINTEXT");
        const objects = materializeObjects(this.project, {
            cluster: args.cluster,
            sourceSchema: args.sourceSchema,
            topics: args.topics,
            kafka: {
                brokers: args.kafka.brokers,
                securityProtocol,
                sasl: args.kafka.sasl && { mechanism: args.kafka.sasl.mechanism, username: args.kafka.sasl.username },
            },
            postgres: args.postgres && (({ password: _, ...postgres }) => postgres)(args.postgres),
            modelsDeployedBy: args.modelChanges.mode === "blueGreen" ? `${name}-deployment` : undefined,
        });
        const secrets: Record<string, pulumi.Input<string>> = {
            ...(args.kafka.sasl ? { [inSourceSchema(kafkaPasswordSecretName)]: args.kafka.sasl.password } : {}),
            ...(args.postgres ? { [inSourceSchema(postgresPasswordSecretName)]: args.postgres.password } : {}),
        };
        // Only a source that reads a topic has a topic's epoch.
        const kafkaDatasets = this.project.sources.filter(source => !args.postgres?.datasets.includes(source as never));
        this.graph = new SqlObjectGraph(`${name}-objects`, {
            connection: args.connection,
            objects,
            secrets: Object.keys(secrets).length > 0 ? secrets : undefined,
            externalIdentities: args.topicEpochs && Object.fromEntries(kafkaDatasets.map(dataset => [
                inSourceSchema(kafkaSourceName(dataset)),
                pulumi.output(args.topicEpochs).apply(epochs => epochs?.[dataset] ?? ""),
            ])),
        }, { parent: this });
        this.deployment = deployModels(`${name}-deployment`, {
            connection: args.connection,
            stack: args.stack,
            mode: args.modelChanges.mode,
            project: this.project,
            sourceSchema: args.sourceSchema,
            cluster: args.cluster,
            readiness: { timeoutSeconds: args.modelChanges.timeoutSeconds, maxLagSeconds: args.modelChanges.maxLagSeconds, pollMs: 2_000 },
            objects: this.graph.objects,
            earlierLayout: earlierLayoutNames(this.project.sources),
        }, { parent: this });
        new PreviousLayoutCleanup(`${name}-previous-layout`, { connection: args.connection }, {
            parent: this,
            dependsOn: [...Object.values(this.graph.objects), this.deployment],
        });

        const models = this.project.models;
        this.failureViews = models.filter(m => m.schema === this.project.failureSchema).map(relationKey);
        this.views = models.filter(m => m.schema !== this.project.failureSchema).map(relationKey);
        const failureModels = models.filter(m => m.schema === this.project.failureSchema);
        const example = failureModels.find(m => m.dataTest?.type === "unique") ?? failureModels[0] ?? models[0];
        this.exampleQuery = example ? `select * from ${relationKey(example)};` : "";
        this.registerOutputs({ views: this.views, failureViews: this.failureViews, exampleQuery: this.exampleQuery });
    }
}
