import * as path from "node:path";
import { parseArgs } from "node:util";
import { Client } from "pg";
import { loadSqlProject } from "../lib/sqlProject";
import { datasetNames } from "../lib/datasets";
import { cdcScenarios, findCdcScenario, runCdcScenario } from "../producer/cdcScenarios";
import { failureViewOf, findScenario, runScenario, scenarios, trippedViews } from "../producer/scenarios";
import { runCli, UsageError } from "./run";
import { describeRoute } from "../lib/routes";
import { repoDir, resolvePostgresUrl, resolveTarget, stackOutputs } from "./target";

const usage = `usage: npm run scenario -- <name> [--brokers host:port,...] [--topic-prefix P]
       npm run scenario -- --list

Sends the events of one failure scenario to a running stack; each trips its own failure views.
Each record goes where the stack reads its dataset (its output datasets): to the topic, or, for a
dataset read from PostgreSQL by CDC (cdcDatasets), INSERTed into its table there. The CDC
scenarios (rename-customer, delete-customer) change a row of the PostgreSQL table of a stack whose
raw_customers comes from PostgreSQL.

  --list              the scenarios and the failure views each one trips
  --brokers LIST      Kafka bootstrap servers (default: $JSS_KAFKA_BROKERS, else the stack's
                      output kafkaBootstrapServers; STACK picks the stack, default dev)
  --topic-prefix P    topic name prefix (default: the stack's topics, else none)
  --cdc-datasets LIST with --brokers (no stack): datasets INSERTed into their PostgreSQL table
                      (schema public) instead of sent to a topic, e.g. raw_customers
  --sql-dir DIR       the SQL project the views come from (default: sql)
  --seeds-dir DIR     the seeds re-sent by duplicate-* scenarios (default: seeds)
  --postgres-url URL  the PostgreSQL of the CDC tables (default: $JSS_POSTGRES_URL, else the stack's
                      output postgresUrl; the password from the URL, PGPASSWORD or the stack)
  -h, --help          this help`;

runCli(usage, async () => {
    const { values, positionals } = parseArgs({
        options: {
            list: { type: "boolean" },
            brokers: { type: "string" },
            "topic-prefix": { type: "string" },
            "cdc-datasets": { type: "string" },
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
        const url = resolvePostgresUrl(values["postgres-url"], stackPostgresUrl);
        const client = await connectPostgres(url);
        try {
            await runCdcScenario(cdcScenario, client);
        } finally {
            await client.end().catch(() => undefined);
        }
        const views = cdcScenario.trips.map(test => failureViewOf(project, test));
        console.log(`${cdcScenario.name}: ${cdcScenario.statement("public").text.split(" ")[0]} of one ${cdcScenario.dataset} row on ${withoutCredentials(url)}`);
        console.log(views.length > 0 ? `now tripped: ${views.join(", ")}` : "now tripped: nothing; the customers mart changed in place");
        return;
    }
    const scenario = findScenario(positionals[0]);
    const views = trippedViews(project, scenario);
    const target = resolveTarget({ brokers: values.brokers, topicPrefix: values["topic-prefix"], cdcDatasets: values["cdc-datasets"] });
    const records = await runScenario(scenario, {
        kafka: target.kafka,
        routes: target.routes,
        seedsDir: values["seeds-dir"],
        connectPostgres: () => connectPostgres(resolvePostgresUrl(values["postgres-url"], () => target.stackPostgresUrl)),
    });
    console.log(`${scenario.name}: sent ${records.length} event(s) to ${target.kafka.brokers.join(",")} (${target.origin}):`);
    for (const { dataset, record } of records) console.log(`  ${describeRoute(target.routes[dataset])}  ${JSON.stringify(record)}`);
    console.log(target.stackHasFailureViews === false
        ? `the stack manages no SQL objects (sqlObjects: false): once dbt made them, this trips ${views.join(", ")}`
        : `now tripped: ${views.join(", ")}`);
});

/** The stack's output postgresUrl: set only when some dataset comes from PostgreSQL. */
function stackPostgresUrl(): string | undefined {
    let outputs: Record<string, unknown>;
    try {
        outputs = stackOutputs();
    } catch (err) {
        throw new Error(`no PostgreSQL to change: pass --postgres-url or set JSS_POSTGRES_URL.\n  ${(err as Error).message}`);
    }
    return typeof outputs.postgresUrl === "string" ? outputs.postgresUrl : undefined;
}

async function connectPostgres(url: string): Promise<Client> {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    try {
        await client.connect();
    } catch (err) {
        await client.end().catch(() => undefined);
        throw new Error(`cannot connect to the PostgreSQL of the CDC tables at ${withoutCredentials(url)}: ${(err as Error).message}`);
    }
    return client;
}

function withoutCredentials(url: string): string {
    return url.replace(/\/\/[^@/]*@/, "//");
}
