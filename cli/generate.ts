import { randomInt } from "node:crypto";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { datasetNames, RawDatasetName } from "../lib/datasets";
import { cdcTablesOf, describeRoute, topicsOf } from "../lib/routes";
import { cdcTableWriter } from "../producer/cdcTables";
import { generateUnits, seedProfile } from "../producer/generator";
import { maxGeneratorSeed } from "../producer/idRanges";
import { defaultRequestTimeoutMs } from "../producer/kafka";
import { seedRows } from "../producer/seeds";
import { defaultRetryForMs, defaultThreads, emptySummary, streamUnits, StreamSummary } from "../producer/stream";
import { integerFlag, runCli } from "./run";
import { repoDir, resolvePostgresUrl, resolveTarget } from "./target";

const usage = `usage: npm run generate -- [--rate N | --count N] [--seed S] [--brokers host:port,...] [--topic-prefix P]

Streams new customers, orders and payments (jaffle_shop's shape, distributions of the seeds) to
a running stack until Ctrl-C, or until --count events are sent. Every order has a customer and
at least one payment, so the generated data trips no failure view.

Each dataset goes where the stack reads it (its output datasets): to its Kafka topic, or, for a
dataset read from PostgreSQL by CDC (cdcDatasets), INSERTed into its table there, one
transaction per batch.

Each event lands exactly once: batches go out on idempotent producers, and a batch the broker
does not acknowledge (paused, restarting) is sent again, for up to --retry-for seconds; the broker
drops the copies of attempts that did land. A batch of CDC rows PostgreSQL does not answer is
written again the same way, and its ids are the table's primary key, so rows that landed are not
written twice. However it ends (--count reached, Ctrl-C, Kafka or PostgreSQL gone for good), it
prints the events acknowledged per topic and table and, when it stopped short, how to send the
rest.

  --rate N            events per second (default 10 without --count; none with it: as fast as possible)
  --count N           send exactly N events, then stop
  --seed S            0..${maxGeneratorSeed}: the random sequence and the id block (default: random,
                      printed). The same seed replays the same events with the same ids, so
                      replaying onto the same topics trips the unique_* views; use a new seed for more data
  --retry-for S       seconds a batch is retried while the broker does not acknowledge it, then the
                      generator stops (default ${defaultRetryForMs / 1000})
  --request-timeout MS
                      how long a request may go unanswered before it is sent again (default ${defaultRequestTimeoutMs})
  --brokers LIST      Kafka bootstrap servers (default: $JSS_KAFKA_BROKERS, else the stack's
                      output kafkaBootstrapServers; STACK picks the stack, default dev)
  --topic-prefix P    topic name prefix (default: the stack's topics, else none)
  --cdc-datasets LIST with --brokers (no stack): datasets INSERTed into their PostgreSQL table
                      (schema public) instead of sent to a topic, e.g. raw_customers
  --postgres-url URL  the PostgreSQL of the CDC tables (default: $JSS_POSTGRES_URL, else the stack's
                      output postgresUrl; the password from the URL, PGPASSWORD or the stack)
  --seeds-dir DIR     the seeds the distributions are learned from (default: seeds)
  --batch-size N      events per produce request (default 1000)
  --max-in-flight N   unacknowledged batches, each on its own producer (default 4)
  --threads N         worker threads the producers run in, so that encoding runs beside
                      generating (default ${defaultThreads}; 0: all on one thread)
  --json              print the summary as JSON on stdout (the readable one goes to stderr)
  -h, --help          this help

Exit status: 0 when --count events were acknowledged (without --count: when Ctrl-C stopped it),
1 when Kafka failed it short of --count, 130 when Ctrl-C stopped it short of --count.`;

const flags = {
    rate: { type: "string" },
    count: { type: "string" },
    seed: { type: "string" },
    "retry-for": { type: "string", default: String(defaultRetryForMs / 1000) },
    "request-timeout": { type: "string", default: String(defaultRequestTimeoutMs) },
    brokers: { type: "string" },
    "topic-prefix": { type: "string" },
    "cdc-datasets": { type: "string" },
    "postgres-url": { type: "string" },
    "seeds-dir": { type: "string", default: path.join(repoDir, "seeds") },
    "batch-size": { type: "string", default: "1000" },
    "max-in-flight": { type: "string", default: "4" },
    threads: { type: "string", default: String(defaultThreads) },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
} as const;

/** How a run ended: complete (--count reached), stopped (Ctrl-C, no --count), interrupted (Ctrl-C short of --count), failed. */
type Outcome = "complete" | "stopped" | "interrupted" | "failed";

const exitCodes: Record<Outcome, number> = { complete: 0, stopped: 0, interrupted: 130, failed: 1 };

/** What the user needs to send the rest: a new seed, whose id block nothing of this run can be in. */
interface Resume {
    seed: number;
    count?: number;
    args: string[];
}

runCli(usage, async () => {
    const { values, tokens } = parseArgs({ options: flags, tokens: true });
    if (values.help) {
        console.log(usage);
        return;
    }
    const count = integerFlag("count", values.count, { min: 1 });
    const rate = integerFlag("rate", values.rate, { min: 1 }) ?? (count === undefined ? 10 : undefined);
    const seed = integerFlag("seed", values.seed, { min: 0, max: maxGeneratorSeed }) ?? randomInt(maxGeneratorSeed + 1);
    const retryForMs = integerFlag("retry-for", values["retry-for"], { min: 0, max: 86_400 })! * 1000;
    const requestTimeoutMs = integerFlag("request-timeout", values["request-timeout"], { min: 100, max: 600_000 })!;
    const batchSize = integerFlag("batch-size", values["batch-size"], { min: 1 });
    const maxInFlight = integerFlag("max-in-flight", values["max-in-flight"], { min: 1, max: 64 });
    const threads = integerFlag("threads", values.threads, { min: 0, max: 16 });
    const target = resolveTarget({ brokers: values.brokers, topicPrefix: values["topic-prefix"], cdcDatasets: values["cdc-datasets"] });
    const destinations = Object.fromEntries(datasetNames.map(name => [name, describeRoute(target.routes[name])])) as Record<RawDatasetName, string>;
    const cdcTables = cdcTablesOf(target.routes);
    const cdcDatasets = Object.keys(cdcTables) as RawDatasetName[];
    const writer = cdcDatasets.length === 0 ? undefined : cdcTableWriter({
        url: resolvePostgresUrl(values["postgres-url"], () => target.stackPostgresUrl),
        tables: cdcTables,
        retryForMs,
        requestTimeoutMs,
        onRetrying: error => log(`  writing to PostgreSQL failed (${error.message}); retrying each batch for up to ${retryForMs / 1000} s`),
    });
    const profile = seedProfile(seedRows(values["seeds-dir"]));
    // This command again, less what a continuation changes.
    const sameFlags = tokens.flatMap(token =>
        token.kind === "option" && token.name !== "count" && token.name !== "seed"
            ? [token.rawName, ...(token.value === undefined ? [] : [token.value])]
            : [],
    );

    const log = (message: string) => process.stderr.write(`${message}\n`);
    const report = (summary: StreamSummary, outcome: Outcome) => {
        const resume = outcome === "complete" || outcome === "stopped" ? undefined : resumeOf(sameFlags, seed, count, summary);
        if (values.json) {
            const { failure, ...counts } = summary;
            console.log(JSON.stringify({ seed, ...counts, outcome, error: failure?.message, datasets: target.routes, resume }));
        }
        const write = values.json ? log : (line: string) => process.stdout.write(`${line}\n`);
        for (const line of describeRun(summary, outcome, { seed, count, destinations, resume })) write(line);
    };

    const stop = new AbortController();
    let latest: StreamSummary | undefined;
    // First Ctrl-C: finish the batches in flight, then the summary; a second one: the summary at once.
    const onSignal = () => {
        if (!stop.signal.aborted) {
            log("stopping: waiting for the batches in flight (Ctrl-C again to stop at once)...");
            stop.abort();
            return;
        }
        report(latest ?? emptySummary(), "interrupted");
        process.exit(exitCodes.interrupted);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);

    log(
        `generating with seed ${seed} to ${target.kafka.brokers.join(",")} (${target.origin}), ` +
            `${count === undefined ? "until Ctrl-C" : `${count} events`}${rate === undefined ? ", as fast as possible" : ` at ${rate} events/s`}`,
    );
    let lastReport = Date.now();
    const summary = await streamUnits(generateUnits(profile, { seed, count }), {
        kafka: target.kafka,
        topics: topicsOf(target.routes),
        cdcTables: writer && { datasets: cdcDatasets, writer },
        rate,
        batchSize,
        maxInFlight,
        threads,
        retryForMs,
        requestTimeoutMs,
        signal: stop.signal,
        onNotice: message => log(`  ${message}`),
        onProgress: progress => {
            latest = progress;
            if (Date.now() - lastReport < 5_000) return;
            lastReport = Date.now();
            log(`  ${formatCount(progress.total)} events ${describeTiming(progress)}`);
        },
    });
    await writer?.close();
    const outcome: Outcome = summary.failure
        ? "failed"
        : count !== undefined && summary.total < count
          ? "interrupted"
          : stop.signal.aborted && count === undefined
            ? "stopped"
            : "complete";
    report(summary, outcome);
    process.exitCode = exitCodes[outcome];
});

function describeRun(
    summary: StreamSummary,
    outcome: Outcome,
    run: { seed: number; count?: number; destinations: Record<RawDatasetName, string>; resume?: Resume },
): string[] {
    const of = run.count === undefined ? "" : ` of ${formatCount(run.count)}`;
    const lines = [`sent ${formatCount(summary.total)}${of} events ${describeTiming(summary)}`];
    const width = Math.max(...datasetNames.map(name => run.destinations[name].length)) + 2;
    for (const name of datasetNames) lines.push(`  ${run.destinations[name].padEnd(width)}${formatCount(summary.sent[name]).padStart(11)}`);
    if (outcome === "failed") lines.push(`stopped short: ${summary.failure!.message}`);
    if (outcome === "interrupted") lines.push("stopped short by Ctrl-C");
    const unacknowledged = datasetNames.filter(name => summary.unacknowledged[name] > 0);
    if (unacknowledged.length > 0) {
        const total = unacknowledged.reduce((sum, name) => sum + summary.unacknowledged[name], 0);
        const perDestination = unacknowledged.map(name => `${run.destinations[name]} ${formatCount(summary.unacknowledged[name])}`).join(", ");
        lines.push(`${formatCount(total)} more were sent but never acknowledged (${perDestination}): they may or may not have landed`);
    }
    if (run.resume) {
        const rest = run.resume.count === undefined ? "more events" : `the other ${formatCount(run.resume.count)} events`;
        lines.push(`send ${rest} with a new seed (its own id block: nothing it sends can collide with this run's events):`);
        lines.push(`  npm run generate -- ${run.resume.args.map(shellQuote).join(" ")}`);
    } else {
        lines.push(`replay these events with --seed ${run.seed}`);
    }
    return lines;
}

/**
 * The same command with a new seed and, with --count, what is left of it. Not the same seed
 * resumed: an unacknowledged batch may still land (a paused broker works through the requests
 * queued on its sockets when it resumes), and its ids would then be sent twice.
 */
function resumeOf(sameFlags: string[], seed: number, count: number | undefined, summary: StreamSummary): Resume {
    let next: number;
    do next = randomInt(maxGeneratorSeed + 1);
    while (next === seed);
    const remaining = count === undefined ? undefined : count - summary.total;
    const args = [...sameFlags, ...(remaining === undefined ? [] : ["--count", String(remaining)]), "--seed", String(next)];
    return { seed: next, count: remaining, args };
}

function describeTiming(summary: StreamSummary): string {
    const seconds = summary.elapsedMs / 1000;
    const perSecond = seconds > 0 ? Math.round(summary.total / seconds) : 0;
    return `in ${seconds.toFixed(1)} s (${formatCount(perSecond)} events/s)`;
}

function formatCount(n: number): string {
    return n.toLocaleString("en-US");
}

function shellQuote(arg: string): string {
    return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
