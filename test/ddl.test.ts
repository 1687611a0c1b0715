import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { planSqlObjects } from "../components/sqlObjectGraph";
import { materializeObjects, SqlObjectDefinition } from "../lib/ddl";
import { deployStatements, modelsDeploymentPlan } from "../lib/deployment";
import { dropStatement, existsQuery, readDefinitionStatement, searchPathStatement } from "../lib/sqlKinds";
import { previousSubsourcesQuery, viewsReadingQuery } from "../lib/previousLayout";
import { alterSecretStatement } from "../lib/sqlObject";
import { loadSqlProject } from "../lib/sqlProject";
import { datasetNames } from "../lib/datasets";

/**
 * Golden tests of the Materialize-only DDL: Materialize can't run here, so the exact statements
 * it receives are pinned in test/golden/. After a deliberate change, regenerate them with
 * UPDATE_GOLDEN=1 and review the diff.
 */
const repo = path.join(__dirname, "..");
const project = loadSqlProject(path.join(repo, "sql"), datasetNames);

/** A model's own query stands as a placeholder naming where it comes from. */
function withQueries(statement: string): string {
    return project.models.reduce((text, model) => {
        if (!text.includes(model.query)) return text;
        return text.split(model.query).join(`<query of ${model.origin.replace(`${repo}${path.sep}`, "")}>`);
    }, statement);
}

/**
 * Every statement the SQL-object provider can send for these objects: how it checks existence,
 * then per object in creation order its CREATE (after the search path it sets), how it reads the
 * definition back and how it changes a secret, then the drops in the order a destroy runs them. A
 * model's own query stands as a placeholder naming where it comes from: the golden pins the DDL
 * around the models, and the queries are tested on PostgreSQL.
 */
function script(objects: SqlObjectDefinition[]): string {
    const withPlaceholders = withQueries;
    const planned = planSqlObjects(objects).map(p => p.definition);
    const catalogQueries = (query: (object: SqlObjectDefinition) => { text: string } | undefined) =>
        [...new Set(planned.map(object => query(object)?.text).filter(text => text !== undefined))].map(text => `${text};`).join("\n");
    const sections = [
        `-- whether an object exists ($1: schema, $2: name)\n${catalogQueries(object => existsQuery("materialize", object))}\n`,
        "-- after the other objects, before the earlier layout's resources are deleted (lib/previousLayout.ts): the subsources of\n" +
            "-- its PostgreSQL source, then per subsource the views reading it; each view dropped, then the subsource\n" +
            `${previousSubsourcesQuery().text};\n${viewsReadingQuery({ schema: "$1", name: "$2" }).text};\n` +
            `${dropStatement({ kind: "view", schema: "public", name: "raw_customers" })};\n` +
            `${dropStatement({ kind: "source", schema: "public", name: "raw_customers_cdc" })};\n`,
    ];
    for (const object of planned) {
        const lines = [`-- ${object.kind} ${object.key}`];
        if (object.searchPath) lines.push(`${searchPathStatement(object.searchPath)};`);
        lines.push(`${withPlaceholders(object.create)};`);
        const readBack = readDefinitionStatement("materialize", object);
        if (readBack) lines.push(`${readBack.text};`);
        if (object.kind === "secret") lines.push(`${alterSecretStatement(object)};`);
        sections.push(`${lines.join("\n")}\n`);
    }
    const drops = planned.slice().reverse().map(object => `${dropStatement(object)};`);
    sections.push(`-- destroy\n${drops.join("\n")}\n`);
    return sections.join("\n");
}


function expectGolden(name: string, actual: string) {
    const file = path.join(__dirname, "golden", name);
    if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(file, actual);
    expect(actual).toBe(fs.readFileSync(file, "utf8"));
}

describe("Materialize DDL", () => {
    it("for a local stack: plaintext Redpanda inside the Docker network", () => {
        expectGolden("materialize-local.sql", script(materializeObjects(project, {
            cluster: "quickstart",
            sourceSchema: "ingest",
            topics: Object.fromEntries(datasetNames.map(n => [n, n])),
            kafka: { brokers: ["jaffle-dev-redpanda:9092"], securityProtocol: "PLAINTEXT" },
        })));
    });

    it("for an external cluster: SASL over TLS with the password in a Materialize secret", () => {
        const ddl = script(materializeObjects(project, {
            cluster: "jaffle's cluster",
            sourceSchema: "ingest",
            topics: Object.fromEntries(datasetNames.map(n => [n, `alice.${n}`])),
            kafka: {
                brokers: ["b-1.example.com:9096", "b-2.example.com:9096"],
                securityProtocol: "SASL_SSL",
                sasl: { mechanism: "scram-sha-512", username: "jaffle" },
            },
        }));
        expectGolden("materialize-external.sql", ddl);
        expect(ddl).toContain(`IN CLUSTER "jaffle's cluster"`);
    });

    it("for a stack with raw_customers from PostgreSQL: a secret, a PostgreSQL connection, one source for the publication, a JSON view", () => {
        const ddl = script(materializeObjects(project, {
            cluster: "quickstart",
            sourceSchema: "ingest",
            topics: Object.fromEntries(datasetNames.map(n => [n, n])),
            kafka: { brokers: ["jaffle-dev-redpanda:9092"], securityProtocol: "PLAINTEXT" },
            postgres: {
                host: "jaffle-dev-postgres",
                port: 5432,
                user: "jaffle_materialize",
                database: "jaffle_shop",
                sslMode: "disable",
                publication: "jaffle_cdc",
                schema: "public",
                datasets: ["raw_customers"],
            },
        }));
        expectGolden("materialize-cdc.sql", ddl);
        // The staging models and everything after them are the Kafka-only stack's, byte for byte.
        const kafkaOnly = fs.readFileSync(path.join(__dirname, "golden", "materialize-local.sql"), "utf8");
        const models = (text: string) => text.slice(text.indexOf("-- view stg_"), text.indexOf("-- destroy"));
        expect(models(ddl)).toBe(models(kafkaOnly));
        expect(ddl).not.toContain("(TOPIC 'raw_customers')");
        expect(ddl).toContain(`CREATE TABLE "ingest"."raw_customers_cdc" FROM SOURCE "ingest"."postgres_cdc" (REFERENCE "public"."raw_customers")`);
    });

    it("for a blue/green deploy of the models: every statement, in the order sent", () => {
        const plan = modelsDeploymentPlan(project, { sourceSchema: "ingest", cluster: "quickstart" });
        const statements = deployStatements("materialize", { stack: "dev", ...plan, cluster: "quickstart", maxLagSeconds: 1 });
        const lines = (list: string[]) => list.map(statement => `${withQueries(statement)};`).join("\n");
        const golden = [
            `-- ${plan.plan}`,
            `-- what is in the production and staging schemas: anything not made by the models stops the deploy, changing nothing\n${statements.objects.text};`,
            `-- an earlier deploy's leftovers\n${lines(statements.dropStaging)}`,
            `-- the build\n${lines(statements.build)}`,
            `-- polled until nothing is pending, or deployTimeoutSeconds\n${statements.clusterProblems!.text};\n${statements.pending!.text};`,
            `-- the swap\n${lines(statements.swap)}`,
            `-- what was swapped out (on a failure before the swap: ROLLBACK, then the same)\n${lines(statements.dropStaging)}`,
            `-- destroy\n${lines(statements.destroy)}`,
        ].join("\n\n") + "\n";
        // The fingerprint changes with any model's SQL, which the other goldens and the PostgreSQL tests hold.
        expectGolden("materialize-deploy.sql", golden.replace(/deploy [0-9a-f]{12}/g, "deploy <fingerprint>"));
        expect(golden).toMatch(/^BEGIN;\nALTER SCHEMA "public" SWAP WITH "public__deploy";\nALTER SCHEMA "public_etl_failure" SWAP WITH "public_etl_failure__deploy";\nCOMMIT;$/m);
        // CASCADE only on the staging schemas, which hold nothing but what the deploy checked is its own.
        for (const line of golden.split("\n").filter(l => /CASCADE/.test(l))) expect(line).toMatch(/^DROP SCHEMA IF EXISTS "[a-z_]+__deploy" CASCADE;$/);
    });

    it.each(["materialize-local.sql", "materialize-external.sql", "materialize-cdc.sql"])(
        "%s: sources on the current syntax in the source schema, no CASCADE, every kind of the kinds table in order",
        golden => {
            const ddl = fs.readFileSync(path.join(__dirname, "golden", golden), "utf8");
            expect(ddl).not.toMatch(/CASCADE/i);
            // FORMAT belongs to the tables: a source with one is Materialize's legacy syntax.
            expect(ddl).not.toMatch(/^CREATE SOURCE .*FORMAT/m);
            for (const statement of ddl.match(/^CREATE (SOURCE|TABLE|CONNECTION|SECRET) \S+/gm) ?? []) expect(statement).toMatch(/ "ingest"\./);
        },
    );
});
