import { RawDatasetName } from "./datasets";
import { jsonViewQuery } from "./cdc";
import { quoteIdent, quoteLiteral, secretPlaceholder } from "./quote";
import { SqlObjectKind } from "./sqlKinds";
import { defaultSchema, relationKey, SqlProject } from "./sqlProject";
import { SaslCredentials } from "./kafka";

/**
 * Renders the SQL project into database objects: each with the one statement that creates it,
 * what it depends on, and enough to find and drop it (lib/sqlKinds.ts). Everything read from
 * outside the database (connections, secrets, sources, the tables fed by them) lives in a schema of
 * its own, apart from the models. Materialize gets sources, tables from source, materialized views
 * and indexes; PostgreSQL (used by the tests) gets source-shaped tables and plain views.
 */

export type { SqlObjectKind } from "./sqlKinds";

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
    /** Where the bare names in `create` resolve (a model reads its sources by bare name, as in dbt). */
    searchPath?: string[];
    /** The resource that builds it instead of its own (the models' blue/green deployment). */
    deployedBy?: string;
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
    /** The schema of the connections, secrets, sources and their tables. */
    sourceSchema: string;
    kafka: MaterializeKafka;
    /** Topic for each dataset read from Kafka. */
    topics: Record<string, string>;
    postgres?: MaterializePostgres;
    /** The resource that builds the models by blue/green deploys; unset: each model's own resource does. */
    modelsDeployedBy?: string;
}

export const kafkaConnectionName = "kafka_connection";
export const kafkaPasswordSecretName = "kafka_sasl_password";
export const postgresPasswordSecretName = "postgres_password";
export const postgresConnectionName = "postgres_connection";
export const postgresSourceName = "postgres_cdc";
/** A Kafka dataset's source; its table carries the dataset's name. */
export const kafkaSourceName = (dataset: string) => `${dataset}_kafka`;
/** A CDC dataset's replicated table; the dataset's own name is its JSON view. */
export const cdcTableName = (dataset: string) => `${dataset}_cdc`;

/** An object in the source schema (or the models'), keyed as the graph keys it. */
function inSchema(schema: string, name: string, kind: SqlObjectKind, create: (qualified: string) => string, dependsOn: string[]): SqlObjectDefinition {
    return { key: relationKey({ schema, name }), kind, schema, name, create: create(qualifiedName(schema, name)), dependsOn };
}

function qualifiedName(schema: string, name: string): string {
    return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

function schemaObject(name: string): SqlObjectDefinition {
    return { key: name, kind: "schema", schema: name, name, create: `CREATE SCHEMA ${quoteIdent(name)}`, dependsOn: [] };
}

export function materializeObjects(project: SqlProject, options: MaterializeOptions): SqlObjectDefinition[] {
    const cluster = quoteIdent(options.cluster);
    const fromPostgres = new Set<string>(options.postgres?.datasets ?? []);
    const fromKafka = project.sources.filter(source => !fromPostgres.has(source));
    const objects: SqlObjectDefinition[] = [schemaObject(options.sourceSchema)];
    if (fromKafka.length > 0) objects.push(...kafkaObjects(fromKafka, options, cluster));
    if (options.postgres && fromPostgres.size > 0) objects.push(...postgresCdcObjects(options.postgres, options.sourceSchema, cluster));
    objects.push(...modelObjects(project, { sourceSchema: options.sourceSchema, cluster: options.cluster, deployedBy: options.modelsDeployedBy }));
    return objects;
}

/**
 * A Kafka connection (its SASL password a secret), and per dataset a source of the topic and the
 * table the models read. The source has no FORMAT: decoding is the table's, as in Materialize's
 * current syntax.
 */
function kafkaObjects(datasets: string[], options: MaterializeOptions, cluster: string): SqlObjectDefinition[] {
    const schema = options.sourceSchema;
    const objects: SqlObjectDefinition[] = [];
    const secret = relationKey({ schema, name: kafkaPasswordSecretName });
    if (options.kafka.sasl) {
        objects.push(inSchema(schema, kafkaPasswordSecretName, "secret", name => `CREATE SECRET ${name} AS ${secretPlaceholder}`, [schema]));
    }
    const brokers = options.kafka.brokers;
    const connectionOptions = [
        brokers.length === 1 ? `BROKER ${quoteLiteral(brokers[0])}` : `BROKERS (${brokers.map(quoteLiteral).join(", ")})`,
        `SECURITY PROTOCOL = ${quoteLiteral(options.kafka.securityProtocol)}`,
        ...(options.kafka.sasl
            ? [
                  `SASL MECHANISMS = ${quoteLiteral(options.kafka.sasl.mechanism.toUpperCase())}`,
                  `SASL USERNAME = ${quoteLiteral(options.kafka.sasl.username)}`,
                  `SASL PASSWORD = SECRET ${qualifiedName(schema, kafkaPasswordSecretName)}`,
              ]
            : []),
    ];
    const connection = inSchema(schema, kafkaConnectionName, "connection",
        name => `CREATE CONNECTION ${name} TO KAFKA (${connectionOptions.join(", ")})`,
        [schema, ...(options.kafka.sasl ? [secret] : [])]);
    objects.push(connection);
    for (const dataset of datasets) {
        const topic = options.topics[dataset];
        if (!topic) throw new Error(`no topic given for dataset "${dataset}"`);
        const source = inSchema(schema, kafkaSourceName(dataset), "source",
            name => `CREATE SOURCE ${name} IN CLUSTER ${cluster} FROM KAFKA CONNECTION ${qualifiedName(schema, kafkaConnectionName)} (TOPIC ${quoteLiteral(topic)})`,
            [connection.key]);
        // Append-only (ENVELOPE NONE): a re-sent event is a second row, which is what the failure
        // views are there to catch.
        const table = inSchema(schema, dataset, "table from source",
            name => `CREATE TABLE ${name} FROM SOURCE ${qualifiedName(schema, source.name)} FORMAT JSON ENVELOPE NONE`,
            [source.key]);
        objects.push(source, table);
    }
    return objects;
}

/**
 * The CDC datasets: the replication role's password as a secret, a PostgreSQL connection, one
 * source for the publication, per dataset a table replicating its upstream table, and a view named
 * like the dataset that rebuilds the JSON shape the staging models read.
 */
function postgresCdcObjects(postgres: MaterializePostgres, schema: string, cluster: string): SqlObjectDefinition[] {
    const secret = inSchema(schema, postgresPasswordSecretName, "secret", name => `CREATE SECRET ${name} AS ${secretPlaceholder}`, [schema]);
    const connectionOptions = [
        `HOST ${quoteLiteral(postgres.host)}`,
        `PORT ${postgres.port}`,
        `USER ${quoteLiteral(postgres.user)}`,
        `PASSWORD SECRET ${qualifiedName(schema, secret.name)}`,
        `DATABASE ${quoteLiteral(postgres.database)}`,
        `SSL MODE ${quoteLiteral(postgres.sslMode)}`,
    ];
    const connection = inSchema(schema, postgresConnectionName, "connection",
        name => `CREATE CONNECTION ${name} TO POSTGRES (${connectionOptions.join(", ")})`, [secret.key]);
    const source = inSchema(schema, postgresSourceName, "source",
        name => `CREATE SOURCE ${name} IN CLUSTER ${cluster} FROM POSTGRES CONNECTION ${qualifiedName(schema, connection.name)}` +
            ` (PUBLICATION ${quoteLiteral(postgres.publication)})`,
        [connection.key]);
    const perDataset = postgres.datasets.flatMap(dataset => {
        const table = inSchema(schema, cdcTableName(dataset), "table from source",
            name => `CREATE TABLE ${name} FROM SOURCE ${qualifiedName(schema, source.name)} (REFERENCE ${qualifiedName(postgres.schema, dataset)})`,
            [source.key]);
        const view = inSchema(schema, dataset, "view",
            name => `CREATE VIEW ${name} AS\n${jsonViewQuery(dataset, { schema, name: table.name })}`, [table.key]);
        return [table, view];
    });
    return [secret, connection, source, ...perDataset];
}

/**
 * The same project on PostgreSQL, in the same schemas: each Kafka dataset a table shaped like
 * Materialize's JSON table (one `data jsonb` column), each CDC dataset a JSON view over its typed
 * table in `cdc.schema` (created beforehand), every model a plain view so it reflects new rows at once.
 */
export function postgresObjects(
    project: SqlProject,
    sourceSchema: string,
    cdc?: { datasets: RawDatasetName[]; schema: string },
    modelsDeployedBy?: string,
): SqlObjectDefinition[] {
    return [...postgresSourceObjects(project, sourceSchema, cdc), ...modelObjects(project, { sourceSchema, deployedBy: modelsDeployedBy })];
}

/** The source side alone, in the source schema (the models go by a blue/green deploy). */
function postgresSourceObjects(
    project: SqlProject,
    sourceSchema: string,
    cdc?: { datasets: RawDatasetName[]; schema: string },
): SqlObjectDefinition[] {
    const fromCdc = new Set<string>(cdc?.datasets ?? []);
    const sources = project.sources.map(dataset => fromCdc.has(dataset)
        ? inSchema(sourceSchema, dataset, "view",
            name => `CREATE VIEW ${name} AS\n${jsonViewQuery(dataset as RawDatasetName, { schema: cdc!.schema, name: dataset })}`, [sourceSchema])
        : inSchema(sourceSchema, dataset, "table", name => `CREATE TABLE ${name} (data jsonb NOT NULL)`, [sourceSchema]));
    return [schemaObject(sourceSchema), ...sources];
}

export interface ModelObjectsOptions {
    sourceSchema: string;
    /** Materialize's cluster: materialized views and indexes go there. Without one (PostgreSQL), every model is a plain view. */
    cluster?: string;
    /**
     * Where each of the models' schemas is built (a blue/green deploy builds them in staging
     * schemas); bare names resolve in the source schema first, then in public's.
     */
    buildSchema?: (schema: string) => string;
    /** The resource that builds them instead of their own (see SqlObjectDefinition). */
    deployedBy?: string;
}

/**
 * Where a model's bare names resolve: the datasets first (an earlier layout's relations of the
 * same names may still be in public while an upgrade runs), then the models of public.
 */
export function modelSearchPath(sourceSchema: string, publicSchema = defaultSchema): string[] {
    return [sourceSchema, publicSchema];
}

/**
 * Models as views, reading the datasets from the source schema; with a cluster, those declared
 * materialized become materialized views in it, with their indexes.
 */
export function modelObjects(project: SqlProject, options: ModelObjectsOptions): SqlObjectDefinition[] {
    const build = options.buildSchema ?? ((schema: string) => schema);
    const cluster = options.cluster === undefined ? undefined : quoteIdent(options.cluster);
    const sources = new Set(project.sources);
    const schemas = [...new Set([defaultSchema, ...project.models.map(m => m.schema)])];
    const searchPath = modelSearchPath(options.sourceSchema, build(defaultSchema));
    const built = (relation: { schema: string; name: string }) => qualifiedName(build(relation.schema), relation.name);
    const models = project.models.map((model): SqlObjectDefinition => {
        const materialized = cluster !== undefined && model.materialized === "materialized_view";
        return {
            key: relationKey(model),
            kind: materialized ? "materialized view" : "view",
            schema: build(model.schema),
            name: model.name,
            create: materialized
                ? `CREATE MATERIALIZED VIEW ${built(model)} IN CLUSTER ${cluster} AS\n${model.query}`
                : `CREATE VIEW ${built(model)} AS\n${model.query}`,
            dependsOn: [
                ...(model.schema === defaultSchema ? [] : [model.schema]),
                ...model.dependsOn.map(key => (sources.has(key) ? relationKey({ schema: options.sourceSchema, name: key }) : key)),
            ],
            searchPath,
            deployedBy: options.deployedBy,
        };
    });
    const indexes = cluster === undefined ? [] : project.models.flatMap(model => model.indexes.map((columns): SqlObjectDefinition => {
        const name = `${model.name}_${columns.join("_")}_idx`;
        return {
            key: relationKey({ schema: model.schema, name }),
            kind: "index",
            schema: build(model.schema),
            name,
            create: `CREATE INDEX ${quoteIdent(name)} IN CLUSTER ${cluster} ON ${built(model)} (${columns.map(quoteIdent).join(", ")})`,
            dependsOn: [relationKey(model)],
            deployedBy: options.deployedBy,
        };
    }));
    const ownSchemas = schemas.filter(schema => schema !== defaultSchema)
        .map(schema => ({ ...schemaObject(build(schema)), key: schema, deployedBy: options.deployedBy }));
    return [...ownSchemas, ...models, ...indexes];
}
