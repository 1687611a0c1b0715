import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { cacheDir } from "../lib/cacheDir";
import { prefixedTopics } from "../cli/target";
import { toEvent } from "../producer/events";
import { generateUnits, seedProfile } from "../producer/generator";
import { readSeeds } from "../producer/seeds";
import { seedsWithPayments } from "../testkit/bigSeeds";
import { createTopics, uniquePrefix } from "../testkit/kafkaTopics";
import { startKafka } from "../testkit/services/kafka";
import { measurePreview, previewTargetsMet, renderPreviewRatios, renderPreviewTable } from "./preview";
import { measureModelChange, modelChangeTargetMet, renderModelChange } from "./modelChange";

/**
 * `npm run bench`: the producer's throughput and memory on a loopback Kafka broker, next to two
 * reference producers on the same broker in the same run: Kafka's own Java producer
 * (ProducerPerformance) and librdkafka (confluent-kafka, the Python client a data engineer would
 * pick), sending as many records of the same size with the same guarantees (acks=all,
 * idempotence). Producers run as child processes, exactly as their commands do, so peak RSS is
 * theirs alone.
 */

const usage = `usage: npm run bench [-- --quick]

Starts a loopback Kafka broker, then measures: seeding the seed files, validating and seeding
generated seed files of 1M and 5M payments, and the producers: after a warm-up of each, the
generator (as is, and with --threads 2), Kafka's Java ProducerPerformance and librdkafka
(confluent-kafka, installed into a virtualenv in the cache directory on first use) for 1,000,000
records each, in two interleaved rounds, then the generator for 10M events; then pulumi preview
and a no-op pulumi up of the program against an empty Pulumi program (bench/preview.ts), and a
model change with modelChanges blueGreen and replace under readers (bench/modelChange.ts). Prints
the tables, the generator's ratios to the two reference producers, and the preview ratios.

  --quick     one round of the producers (still of 1,000,000 records each), no 10M run, and
              seed files of 100,000 and 1,000,000 payments
  -h, --help  this help`;

const repo = path.join(__dirname, "..");
/** Records per producer run compared: fewer would measure the JVM's warm-up, not the producers. */
const comparedRecords = 1_000_000;
/** Records each producer sends first, not counted. */
const warmUpRecords = 200_000;
const targets = { minJavaRatio: 0.8, minLibrdkafkaRatio: 1, maxRssMb: 200 };
/** confluent-kafka, pinned: its wheels bundle librdkafka (2.16.x here). */
const confluentKafka = "confluent-kafka==2.16.1";

interface ChildRun {
    stdout: string;
    elapsedMs: number;
    /** Largest VmHWM (peak resident set) of any process in the child's tree. */
    peakRssMb: number;
}

interface Row {
    what: string;
    events: number;
    eventsPerSecond: number;
    peakRssMb: number;
    note: string;
}

async function main(): Promise<void> {
    const { values } = parseArgs({ options: { quick: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
    if (values.help) {
        console.log(usage);
        return;
    }
    const bigCount = 10_000_000;
    const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

    log("starting a Kafka broker on loopback");
    const kafka = await startKafka({ heap: "1g" });
    // Ctrl-C would skip the finally below: stop the broker first.
    process.once("SIGINT", () => void kafka.stop().finally(() => process.exit(130)));
    try {
        const freshTopics = async (label: string) => {
            const prefix = uniquePrefix(`bench-${label}`);
            await createTopics(kafka.brokers, Object.values(prefixedTopics(prefix)));
            return prefix;
        };
        const rows: Row[] = [];

        log("seeding the seed files");
        const seed = await runChild(process.execPath, ["--import", "tsx", "bench/seedOnce.ts", kafka.brokers, await freshTopics("seed")]);
        const seeded = JSON.parse(seed.stdout) as { sent: number; sendStartedMs: number; lastAckMs: number };
        rows.push({
            what: "seed files (one transaction)",
            events: seeded.sent,
            eventsPerSecond: seeded.sent / ((seeded.lastAckMs - seeded.sendStartedMs) / 1000),
            peakRssMb: seed.peakRssMb,
            note: `process start to last ack ${(seeded.lastAckMs / 1000).toFixed(2)} s`,
        });
        rows.push(...(await bigSeedFileRows(kafka.brokers, freshTopics, values.quick === true, log)));

        const recordSize = averageGeneratedValueBytes();
        const python = librdkafkaPython(log);
        const generated = async (count: number, extraArgs: string[] = []) => {
            log(`generating ${count.toLocaleString("en-US")} events${extraArgs.length > 0 ? ` (${extraArgs.join(" ")})` : ""}`);
            const args = ["--count", String(count), "--seed", "1", "--brokers", kafka.brokers, "--topic-prefix", await freshTopics("gen"), "--json"];
            const run = await runNpmScript("generate", [...args, ...extraArgs]);
            const summary = JSON.parse(run.stdout) as { total: number; elapsedMs: number };
            return {
                what: ["npm run generate", ...(extraArgs.length > 0 ? ["--", ...extraArgs] : [])].join(" "),
                events: summary.total,
                eventsPerSecond: summary.total / (summary.elapsedMs / 1000),
                peakRssMb: run.peakRssMb,
                note: `${(summary.elapsedMs / 1000).toFixed(1)} s sending`,
            };
        };
        const java = async () => {
            log(`Kafka ProducerPerformance: ${comparedRecords.toLocaleString("en-US")} records of ${recordSize} bytes after ${warmUpRecords.toLocaleString("en-US")} in the same JVM`);
            return runJavaProducer(kafka.libsDir, kafka.brokers, (await freshTopics("java")) + "raw_orders", comparedRecords, recordSize);
        };
        const librdkafka = async () => {
            log(`librdkafka: ${comparedRecords.toLocaleString("en-US")} keyed JSON records of ${recordSize} bytes after ${warmUpRecords.toLocaleString("en-US")}`);
            return runLibrdkafkaProducer(python, kafka.brokers, (await freshTopics("librdkafka")) + "raw_orders", comparedRecords, recordSize);
        };

        // The generator's warm-up is a run of its own (the Java and Python producers warm up in
        // their measured process): the broker, the page cache and tsx's compile cache warm, not counted.
        log("warming up the generator");
        await generated(warmUpRecords);
        const load = loadAverage();
        // Interleaved, so that load from elsewhere falls on all three alike.
        const rounds = values.quick ? 1 : 2;
        // The generator as users run it, and with its producers in two worker threads (faster when a
        // core is free, at about 50 MB of RSS per thread: not the default).
        const compared = { generator: [] as Row[], threaded: [] as Row[], java: [] as Row[], librdkafka: [] as Row[] };
        const runs = {
            generator: () => generated(comparedRecords),
            threaded: () => generated(comparedRecords, ["--threads", "2"]),
            java,
            librdkafka,
        };
        for (let round = 0; round < rounds; round++) {
            const order = ["generator", "threaded", "java", "librdkafka"] as const;
            for (const which of round % 2 === 0 ? order : [...order].reverse()) {
                const row = await runs[which]();
                compared[which].push(row);
                rows.push(row);
            }
        }
        const big = values.quick ? undefined : await generated(bigCount);
        if (big) rows.push(big);

        // Records over seconds, all rounds together.
        const rate = (runs: Row[]) => runs.reduce((n, r) => n + r.events, 0) / runs.reduce((t, r) => t + r.events / r.eventsPerSecond, 0);
        const javaRatio = rate(compared.generator) / rate(compared.java);
        const librdkafkaRatio = rate(compared.generator) / rate(compared.librdkafka);
        const threadedRatios = [rate(compared.threaded) / rate(compared.java), rate(compared.threaded) / rate(compared.librdkafka)];
        const generatorRuns = [...compared.generator, ...(big ? [big] : [])];
        const peakRss = Math.max(...generatorRuns.map(r => r.peakRssMb));
        log("timing pulumi preview and a no-op up against an empty program");
        const preview = await measurePreview({ kafkaBrokers: kafka.brokers, runs: values.quick ? 2 : 4, bigSeedRows: values.quick ? 100_000 : 1_000_000, log });
        log("a model change both ways, readers querying");
        const modelChange = await measureModelChange(log);
        console.log(renderTable(rows));
        console.log("");
        const records = `${comparedRecords.toLocaleString("en-US")} records of ${recordSize} B, ${rounds === 1 ? "one round" : `${rounds} rounds`}`;
        console.log(`generator vs Java producer (ProducerPerformance), ${records}: ${javaRatio.toFixed(2)} (target >= ${targets.minJavaRatio})`);
        console.log(`generator vs librdkafka (confluent-kafka), ${records}: ${librdkafkaRatio.toFixed(2)} (target >= ${targets.minLibrdkafkaRatio})`);
        console.log(`with --threads 2 (not the default): ${threadedRatios[0].toFixed(2)} of Java, ${threadedRatios[1].toFixed(2)} of librdkafka, ` +
            `peak RSS ${Math.max(...compared.threaded.map(r => r.peakRssMb)).toFixed(0)} MB`);
        console.log(`generator peak RSS: ${generatorRuns.map(r => `${r.peakRssMb.toFixed(0)} MB at ${r.events.toLocaleString("en-US")}`).join(", ")} (target < ${targets.maxRssMb} MB)`);
        console.log(`load average (1 min) before the producers: ${load}, after: ${loadAverage()}; ${os.cpus().length} CPUs`);
        console.log("");
        console.log(renderPreviewTable(preview));
        console.log("");
        for (const line of renderPreviewRatios(preview)) console.log(line);
        console.log("");
        for (const line of renderModelChange(modelChange)) console.log(line);
        if (javaRatio < targets.minJavaRatio || librdkafkaRatio < targets.minLibrdkafkaRatio || peakRss >= targets.maxRssMb ||
            !previewTargetsMet(preview) || !modelChangeTargetMet(modelChange)) {
            console.log("TARGET MISSED");
            process.exitCode = 1;
        }
    } finally {
        await kafka.stop();
        log("broker stopped");
    }
}

// ---- Big seed files: validating and seeding millions of generated payment rows ---------------------

/** Payment rows of the generated seed files. */
function bigSeedFileCounts(quick: boolean): number[] {
    return quick ? [100_000, 1_000_000] : [1_000_000, 5_000_000];
}

interface SeedChildOutput {
    sent: number;
    readBack: number;
    sendStartedMs: number;
    lastAckMs: number;
    retainedHeapMb: number;
    readBackMs: number;
}

/**
 * For each count, a copy of the seeds with that many generated payments, written to a temporary
 * directory and removed after: validated as `pulumi preview` does, then seeded as the Seeder does,
 * each in a child process of its own. The notes compare each count with the first.
 */
async function bigSeedFileRows(
    brokers: string,
    freshTopics: (label: string) => Promise<string>,
    quick: boolean,
    log: (message: string) => void,
): Promise<Row[]> {
    const measured: { count: number; validate: Row; seed: Row }[] = [];
    for (const count of bigSeedFileCounts(quick)) {
        log(`writing a seed file of ${count.toLocaleString("en-US")} payments`);
        const dir = seedsWithPayments(count);
        try {
            log("validating it");
            const validateRun = await runChild(process.execPath, ["--import", "tsx", "bench/validateOnce.ts", dir]);
            const validated = JSON.parse(validateRun.stdout) as { rows: number; elapsedMs: number };
            log("seeding it");
            const prefix = await freshTopics("big-seed");
            const seedArgs = ["--expose-gc", "--import", "tsx", "bench/seedOnce.ts", brokers, prefix, dir];
            const seedRun = await runChild(process.execPath, seedArgs);
            const seeded = JSON.parse(seedRun.stdout) as SeedChildOutput;
            const seedSeconds = (seeded.lastAckMs - seeded.sendStartedMs) / 1000;
            measured.push({
                count,
                validate: {
                    what: "validate seed files",
                    events: validated.rows,
                    eventsPerSecond: validated.rows / (validated.elapsedMs / 1000),
                    peakRssMb: validateRun.peakRssMb,
                    note: `${(validated.elapsedMs / 1000).toFixed(1)} s`,
                },
                seed: {
                    what: "seed files (validate, send in one transaction)",
                    events: seeded.sent,
                    eventsPerSecond: seeded.sent / seedSeconds,
                    peakRssMb: seedRun.peakRssMb,
                    note: `${seedSeconds.toFixed(1)} s; heap after: ${seeded.retainedHeapMb.toFixed(0)} MB; seeding again ` +
                        `read ${seeded.readBack.toLocaleString("en-US")} rows back from the topics in ${(seeded.readBackMs / 1000).toFixed(1)} s and sent none`,
                },
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    const [first] = measured;
    const seconds = (row: Row) => row.events / row.eventsPerSecond;
    for (const later of measured.slice(1)) {
        const versus = (row: Row, base: Row) =>
            `; x${(later.count / first.count).toFixed(0)} rows: time x${(seconds(row) / seconds(base)).toFixed(2)}, ` +
            `peak RSS x${(row.peakRssMb / base.peakRssMb).toFixed(2)}`;
        later.validate.note += versus(later.validate, first.validate);
        later.seed.note += versus(later.seed, first.seed);
    }
    return measured.flatMap(m => [m.validate, m.seed]);
}

// ---- end of big seed files --------------------------------------------------------------------------

/** Mean size of the generated events' JSON values: the record size the Java tool sends. */
function averageGeneratedValueBytes(): number {
    const sample = 100_000;
    const stamp = new Date().toISOString();
    let bytes = 0;
    for (const unit of generateUnits(seedProfile(readSeeds(path.join(repo, "seeds"))), { seed: 1, count: sample })) {
        for (const { dataset, record } of unit) bytes += Buffer.byteLength(toEvent(dataset, record, stamp).value);
    }
    return Math.round(bytes / sample);
}

/** The command of an npm script, run the way npm runs it (node_modules/.bin on PATH), plus arguments. */
function runNpmScript(script: string, args: string[]): Promise<ChildRun> {
    const scripts = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")).scripts as Record<string, string>;
    const quoted = args.map(a => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
    return runChild("sh", ["-c", `exec ${scripts[script]} ${quoted}`], {
        PATH: `${path.join(repo, "node_modules", ".bin")}:${process.env.PATH}`,
    });
}

async function runJavaProducer(libsDir: string, brokers: string, topic: string, records: number, recordSize: number): Promise<Row> {
    const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, "bin", "java") : "java";
    // Java's source-file launcher runs the warm-up wrapper without a build step (it needs a JDK, not just a JRE).
    const run = await runChild(java, [
        "-Xmx512m", "-cp", `${libsDir}/*`, path.join("bench", "WarmProducerPerformance.java"), String(warmUpRecords),
        "--topic", topic, "--num-records", String(records), "--record-size", String(recordSize), "--throughput", "-1",
        // acks=all, as the generator's default (idempotence is on by default); everything else is the Java producer's default.
        "--producer-props", `bootstrap.servers=${brokers}`, "acks=all", "enable.idempotence=true",
    ]).catch(err => {
        throw new Error(`Kafka's ProducerPerformance (bench/WarmProducerPerformance.java, run by java's source launcher: a JDK is needed) failed: ${err.message}`);
    });
    const summary = /(\d+) records sent, ([\d.]+) records\/sec/.exec(run.stdout.split("\n").filter(Boolean).at(-1) ?? "");
    if (!summary) throw new Error(`unexpected ProducerPerformance output:\n${run.stdout}`);
    return {
        what: "Kafka ProducerPerformance (Java)",
        events: Number(summary[1]),
        eventsPerSecond: Number(summary[2]),
        peakRssMb: run.peakRssMb,
        note: `${recordSize} B random values, no keys`,
    };
}

async function runLibrdkafkaProducer(python: string, brokers: string, topic: string, records: number, recordSize: number): Promise<Row> {
    const run = await runChild(python, [path.join("bench", "librdkafkaProducer.py"), brokers, topic, String(records), String(recordSize), String(warmUpRecords)]);
    const summary = JSON.parse(run.stdout) as { records: number; elapsedMs: number; valueBytes: number };
    return {
        what: "librdkafka (confluent-kafka, Python)",
        events: summary.records,
        eventsPerSecond: summary.records / (summary.elapsedMs / 1000),
        peakRssMb: run.peakRssMb,
        note: `keyed JSON of ${summary.valueBytes.toFixed(0)} B on average`,
    };
}

/**
 * The Python of a virtualenv in the cache directory with confluent-kafka installed, made on first
 * use: `python3 -m venv`, then pip from PyPI.
 */
function librdkafkaPython(log: (message: string) => void): string {
    const dir = path.join(cacheDir(), "bench-python");
    const python = path.join(dir, "bin", "python");
    const check = () => spawnSync(python, ["-c", "import confluent_kafka; print(confluent_kafka.version()[0])"], { encoding: "utf8" });
    const installed = fs.existsSync(python) ? check() : undefined;
    if (installed?.status === 0 && `confluent-kafka==${installed.stdout.trim()}` === confluentKafka) return python;
    const step = (what: string, command: string, args: string[]) => {
        const result = spawnSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        if (result.error || result.status !== 0) {
            const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n");
            throw new Error(
                `the librdkafka reference needs ${confluentKafka} in a virtualenv at ${dir}, and ${what} failed ` +
                    `(${result.error?.message ?? `exit ${result.status}`}):\n${output}\n` +
                    `Needs python3 with the venv module (Debian: apt-get install python3-venv) and access to PyPI.`,
            );
        }
    };
    log(`installing ${confluentKafka} into ${dir}`);
    if (!fs.existsSync(python)) step("python3 -m venv", "python3", ["-m", "venv", dir]);
    step(`pip install ${confluentKafka}`, python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", confluentKafka]);
    const after = check();
    if (after.status !== 0) throw new Error(`${confluentKafka} installed into ${dir}, yet it does not import:\n${after.stderr}`);
    return python;
}

/** The 1-minute load average, as uptime prints it. */
function loadAverage(): string {
    return os.loadavg()[0].toFixed(2);
}

function runChild(command: string, args: string[], env: Record<string, string> = {}): Promise<ChildRun> {
    return new Promise((resolve, reject) => {
        const started = performance.now();
        const child = spawn(command, args, { cwd: repo, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", d => (stdout += d));
        child.stderr.on("data", d => (stderr += d));
        let peakRssMb = 0;
        const sampler = setInterval(() => (peakRssMb = Math.max(peakRssMb, treePeakRssMb(child.pid!))), 100);
        child.on("error", err => {
            clearInterval(sampler);
            reject(new Error(`could not run ${command}: ${err.message}`));
        });
        child.on("close", code => {
            clearInterval(sampler);
            if (code !== 0) reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${stderr}`));
            else resolve({ stdout, elapsedMs: performance.now() - started, peakRssMb });
        });
    });
}

/** The largest VmHWM in a process tree, from /proc (0 once the processes are gone). */
function treePeakRssMb(pid: number): number {
    let peakKb = 0;
    const pending = [pid];
    while (pending.length > 0) {
        const current = pending.pop()!;
        try {
            const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${current}/status`, "utf8"));
            peakKb = Math.max(peakKb, Number(hwm?.[1] ?? 0));
            for (const task of fs.readdirSync(`/proc/${current}/task`)) {
                const children = fs.readFileSync(`/proc/${current}/task/${task}/children`, "utf8").trim();
                if (children) pending.push(...children.split(/\s+/).map(Number));
            }
        } catch {
            // The process exited between listing and reading: its peak was sampled before.
        }
    }
    return peakKb / 1024;
}

function renderTable(rows: Row[]): string {
    const header = ["producer", "events", "events/s", "peak RSS", "notes"];
    const alignRight = [false, true, true, true, false];
    const cells = rows.map(r => [
        r.what,
        r.events.toLocaleString("en-US"),
        Math.round(r.eventsPerSecond).toLocaleString("en-US"),
        `${r.peakRssMb.toFixed(0)} MB`,
        r.note,
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map(c => c[i].length)));
    const line = (values: string[]) =>
        `| ${values.map((v, i) => (alignRight[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join(" | ")} |`;
    const rule = `|${widths.map((w, i) => `${"-".repeat(w + 1)}${alignRight[i] ? ":" : "-"}`).join("|")}|`;
    return [line(header), rule, ...cells.map(line)].join("\n");
}

main().catch(err => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
});
