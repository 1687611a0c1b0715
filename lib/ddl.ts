import { RawDatasetName } from "./datasets";
import { jsonViewQuery } from "./cdc";
import { quoteIdent, quoteLiteral, secretPlaceholder } from "./quote";
import { relationKey, SqlModel, SqlProject } from "./sqlProject";
import { SaslCredentials } from "./kafka";

/**
 * Renders the SQL project into database objects: each with the one statement that creates it,
 * what it depends on, and enough to find and drop it. Materialize gets sources, materialized
 * views and indexes; PostgreSQL (used by the tests) gets source-shaped tables and plain views.
 */

export type SqlObjectKind = "schema" | "secret" | "connection" | "source" | "table" | "view" | "materialized view" | "index";

export interface SqlObjectDefinition {
    /** Unique within a graph; also the Pulumi resource name. */
    key: string;
    kind: SqlObjectKind;
    schema: string;
    name: string;
    /** The CREATE statement. A secret's value is never in it: `:secret` stands for it. */
    create: string;
    /** Keys of the objects this one reads or lives in. */
    dependsOn: string[];
}

export type KafkaSecurityProtocol = "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";

export interface MaterializeKafka {
    /** Broker addresses as Materialize resolves them (inside the Docker network for local stacks). */
    brokers: string[];
    securityProtocol: KafkaSecurityProtocol;
    sasl?: Omit<SaslCredentials, "password">;
}

/** The PostgreSQL that the CDC datasets come from, as Materialize reaches it. */
export interface MaterializePostgres {
    host: string;
    port: number;
    user: string;
    database: string;
    sslMode: string;
    publication: string;
    /** Schema of the tables upstream. */
    schema: string;
    /** The datasets read from it instead of Kafka. */
    datasets: RawDatasetName[];
}

export interface MaterializeOptions {
    cluster: string;
    kafka: MaterializeKafka;
    /** Topic for each source read from Kafka. */
    topics: Record<string, string>;
    postgres?: MaterializePostgres;
}

export const kafkaConnectionName = "kafka_connection";
export const kafkaPasswordSecretName = "kafka_sasl_password";
export const postgresPasswordSecretName = "postgres_password";
export const postgresConnectionName = "postgres_connection";
export const postgresSourceName = "postgres_cdc";
/** Materialize's name for a CDC dataset's replicated table; the dataset's own name is its JSON view. */
export const cdcSubsourceName = (dataset: string) => `${dataset}_cdc`;

export function materializeObjects(project: SqlProject, options: MaterializeOptions): SqlObjectDefinition[] {
    const cluster = quoteIdent(options.cluster);
    const objects: SqlObjectDefinition[] = [];
    const fromPostgres = new Set<string>(options.postgres?.datasets ?? []);
    const fromKafka = project.sources.filter(source => !fromPostgres.has(source));
    if (fromKafka.length > 0) objects.push(...kafkaObjects(fromKafka, options, cluster));
    if (options.postgres && fromPostgres.size > 0) objects.push(...postgresCdcObjects(options.postgres, cluster));
    objects.push(...modelObjects(project, cluster));
    for (const model of project.models) {
        for (const columns of model.indexes) {
            const name = `${model.name}_${columns.join("_")}_idx`;
            objects.push({
                key: model.schema === "public" ? name : `${model.schema}.${name}`,
                kind: "index",
                schema: model.schema,
                name,
                create:
                    `CREATE INDEX ${quoteIdent(name)} IN CLUSTER ${cluster}` +
                    ` ON ${qualified(model)} (${columns.map(quoteIdent).join(", ")})`,
                dependsOn: [relationKey(model)],
            });
        }
    }
    return objects;
}

function kafkaObjects(sources: string[], options: MaterializeOptions, cluster: string): SqlObjectDefinition[] {
    const objects: SqlObjectDefinition[] = [];
    const connectionDependsOn: string[] = [];
    if (options.kafka.sasl) {
        objects.push({
            key: kafkaPasswordSecretName,
            kind: "secret",
            schema: "public",
            name: kafkaPasswordSecretName,
            create: `CREATE SECRET ${quoteIdent(kafkaPasswordSecretName)} AS ${secretPlaceholder}`,
            dependsOn: [],
        });
        connectionDependsOn.push(kafkaPasswordSecretName);
    }
    const brokers = options.kafka.brokers;
    const connectionOptions = [
        brokers.length === 1 ? `BROKER ${quoteLiteral(brokers[0])}` : `BROKERS (${brokers.map(quoteLiteral).join(", ")})`,
        `SECURITY PROTOCOL = ${quoteLiteral(options.kafka.securityProtocol)}`,
        ...(options.kafka.sasl
            ? [
                  `SASL MECHANISMS = ${quoteLiteral(options.kafka.sasl.mechanism.toUpperCase())}`,
                  `SASL USERNAME = ${quoteLiteral(options.kafka.sasl.username)}`,
                  `SASL PASSWORD = SECRET ${quoteIdent(kafkaPasswordSecretName)}`,
              ]
            : []),
    ];
    objects.push({
        key: kafkaConnectionName,
        kind: "connection",
        schema: "public",
        name: kafkaConnectionName,
        create: `CREATE CONNECTION ${quoteIdent(kafkaConnectionName)} TO KAFKA (${connectionOptions.join(", ")})`,
        dependsOn: connectionDependsOn,
    });
    for (const source of sources) {
        const topic = options.topics[source];
        if (!topic) throw new Error(`no topic given for source "${source}"`);
        objects.push({
            key: source,
            kind: "source",
            schema: "public",
            name: source,
            // Append-only (ENVELOPE NONE): a re-sent event is a second row, which is what the
            // failure views are there to catch.
            create:
                `CREATE SOURCE ${quoteIdent(source)} IN CLUSTER ${cluster}` +
                ` FROM KAFKA CONNECTION ${quoteIdent(kafkaConnectionName)} (TOPIC ${quoteLiteral(topic)})` +
                ` FORMAT JSON ENVELOPE NONE`,
            dependsOn: [kafkaConnectionName],
        });
    }
    return objects;
}

/**
 * The CDC datasets: the replication role's password as a secret, a PostgreSQL connection, one
 * source for the publication's tables (each replicated as `<dataset>_cdc`), and per dataset a view
 * named like the dataset that rebuilds the JSON shape the staging models read.
 */
function postgresCdcObjects(postgres: MaterializePostgres, cluster: string): SqlObjectDefinition[] {
    const tables = postgres.datasets.map(dataset =>
        `${quoteIdent(postgres.schema)}.${quoteIdent(dataset)} AS ${quoteIdent("public")}.${quoteIdent(cdcSubsourceName(dataset))}`);
    const connectionOptions = [
        `HOST ${quoteLiteral(postgres.host)}`,
        `PORT ${postgres.port}`,
        `USER ${quoteLiteral(postgres.user)}`,
        `PASSWORD SECRET ${quoteIdent(postgresPasswordSecretName)}`,
        `DATABASE ${quoteLiteral(postgres.database)}`,
        `SSL MODE ${quoteLiteral(postgres.sslMode)}`,
    ];
    return [
        {
            key: postgresPasswordSecretName,
            kind: "secret",
            schema: "public",
            name: postgresPasswordSecretName,
            create: `CREATE SECRET ${quoteIdent(postgresPasswordSecretName)} AS ${secretPlaceholder}`,
            dependsOn: [],
        },
        {
            key: postgresConnectionName,
            kind: "connection",
            schema: "public",
            name: postgresConnectionName,
            create: `CREATE CONNECTION ${quoteIdent(postgresConnectionName)} TO POSTGRES (${connectionOptions.join(", ")})`,
            dependsOn: [postgresPasswordSecretName],
        },
        {
            key: postgresSourceName,
            kind: "source",
            schema: "public",
            name: postgresSourceName,
            create:
                `CREATE SOURCE ${quoteIdent(postgresSourceName)} IN CLUSTER ${cluster}` +
                ` FROM POSTGRES CONNECTION ${quoteIdent(postgresConnectionName)} (PUBLICATION ${quoteLiteral(postgres.publication)})` +
                ` FOR TABLES (${tables.join(", ")})`,
            dependsOn: [postgresConnectionName],
        },
        ...postgres.datasets.map((dataset): SqlObjectDefinition => ({
            key: dataset,
            kind: "view",
            schema: "public",
            name: dataset,
            create: `CREATE VIEW ${quoteIdent("public")}.${quoteIdent(dataset)} AS\n${jsonViewQuery(dataset, { schema: "public", name: cdcSubsourceName(dataset) })}`,
            dependsOn: [postgresSourceName],
        })),
    ];
}

/**
 * The same project on PostgreSQL: each source becomes a table shaped like Materialize's JSON
 * source (one `data jsonb` column), and every model a plain view so it reflects new rows at once.
 */
export function postgresObjects(project: SqlProject, cdc?: { datasets: RawDatasetName[]; schema: string }): SqlObjectDefinition[] {
    // A CDC dataset is a typed table in `cdc.schema` (created beforehand) and a JSON view over it.
    const cdcViews: SqlObjectDefinition[] = (cdc?.datasets ?? []).map(dataset => ({
        key: dataset,
        kind: "view",
        schema: "public",
        name: dataset,
        create: `CREATE VIEW ${quoteIdent(dataset)} AS\n${jsonViewQuery(dataset, { schema: cdc!.schema, name: dataset })}`,
        dependsOn: [],
    }));
    const fromCdc = new Set<string>(cdc?.datasets ?? []);
    const tables: SqlObjectDefinition[] = project.sources.filter(source => !fromCdc.has(source)).map(source => ({
        key: source,
        kind: "table",
        schema: "public",
        name: source,
        create: `CREATE TABLE ${quoteIdent(source)} (data jsonb NOT NULL)`,
        dependsOn: [],
    }));
    return [...tables, ...cdcViews, ...modelObjects(project)];
}

/** Models as views; with a cluster, those declared materialized become materialized views in it. */
function modelObjects(project: SqlProject, cluster?: string): SqlObjectDefinition[] {
    const usesFailureSchema = project.models.some(m => m.schema === project.failureSchema);
    const schemaObjects: SqlObjectDefinition[] = usesFailureSchema
        ? [{
              key: project.failureSchema,
              kind: "schema",
              schema: project.failureSchema,
              name: project.failureSchema,
              create: `CREATE SCHEMA ${quoteIdent(project.failureSchema)}`,
              dependsOn: [],
          }]
        : [];
    const models = project.models.map((model): SqlObjectDefinition => {
        const materialized = cluster !== undefined && model.materialized === "materialized_view";
        return {
            key: relationKey(model),
            kind: materialized ? "materialized view" : "view",
            schema: model.schema,
            name: model.name,
            create: materialized
                ? `CREATE MATERIALIZED VIEW ${qualified(model)} IN CLUSTER ${cluster} AS\n${model.query}`
                : `CREATE VIEW ${qualified(model)} AS\n${model.query}`,
            dependsOn: [...(model.schema === project.failureSchema ? [project.failureSchema] : []), ...model.dependsOn],
        };
    });
    return [...schemaObjects, ...models];
}

function qualified(model: SqlModel): string {
    return `${quoteIdent(model.schema)}.${quoteIdent(model.name)}`;
}
