import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { planSqlObjects } from "../components/sqlObjectGraph";
import { materializeObjects, SqlObjectDefinition } from "../lib/ddl";
import { loadSqlProject } from "../lib/sqlProject";
import { datasetNames } from "../lib/datasets";

/**
 * Golden tests of the Materialize-only DDL: Materialize can't run here, so the exact statements
 * it receives are pinned in test/golden/. After a deliberate change, regenerate them with
 * UPDATE_GOLDEN=1 and review the diff.
 */
const repo = path.join(__dirname, "..");
const project = loadSqlProject(path.join(repo, "sql"), datasetNames);

/**
 * The statements in creation order. A model's own query stands as a placeholder naming where it
 * comes from: the golden pins the DDL around the models, and the queries are tested on PostgreSQL.
 */
function script(objects: SqlObjectDefinition[]): string {
    const withPlaceholders = (create: string) => project.models.reduce((statement, model) => {
        if (!statement.includes(model.query)) return statement;
        return statement.split(model.query).join(`<query of ${model.origin.replace(`${repo}${path.sep}`, "")}>`);
    }, create);
    return planSqlObjects(objects)
        .map(({ definition }) => `-- ${definition.kind} ${definition.key}\n${withPlaceholders(definition.create)};\n`)
        .join("\n");
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
            topics: Object.fromEntries(datasetNames.map(n => [n, n])),
            kafka: { brokers: ["jaffle-dev-redpanda:9092"], securityProtocol: "PLAINTEXT" },
        })));
    });

    it("for an external cluster: SASL over TLS with the password in a Materialize secret", () => {
        const ddl = script(materializeObjects(project, {
            cluster: "jaffle's cluster",
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
        const fromStaging = (text: string) => text.slice(text.indexOf("-- view stg_"));
        expect(fromStaging(ddl)).toBe(fromStaging(kafkaOnly));
        expect(ddl).not.toContain("(TOPIC 'raw_customers')");
    });
});
