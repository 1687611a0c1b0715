import * as pulumi from "@pulumi/pulumi";
import { SqlObjectGraph } from "../../../components/sqlObjectGraph";
import { postgresObjects, postgresSourceObjects, SqlObjectDefinition } from "../../../lib/ddl";
import { modelsDeploymentPlan } from "../../../lib/deployment";
import { ModelsDeployment } from "../../../lib/modelsDeployment";
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
    const views = project.models.map((model): SqlObjectDefinition => ({
        key: relationKey(model), kind: "view", schema: model.schema, name: model.name,
        create: `CREATE VIEW ${quoteIdent(model.schema)}.${quoteIdent(model.name)} AS\n${model.query}`, dependsOn: model.dependsOn,
    }));
    return [...tables, ...views];
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

const blueGreen = config.get("modelChanges") === "blueGreen";
const graph = new SqlObjectGraph("postgres", {
    connection,
    objects: config.get("layout") === "previous" ? previousLayout(project)
        : blueGreen ? postgresSourceObjects(project, sourceSchema) : postgresObjects(project, sourceSchema),
});
const deployment = blueGreen ? new ModelsDeployment("models-deployment", {
    connection,
    stack: pulumi.getStack(),
    ...modelsDeploymentPlan(project, { sourceSchema }),
    readiness: { timeoutSeconds: config.getNumber("deployTimeoutSeconds") ?? 60, maxLagSeconds: 1, pollMs: 200 },
}, { dependsOn: Object.values(graph.objects) }) : undefined;

export const objects = Object.keys(graph.objects);
export const deployedObjects = deployment?.objects.apply(deployed => deployed.map(object => object.key));
