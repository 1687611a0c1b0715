import * as pulumi from "@pulumi/pulumi";
import { SqlObjectGraph } from "../../../components/sqlObjectGraph";
import { postgresObjects } from "../../../lib/ddl";
import { loadSqlProject } from "../../../lib/sqlProject";

// The SQL-object provider on PostgreSQL: the given project's sources as jsonb tables, its models
// as plain views. The engine tests point sqlDir at projects they edit between updates.
const config = new pulumi.Config();
const project = loadSqlProject(config.require("sqlDir"), config.requireObject<string[]>("sources"));

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
    objects: postgresObjects(project),
});

export const objects = Object.keys(graph.objects);
