import * as pulumi from "@pulumi/pulumi";
import { SqlObjectGraph } from "../../../components/sqlObjectGraph";
import { postgresObjects, SqlObjectDefinition } from "../../../lib/ddl";
import { quoteIdent } from "../../../lib/quote";
import { loadSqlProject, relationKey, SqlProject } from "../../../lib/sqlProject";

// The SQL-object provider on PostgreSQL: the given project's sources as jsonb tables, its models
// as plain views. The engine tests point sqlDir at projects they edit between updates; with
// layout "previous", the objects are laid out as the version before the source schema did.
const config = new pulumi.Config();
const project = loadSqlProject(config.require("sqlDir"), config.requireObject<string[]>("sources"));

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

const graph = new SqlObjectGraph("postgres", {
    connection: {
        dialect: "postgres",
        host: config.require("host"),
        port: config.requireNumber("port"),
        user: config.require("user"),
        database: config.require("database"),
        ssl: false,
        connectTimeoutSeconds: 10,
    },
    objects: config.get("layout") === "previous" ? previousLayout(project) : postgresObjects(project, config.get("sourceSchema") ?? "ingest"),
});

export const objects = Object.keys(graph.objects);
