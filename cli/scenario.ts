import * as path from "node:path";
import { parseArgs } from "node:util";
import { Client } from "pg";
import { loadSqlProject } from "../lib/sqlProject";
import { datasetNames } from "../lib/datasets";
import { cdcScenarios, findCdcScenario, runCdcScenario } from "../producer/cdcScenarios";
import { failureViewOf, findScenario, runScenario, scenarios, trippedViews } from "../producer/scenarios";
import { runCli, UsageError } from "./run";
import { repoDir, resolveKafkaTarget, stackOutputs } from "./target";

const usage = `usage: npm run scenario -- <name> [--brokers host:port,...] [--topic-prefix P]
       npm run scenario -- --list

Sends the events of one failure scenario to a running stack; each trips its own failure views.
The CDC scenarios (rename-customer, delete-customer) change a row of the PostgreSQL table of a
stack whose raw_customers comes from PostgreSQL (cdcDatasets); the password comes from PGPASSWORD.

  --list              the scenarios and the failure views each one trips
  --brokers LIST      Kafka bootstrap servers (default: $JSS_KAFKA_BROKERS, else the stack's
                      output kafkaBootstrapServers; STACK picks the stack, default dev)
  --topic-prefix P    topic name prefix (default: the stack's topicNames, else none)
  --sql-dir DIR       the SQL project the views come from (default: sql)
  --seeds-dir DIR     the seeds re-sent by duplicate-* scenarios (default: seeds)
  --postgres-url URL  CDC scenarios: the PostgreSQL of the CDC tables (default: $JSS_POSTGRES_URL,
                      else the stack's output postgresUrl)
  -h, --help          this help`;

runCli(usage, async () => {
    const { values, positionals } = parseArgs({
        options: {
            list: { type: "boolean" },
            brokers: { type: "string" },
            "topic-prefix": { type: "string" },
            "sql-dir": { type: "string", default: path.join(repoDir, "sql") },
            "seeds-dir": { type: "string", default: path.join(repoDir, "seeds") },
            "postgres-url": { type: "string" },
            help: { type: "boolean", short: "h" },
        },
        allowPositionals: true,
    });
    if (values.help) {
        console.log(usage);
        return;
    }
    const project = loadSqlProject(values["sql-dir"], datasetNames);
    if (values.list) {
        for (const scenario of scenarios) {
            console.log(`${scenario.name.padEnd(24)}${scenario.description}`);
            for (const view of trippedViews(project, scenario)) console.log(`${"".padEnd(26)}${view}`);
        }
        for (const scenario of cdcScenarios) {
            console.log(`${scenario.name.padEnd(24)}${scenario.description} (CDC: ${scenario.dataset} from PostgreSQL)`);
            const views = scenario.trips.map(test => failureViewOf(project, test));
            for (const view of views.length > 0 ? views : ["(no failure view: the mart changes in place)"]) console.log(`${"".padEnd(26)}${view}`);
        }
        return;
    }
    if (positionals.length !== 1) {
        throw new UsageError(`expected one scenario name (known: ${scenarios.map(s => s.name).join(", ")})`);
    }
    const cdcScenario = findCdcScenario(positionals[0]);
    if (cdcScenario) {
        const url = values["postgres-url"] ?? process.env.JSS_POSTGRES_URL ?? stackPostgresUrl();
        const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
        await client.connect();
        try {
            await runCdcScenario(cdcScenario, client);
        } finally {
            await client.end().catch(() => undefined);
        }
        const views = cdcScenario.trips.map(test => failureViewOf(project, test));
        console.log(`${cdcScenario.name}: ${cdcScenario.statement("public").text.split(" ")[0]} of one ${cdcScenario.dataset} row on ${url.replace(/\/\/[^@/]*@/, "//")}`);
        console.log(views.length > 0 ? `now tripped: ${views.join(", ")}` : "now tripped: nothing; the customers mart changed in place");
        return;
    }
    const scenario = findScenario(positionals[0]);
    const views = trippedViews(project, scenario);
    const target = resolveKafkaTarget({ brokers: values.brokers, topicPrefix: values["topic-prefix"] });
    const records = await runScenario(scenario, { kafka: target.kafka, topics: target.topics, seedsDir: values["seeds-dir"] });
    console.log(`${scenario.name}: sent ${records.length} event(s) to ${target.kafka.brokers.join(",")} (${target.origin}):`);
    for (const { dataset, record } of records) console.log(`  ${target.topics[dataset]}  ${JSON.stringify(record)}`);
    console.log(target.stackHasFailureViews === false
        ? `the stack manages no SQL objects (sqlObjects: false): once dbt made them, this trips ${views.join(", ")}`
        : `now tripped: ${views.join(", ")}`);
});

/** The stack's output postgresUrl: set only when some dataset comes from PostgreSQL. */
function stackPostgresUrl(): string {
    let outputs: Record<string, unknown>;
    try {
        outputs = stackOutputs();
    } catch (err) {
        throw new Error(`no PostgreSQL to change: pass --postgres-url or set JSS_POSTGRES_URL.\n  ${(err as Error).message}`);
    }
    if (typeof outputs.postgresUrl !== "string") {
        throw new Error("the stack has no output postgresUrl: no dataset comes from PostgreSQL (set cdcDatasets), or pass --postgres-url");
    }
    return outputs.postgresUrl;
}
