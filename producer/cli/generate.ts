import { randomInt } from "node:crypto";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { datasetNames } from "../datasets";
import { generateUnits, seedProfile } from "../generator";
import { maxGeneratorSeed } from "../idRanges";
import { readSeeds } from "../seeds";
import { streamUnits, StreamSummary } from "../stream";
import { integerFlag, runCli, UsageError } from "./run";
import { repoDir, resolveKafkaTarget } from "./target";

const usage = `usage: npm run generate -- [--rate N | --count N] [--seed S] [--brokers host:port,...] [--topic-prefix P]

Streams new customers, orders and payments (jaffle_shop's shape, distributions of the seeds) to
a running stack until Ctrl-C, or until --count events are sent. Every order has a customer and
at least one payment, so the generated data trips no failure view.

  --rate N            events per second (default 10 without --count; none with it: as fast as possible)
  --count N           send exactly N events, then stop
  --seed S            0..${maxGeneratorSeed}: the random sequence and the id block (default: random,
                      printed). The same seed replays the same events with the same ids, so
                      replaying onto the same topics trips the unique_* views; use a new seed for more data
  --brokers LIST      Kafka bootstrap servers (default: $JSS_KAFKA_BROKERS, else the stack's
                      output kafkaBootstrapServers; STACK picks the stack, default dev)
  --topic-prefix P    topic name prefix (default: the stack's topicNames, else none)
  --seeds-dir DIR     the seeds the distributions are learned from (default: seeds)
  --batch-size N      events per produce request (default 1000)
  --max-in-flight N   unacknowledged batches (default 4)
  --acks all|1        acknowledgement by all in-sync replicas (default) or the leader only
  --json              print the summary as JSON on stdout
  -h, --help          this help`;

runCli(usage, async () => {
    const { values } = parseArgs({
        options: {
            rate: { type: "string" },
            count: { type: "string" },
            seed: { type: "string" },
            brokers: { type: "string" },
            "topic-prefix": { type: "string" },
            "seeds-dir": { type: "string", default: path.join(repoDir, "seeds") },
            "batch-size": { type: "string", default: "1000" },
            "max-in-flight": { type: "string", default: "4" },
            acks: { type: "string", default: "all" },
            json: { type: "boolean" },
            help: { type: "boolean", short: "h" },
        },
    });
    if (values.help) {
        console.log(usage);
        return;
    }
    const count = integerFlag("count", values.count, { min: 1 });
    const rate = integerFlag("rate", values.rate, { min: 1 }) ?? (count === undefined ? 10 : undefined);
    const seed = integerFlag("seed", values.seed, { min: 0, max: maxGeneratorSeed }) ?? randomInt(maxGeneratorSeed + 1);
    if (values.acks !== "all" && values.acks !== "1") throw new UsageError(`--acks must be all or 1, not "${values.acks}"`);
    const target = resolveKafkaTarget({ brokers: values.brokers, topicPrefix: values["topic-prefix"] });

    const profile = seedProfile(readSeeds(values["seeds-dir"]));
    const stop = new AbortController();
    // First Ctrl-C: finish the batches in flight and print the summary; a second one quits at once.
    process.once("SIGINT", () => {
        process.stderr.write("stopping: waiting for the batches in flight...\n");
        stop.abort();
        process.once("SIGINT", () => process.exit(130));
    });
    const log = (message: string) => process.stderr.write(`${message}\n`);
    log(
        `generating with seed ${seed} to ${target.kafka.brokers.join(",")} (${target.origin}), ` +
            `${count === undefined ? "until Ctrl-C" : `${count} events`}${rate === undefined ? ", as fast as possible" : ` at ${rate} events/s`}`,
    );
    let lastReport = Date.now();
    const summary = await streamUnits(generateUnits(profile, { seed, count }), {
        kafka: target.kafka,
        topics: target.topics,
        rate,
        batchSize: integerFlag("batch-size", values["batch-size"], { min: 1 }),
        maxInFlight: integerFlag("max-in-flight", values["max-in-flight"], { min: 1 }),
        acks: values.acks === "all" ? -1 : 1,
        signal: stop.signal,
        onProgress: progress => {
            if (Date.now() - lastReport < 5_000) return;
            lastReport = Date.now();
            log(`  ${describeSummary(progress)}`);
        },
    });
    if (values.json) console.log(JSON.stringify({ seed, ...summary }));
    log(`sent ${describeSummary(summary)}`);
    for (const name of datasetNames) log(`  ${target.topics[name].padEnd(28)}${summary.sent[name].toLocaleString("en-US")}`);
    log(`replay these events with --seed ${seed}`);
});

function describeSummary(summary: StreamSummary): string {
    const seconds = summary.elapsedMs / 1000;
    const perSecond = seconds > 0 ? Math.round(summary.total / seconds) : 0;
    return `${summary.total.toLocaleString("en-US")} events in ${seconds.toFixed(1)} s (${perSecond.toLocaleString("en-US")} events/s)`;
}
