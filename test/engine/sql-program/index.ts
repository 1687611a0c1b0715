import * as pulumi from "@pulumi/pulumi";
import { SqlObjectGraph } from "../../../components/sqlObjectGraph";
import { postgresObjects, SqlObjectDefinition } from "../../../lib/ddl";
import { deployModels } from "../../../lib/modelsDeployment";
import { quoteIdent } from "../../../lib/quote";
import { SqlConnection } from "../../../lib/sqlObject";
import { loadSqlProject, relationKey, SqlProject } from "../../../lib/sqlProject";

// The SQL-object provider on PostgreSQL: the given project's sources as jsonb tables, its models
// as plain views. The engine tests point sqlDir at projects they edit between updates; with
// layout "previous", the objects are laid out as the version before the source schema did; with
// modelChanges "blueGreen", the models are one deployment.
const config = new pulumi.Config();
const project = loadSqlProject(config.require("sqlDir"), config.requireObject<string[]>("sources"));
const sourceSchema = config.get("sourceSchema") ?? "ingest";

/** The previous version's layout: source tables in public, keyed by their bare name, models reading them there. */
function previousLayout(project: SqlProject): SqlObjectDefinition[] {
    const tables = project.sources.map((source): SqlObjectDefinition => ({
        key: source, kind: "table", schema: "public", name: source, create: `CREATE TABLE ${quoteIdent(source)} (data jsonb NOT NULL)`, dependsOn: [],
    }));
    const schemas = [...new Set(project.models.map(model => model.schema).filter(schema => schema !== "public"))].map((schema): SqlObjectDefinition => ({
        key: schema, kind: "schema", schema, name: schema, create: `CREATE SCHEMA ${quoteIdent(schema)}`, dependsOn: [],
    }));
    const views = project.models.map((model): SqlObjectDefinition => ({
        key: relationKey(model), kind: "view", schema: model.schema, name: model.name,
        create: `CREATE VIEW ${quoteIdent(model.schema)}.${quoteIdent(model.name)} AS\n${model.query}`,
        dependsOn: [...(model.schema === "public" ? [] : [model.schema]), ...model.dependsOn],
    }));
    return [...tables, ...schemas, ...views];
}

const connection: SqlConnection = {
    dialect: "postgres",
    host: config.require("host"),
    port: config.requireNumber("port"),
    user: config.require("user"),
    database: config.require("database"),
    ssl: false,
    connectTimeoutSeconds: 10,
};

const mode = config.get("modelChanges") === "blueGreen" ? "blueGreen" : "replace";
const graph = new SqlObjectGraph("postgres", {
    connection,
    objects: config.get("layout") === "previous" ? previousLayout(project)
        : postgresObjects(project, sourceSchema, undefined, mode === "blueGreen" ? "models-deployment" : undefined),
});
const deployment = config.get("layout") === "previous" ? undefined : deployModels("models-deployment", {
    connection,
    stack: pulumi.getStack(),
    mode,
    project,
    sourceSchema,
    readiness: { timeoutSeconds: config.getNumber("deployTimeoutSeconds") ?? 60, maxLagSeconds: 1, pollMs: 200 },
    objects: graph.objects,
    // The previous layout kept the source tables in public, under the datasets' names.
    earlierLayout: project.sources,
}, {});

export const objects = Object.keys(graph.objects);
export const deployedObjects = deployment?.objects.apply(deployed => deployed.map(object => object.key));
