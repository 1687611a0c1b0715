import * as path from "node:path";
import { parseArgs } from "node:util";
import { loadSqlProject } from "../../lib/sqlProject";
import { datasetNames } from "../datasets";
import { findScenario, runScenario, scenarios, trippedViews } from "../scenarios";
import { runCli, UsageError } from "./run";
import { repoDir, resolveKafkaTarget } from "./target";

const usage = `usage: npm run scenario -- <name> [--brokers host:port,...] [--topic-prefix P]
       npm run scenario -- --list

Sends the events of one failure scenario to a running stack; each trips its own failure views.

  --list              the scenarios and the failure views each one trips
  --brokers LIST      Kafka bootstrap servers (default: $JSS_KAFKA_BROKERS, else the stack's
                      output kafkaBootstrapServers; STACK picks the stack, default dev)
  --topic-prefix P    topic name prefix (default: the stack's topicNames, else none)
  --sql-dir DIR       the SQL project the views come from (default: sql)
  --seeds-dir DIR     the seeds re-sent by duplicate-* scenarios (default: seeds)
  -h, --help          this help`;

runCli(usage, async () => {
    const { values, positionals } = parseArgs({
        options: {
            list: { type: "boolean" },
            brokers: { type: "string" },
            "topic-prefix": { type: "string" },
            "sql-dir": { type: "string", default: path.join(repoDir, "sql") },
            "seeds-dir": { type: "string", default: path.join(repoDir, "seeds") },
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
        return;
    }
    if (positionals.length !== 1) {
        throw new UsageError(`expected one scenario name (known: ${scenarios.map(s => s.name).join(", ")})`);
    }
    const scenario = findScenario(positionals[0]);
    const views = trippedViews(project, scenario);
    const target = resolveKafkaTarget({ brokers: values.brokers, topicPrefix: values["topic-prefix"] });
    const records = await runScenario(scenario, { kafka: target.kafka, topics: target.topics, seedsDir: values["seeds-dir"] });
    console.log(`${scenario.name}: sent ${records.length} event(s) to ${target.kafka.brokers.join(",")} (${target.origin}):`);
    for (const { dataset, record } of records) console.log(`  ${target.topics[dataset]}  ${JSON.stringify(record)}`);
    console.log(`now tripped: ${views.join(", ")}`);
});
