import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { startKafka } from "../testkit/services/kafka";
import { startPostgres } from "../testkit/services/postgres";
import { seedsWithPayments } from "../testkit/bigSeeds";
import { programFiles } from "../testkit/programFiles";

/**
 * `pulumi preview` and a no-op `pulumi up` of this program in external mode, next to an empty
 * Pulumi TypeScript program on the same engine, node_modules and machine (issue 11): the ratios
 * ours/empty are the figures. Everything runs on a local file backend in a temporary directory:
 *
 * - empty: an index.ts exporting one value, with our tsconfig.json's compilerOptions, in two forms:
 *   with Pulumi's defaults (`runtime: nodejs`, ts-node type-checking: what the issue measured as
 *   "an empty Pulumi TypeScript program", the target's reference), and with this project's
 *   Pulumi.yaml runtime block and whole tsconfig.json, "ts-node" section included (isolates what
 *   our program itself adds when both run the same way);
 * - ours: a copy of the program (the files test/engine.test.ts copies), stack config for a loopback
 *   Kafka broker and a loopback PostgreSQL standing in for Materialize (enough for preview: nothing
 *   is sent to it before the update). The no-op `up` runs on a second stack without materializeHost
 *   (topics and seeding), because Materialize's DDL cannot run on PostgreSQL: one real `up` first,
 *   then each measured `up` must report only "same".
 *
 * Each measured command runs once as a warm-up, then `runs` times interleaved (the order of the
 * programs alternates per round); a row gives the median. Stacks, topics and temporary
 * directories are removed at the end, also on failure.
 */

const repo = path.join(__dirname, "..");
export const previewTargets = { maxRatio: 1.5 };

export interface PreviewBenchOptions {
    /** Measured runs of each command after the warm-up. Default 4. */
    runs?: number;
    /** A broker to use (e.g. the one `npm run bench` already runs); default: one is started. */
    kafkaBrokers?: string;
    /** The program directory to measure. Default: this repository. */
    programDir?: string;
    /** Generated payment rows of the big-seeds stack (issue 15: a million); 0 leaves it out. Default 1,000,000. */
    bigSeedRows?: number;
    log?: (message: string) => void;
}

export interface PreviewRow {
    what: string;
    /** Median wall time of the measured runs, in ms. */
    medianMs: number;
    minMs: number;
    maxMs: number;
    runsMs: number[];
}

export interface PreviewBenchResult {
    rows: PreviewRow[];
    /** ours / the empty program with Pulumi's defaults (ts-node type-checks it), for preview and no-op up. */
    previewRatio: number;
    noopUpRatio: number;
    /** ours / the empty program with this project's runtime options and tsconfig. */
    previewRatioSameSettings: number;
    noopUpRatioSameSettings: number;
    /** What `npm run up` adds before the update in local mode: a refresh of a few resources only. */
    targetedRefreshMs: number;
    /** That refresh / ours' no-op up. */
    targetedRefreshVsNoopUp: number;
    bigSeeds?: BigSeedsFigures;
}

/** A stack whose seeds hold a million rows or so, next to the default project's. */
export interface BigSeedsFigures {
    rows: number;
    /** The first up, which sends them. */
    firstUpMs: number;
    /** Peak RSS of the program (the language host's node process) and of the providers' node processes, in its first up and in a no-op up. */
    firstUpRssMb: { program: number; providers: number };
    noopUpRssMb: { program: number; providers: number };
    /** The same in a no-op up of the default project's stack (312 seed rows), for comparison. */
    defaultNoopUpRssMb: { program: number; providers: number };
    /** The stack's exported state. */
    stateBytes: number;
    /** no-op up of the big-seeds stack / of the default project's. */
    noopUpRatio: number;
}

export const bigSeedsTargets = { maxProgramRssMb: 300, maxStateBytes: 1 << 20, maxNoopUpRatio: 1.5 };

/**
 * Peak RSS (each process's VmHWM, the kernel's own high-water mark) of the node processes that run
 * in `dir` while `work` runs, sampled every 100 ms: the program (Pulumi's `cmd/run`) and the
 * dynamic providers apart.
 */
async function peakRss<T>(dir: string, work: Promise<T>): Promise<{ result: T; program: number; providers: number }> {
    const peaks = new Map<string, { provider: boolean; kb: number }>();
    const sample = () => {
        for (const pid of fs.readdirSync("/proc").filter(name => /^\d+$/.test(name))) {
            try {
                if (fs.readlinkSync(`/proc/${pid}/cwd`) !== dir) continue;
                const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
                if (!/(^|\/)node\0/.test(cmdline)) continue;
                const kb = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
                peaks.set(pid, { provider: cmdline.includes("dynamic-provider"), kb: Math.max(kb, peaks.get(pid)?.kb ?? 0) });
            } catch {
                // The process ended between listing and reading.
            }
        }
    };
    const timer = setInterval(sample, 100);
    try {
        const result = await work;
        const mb = (provider: boolean) => Math.max(0, ...[...peaks.values()].filter(p => p.provider === provider).map(p => p.kb)) / 1024;
        return { result, program: mb(false), providers: mb(true) };
    } finally {
        clearInterval(timer);
    }
}

const emptyIndex = `import * as pulumi from "@pulumi/pulumi";

export const answer = pulumi.output(42);
`;

function writeEmptyProgram(dir: string, name: string, pulumiYaml: string, tsconfig: string): void {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), pulumiYaml);
    fs.writeFileSync(path.join(dir, "index.ts"), emptyIndex);
    fs.writeFileSync(path.join(dir, "tsconfig.json"), tsconfig);
    const sdkVersion = (JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")) as { dependencies: Record<string, string> })
        .dependencies["@pulumi/pulumi"];
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, main: "index.ts", dependencies: { "@pulumi/pulumi": sdkVersion } }, null, 2));
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"));
}

/**
 * Our tsconfig.json for a one-file program: limited to index.ts, a relative ts-node transpiler made
 * absolute; with `withTsNode` false, without the "ts-node" section (Pulumi's defaults).
 */
function emptyTsconfig(programDir: string, withTsNode: boolean): string {
    const tsconfig = JSON.parse(fs.readFileSync(path.join(programDir, "tsconfig.json"), "utf8")) as Record<string, unknown>;
    delete tsconfig.include;
    tsconfig.files = ["index.ts"];
    const tsNode = tsconfig["ts-node"] as { transpiler?: string | [string, unknown] } | undefined;
    if (!withTsNode) delete tsconfig["ts-node"];
    else if (typeof tsNode?.transpiler === "string" && tsNode.transpiler.startsWith(".")) tsNode.transpiler = path.resolve(programDir, tsNode.transpiler);
    return JSON.stringify(tsconfig, null, 2);
}

/** Our Pulumi.yaml's runtime block, under another project name. */
function samePulumiYaml(programDir: string, name: string): string {
    const ours = fs.readFileSync(path.join(programDir, "Pulumi.yaml"), "utf8");
    const runtime = /^runtime:[^\n]*\n(?:[ \t]+[^\n]*\n)*/m.exec(ours)?.[0] ?? "runtime: nodejs\n";
    return `name: ${name}\n${runtime}`;
}

/** The directory with the pulumi CLI, as the test command finds it: on PATH at the SDK's version, else what scripts/pulumi-engine.sh builds. */
export function engineBinDir(log: (message: string) => void): string {
    log("locating the Pulumi engine (scripts/pulumi-engine.sh)");
    const out = execFileSync("bash", [path.join(repo, "scripts", "pulumi-engine.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    return out.trim().split("\n").at(-1)!;
}

export interface Cli {
    /** Runs pulumi in a directory; resolves with the wall time in ms, rejects with its output on failure. */
    run(dir: string, args: string[]): Promise<{ ms: number; stdout: string }>;
}

export function pulumiCli(stateDir: string, binDir: string): Cli {
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        PATH: [path.join(repo, "node_modules", ".bin"), binDir, process.env.PATH ?? ""].join(path.delimiter),
        PULUMI_BACKEND_URL: `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: "preview-bench",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_SKIP_UPDATE_CHECK: "true",
    };
    // What would change the measured program or engine is the caller's environment, not ours.
    delete env.PULUMI_NODEJS_TRANSPILE_ONLY;
    delete env.NODE_OPTIONS;
    return {
        run: (dir, args) =>
            new Promise((resolve, reject) => {
                const started = performance.now();
                const child = spawn(path.join(binDir, "pulumi"), [...args, "--non-interactive"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
                let stdout = "";
                let stderr = "";
                child.stdout.on("data", d => (stdout += d));
                child.stderr.on("data", d => (stderr += d));
                child.on("error", reject);
                child.on("close", code => {
                    const ms = performance.now() - started;
                    if (code === 0) resolve({ ms, stdout });
                    else reject(new Error(`pulumi ${args.join(" ")} (in ${dir}) exited with ${code}:\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`));
                });
            }),
    };
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function toRow(what: string, runsMs: number[]): PreviewRow {
    return { what, medianMs: median(runsMs), minMs: Math.min(...runsMs), maxMs: Math.max(...runsMs), runsMs };
}

/** A no-op up must change nothing: its summary shows only unchanged resources. */
function expectNoChanges(stdout: string, what: string): void {
    const summary = stdout.slice(stdout.lastIndexOf("Resources:"));
    if (/\b(to create|created|to update|updated|to delete|deleted|to replace|replaced)\b/.test(summary)) {
        throw new Error(`${what}: the up after the first one was not a no-op:\n${summary}`);
    }
}

export async function measurePreview(options: PreviewBenchOptions = {}): Promise<PreviewBenchResult> {
    const runs = Math.max(1, Math.min(options.runs ?? 4, 50));
    const log = options.log ?? (() => {});
    const programDir = path.resolve(options.programDir ?? repo);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "jss-preview-bench-"));
    const cleanups: (() => Promise<unknown>)[] = [async () => fs.rmSync(root, { recursive: true, force: true })];
    try {
        let brokers = options.kafkaBrokers;
        const [kafka, postgres] = await Promise.all([
            brokers ? undefined : (log("starting a Kafka broker on loopback"), startKafka()),
            (log("starting PostgreSQL on loopback (standing in for Materialize)"), startPostgres()),
        ]);
        if (kafka) cleanups.unshift(() => kafka.stop());
        cleanups.unshift(() => postgres.stop());
        brokers ??= kafka!.brokers;

        const binDir = engineBinDir(log);
        const cli = pulumiCli(path.join(root, "state"), binDir);
        fs.mkdirSync(path.join(root, "state"));

        const dirs = { empty: path.join(root, "empty"), emptySame: path.join(root, "empty-same"), ours: path.join(root, "ours") };
        writeEmptyProgram(dirs.empty, "empty", "name: empty\nruntime: nodejs\n", emptyTsconfig(programDir, false));
        writeEmptyProgram(dirs.emptySame, "empty-same-settings", samePulumiYaml(programDir, "empty-same-settings"), emptyTsconfig(programDir, true));
        fs.mkdirSync(dirs.ours);
        for (const entry of programFiles) fs.cpSync(path.join(programDir, entry), path.join(dirs.ours, entry), { recursive: true });
        fs.symlinkSync(path.join(repo, "node_modules"), path.join(dirs.ours, "node_modules"));
        const bigSeedRows = options.bigSeedRows ?? 1_000_000;
        const bigDir = path.join(root, "ours-big-seeds");
        if (bigSeedRows > 0) {
            log(`writing seeds with ${bigSeedRows.toLocaleString("en-US")} payments for the big-seeds stack`);
            fs.cpSync(dirs.ours, bigDir, { recursive: true, verbatimSymlinks: true });
            const generated = seedsWithPayments(bigSeedRows);
            fs.rmSync(path.join(bigDir, "seeds"), { recursive: true });
            fs.renameSync(generated, path.join(bigDir, "seeds"));
        }

        const stacks: { dir: string; name: string; destroy: boolean }[] = [];
        const initStack = async (dir: string, name: string, config: Record<string, string>, destroy = false) => {
            await cli.run(dir, ["stack", "init", name]);
            stacks.push({ dir, name, destroy });
            for (const [key, value] of Object.entries(config)) await cli.run(dir, ["config", "set", "--stack", name, key, value]);
        };
        // Stacks go before the temporary directory (first in, last out): destroyed (topics), then removed.
        cleanups.unshift(async () => {
            for (const stack of stacks.reverse()) {
                if (stack.destroy) await cli.run(stack.dir, ["destroy", "--yes", "--stack", stack.name]).catch(err => log(`destroy failed: ${err.message}`));
                await cli.run(stack.dir, ["stack", "rm", "--yes", "--force", stack.name]).catch(() => undefined);
            }
        });
        // A stack name of its own per run, so a broker shared with other runs never sees the same topics.
        const tag = `pb${Date.now().toString(36)}`;
        await initStack(dirs.empty, "empty", {});
        await initStack(dirs.emptySame, "empty", {});
        const external = { mode: "external", kafkaBootstrapServers: brokers };
        await initStack(dirs.ours, `${tag}-preview`, {
            ...external,
            materializeHost: postgres.host,
            materializePort: String(postgres.port),
            materializeUser: postgres.user,
            materializeDatabase: postgres.database,
        });
        await initStack(dirs.ours, `${tag}-up`, external, true);
        if (bigSeedRows > 0) await initStack(bigDir, `${tag}-big`, external, true);

        const previews: [string, string, string][] = [
            ["preview: empty program, Pulumi defaults (type-checked)", dirs.empty, "empty"],
            ["preview: empty program, our runtime options and tsconfig", dirs.emptySame, "empty"],
            ["preview: ours, external mode (44 resources)", dirs.ours, `${tag}-preview`],
        ];
        const ups: [string, string, string][] = [
            ["no-op up: empty program, Pulumi defaults (type-checked)", dirs.empty, "empty"],
            ["no-op up: empty program, our runtime options and tsconfig", dirs.emptySame, "empty"],
            ["no-op up: ours, external mode, topics and seeding", dirs.ours, `${tag}-up`],
        ];

        const measure = async (commands: [string, string, string][], args: string[], check?: (stdout: string, what: string) => void) => {
            const times = commands.map(() => [] as number[]);
            for (let round = 0; round <= runs; round++) {
                // Round 0 warms up (file cache, transpile caches); the order alternates per round.
                const order = commands.map((_, i) => i);
                if (round % 2 === 1) order.reverse();
                for (const i of order) {
                    const [what, dir, stack] = commands[i];
                    const { ms, stdout } = await cli.run(dir, [...args, "--stack", stack]);
                    check?.(stdout, what);
                    if (round > 0) times[i].push(ms);
                    log(`${round === 0 ? "warm-up" : `run ${round}/${runs}`}: ${what}: ${(ms / 1000).toFixed(2)} s`);
                }
            }
            return commands.map(([what], i) => toRow(what, times[i]));
        };

        const previewRows = await measure(previews, ["preview"]);
        log("first up of each program (not measured)");
        for (const [, dir, stack] of ups) await cli.run(dir, ["up", "--yes", "--stack", stack]);
        let bigFirstUp: { ms: number; program: number; providers: number } | undefined;
        if (bigSeedRows > 0) {
            log(`first up of the big-seeds stack (sends ${bigSeedRows.toLocaleString("en-US")} payments)`);
            const first = await peakRss(bigDir, cli.run(bigDir, ["up", "--yes", "--stack", `${tag}-big`]));
            bigFirstUp = { ms: first.result.ms, program: first.program, providers: first.providers };
            ups.push([`no-op up: ours, external mode, ${bigSeedRows.toLocaleString("en-US")} seed rows`, bigDir, `${tag}-big`]);
        }
        // As `npm run up` runs it: the preview, then the update.
        const upRows = await measure(ups, ["up", "--yes"], expectNoChanges);

        log("targeted refresh of the topics, as npm run up refreshes the Docker resources in local mode");
        const topicUrns = JSON.parse((await cli.run(dirs.ours, ["stack", "export", "--stack", `${tag}-up`])).stdout).deployment.resources
            .filter((r: { type: string }) => r.type.startsWith("kafka:"))
            .flatMap((r: { urn: string }) => ["--target", r.urn]);
        const refreshRuns: number[] = [];
        for (let round = 0; round <= runs; round++) {
            const { ms } = await cli.run(dirs.ours, ["refresh", "--yes", "--skip-preview", "--stack", `${tag}-up`, ...topicUrns]);
            if (round > 0) refreshRuns.push(ms);
        }

        let bigSeeds: BigSeedsFigures | undefined;
        if (bigFirstUp) {
            const noop = await peakRss(bigDir, cli.run(bigDir, ["up", "--yes", "--stack", `${tag}-big`]));
            expectNoChanges(noop.result.stdout, "big seeds");
            const defaultNoop = await peakRss(dirs.ours, cli.run(dirs.ours, ["up", "--yes", "--stack", `${tag}-up`]));
            const exported = await cli.run(bigDir, ["stack", "export", "--stack", `${tag}-big`]);
            bigSeeds = {
                rows: bigSeedRows,
                firstUpMs: bigFirstUp.ms,
                firstUpRssMb: { program: bigFirstUp.program, providers: bigFirstUp.providers },
                noopUpRssMb: { program: noop.program, providers: noop.providers },
                defaultNoopUpRssMb: { program: defaultNoop.program, providers: defaultNoop.providers },
                stateBytes: Buffer.byteLength(exported.stdout),
                noopUpRatio: upRows[3].medianMs / upRows[2].medianMs,
            };
        }

        const ratio = (rows: PreviewRow[], reference: number) => rows[2].medianMs / rows[reference].medianMs;
        return {
            rows: [...previewRows, ...upRows, toRow("refresh --target: the 3 topics of ours", refreshRuns)],
            previewRatio: ratio(previewRows, 0),
            noopUpRatio: ratio(upRows, 0),
            previewRatioSameSettings: ratio(previewRows, 1),
            noopUpRatioSameSettings: ratio(upRows, 1),
            targetedRefreshMs: median(refreshRuns),
            targetedRefreshVsNoopUp: median(refreshRuns) / upRows[2].medianMs,
            bigSeeds,
        };
    } finally {
        for (const cleanup of cleanups) await cleanup().catch(err => log(`clean-up failed: ${err instanceof Error ? err.message : String(err)}`));
    }
}

export function renderPreviewTable(result: PreviewBenchResult): string {
    const header = ["command", "median", "min", "max"];
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const cells = result.rows.map(r => [r.what, seconds(r.medianMs), seconds(r.minMs), seconds(r.maxMs)]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map(c => c[i].length)));
    const line = (values: string[]) => `| ${values.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(" | ")} |`;
    const rule = `|${widths.map((w, i) => `${"-".repeat(w + 1)}${i === 0 ? "-" : ":"}`).join("|")}|`;
    return [line(header), rule, ...cells.map(line)].join("\n");
}

export function renderPreviewRatios(result: PreviewBenchResult): string[] {
    const target = `(target <= ${previewTargets.maxRatio})`;
    const lines = [
        `preview vs empty program: ${result.previewRatio.toFixed(2)} ${target}`,
        `no-op up vs empty program: ${result.noopUpRatio.toFixed(2)} ${target}`,
        `preview vs empty program with our runtime options and tsconfig: ${result.previewRatioSameSettings.toFixed(2)}`,
        `no-op up vs empty program with our runtime options and tsconfig: ${result.noopUpRatioSameSettings.toFixed(2)}`,
        `npm run up's refresh of a few resources before the update (local mode: the Docker ones): ${(result.targetedRefreshMs / 1000).toFixed(2)} s, ` +
            `${result.targetedRefreshVsNoopUp.toFixed(2)} of a no-op up of ours`,
    ];
    const big = result.bigSeeds;
    if (big) {
        const mb = (figures: { program: number; providers: number }) => `program ${figures.program.toFixed(0)} MB, providers ${figures.providers.toFixed(0)} MB`;
        lines.push(
            `${big.rows.toLocaleString("en-US")} seed rows: first up ${(big.firstUpMs / 1000).toFixed(1)} s, peak RSS ${mb(big.firstUpRssMb)} ` +
                `(target: program <= ${bigSeedsTargets.maxProgramRssMb} MB); no-op up ${mb(big.noopUpRssMb)}; ` +
                `the default project's no-op up ${mb(big.defaultNoopUpRssMb)}`,
            `${big.rows.toLocaleString("en-US")} seed rows: state ${(big.stateBytes / 1024).toFixed(0)} KB (target <= ${bigSeedsTargets.maxStateBytes / 1024} KB); ` +
                `no-op up vs the default project's: ${big.noopUpRatio.toFixed(2)} (target <= ${bigSeedsTargets.maxNoopUpRatio})`,
        );
    }
    return lines;
}

export function previewTargetsMet(result: PreviewBenchResult): boolean {
    const big = result.bigSeeds;
    const bigMet = !big || (
        Math.max(big.firstUpRssMb.program, big.noopUpRssMb.program) <= bigSeedsTargets.maxProgramRssMb &&
        big.stateBytes <= bigSeedsTargets.maxStateBytes &&
        big.noopUpRatio <= bigSeedsTargets.maxNoopUpRatio
    );
    return result.previewRatio <= previewTargets.maxRatio && result.noopUpRatio <= previewTargets.maxRatio && bigMet;
}

async function main(): Promise<void> {
    const { values } = parseArgs({
        options: { runs: { type: "string" }, program: { type: "string" }, "big-seeds": { type: "string" }, help: { type: "boolean", short: "h" } },
    });
    if (values.help) {
        console.log(`usage: tsx bench/preview.ts [--runs N] [--program DIR] [--big-seeds ROWS]

Times pulumi preview and a no-op pulumi up of the program (external mode, loopback Kafka and
PostgreSQL) against an empty Pulumi TypeScript program: a warm-up, then the median of N
interleaved runs (default 4). Prints a table and the ratios ours/empty (target <= ${previewTargets.maxRatio}).
Then a stack whose seeds hold ROWS generated payments (default 1000000, 0 for none): its first
up, the program's peak RSS, the state's size, and its no-op up against the default project's.`);
        return;
    }
    const runs = values.runs === undefined ? undefined : Number(values.runs);
    if (runs !== undefined && !(Number.isInteger(runs) && runs >= 1)) throw new Error(`--runs: "${values.runs}" is not a positive whole number`);
    const log = (message: string) => process.stderr.write(`[preview-bench] ${message}\n`);
    const bigSeedRows = values["big-seeds"] === undefined ? undefined : Number(values["big-seeds"]);
    if (bigSeedRows !== undefined && !(Number.isInteger(bigSeedRows) && bigSeedRows >= 0)) throw new Error(`--big-seeds: "${values["big-seeds"]}" is not a whole number`);
    const result = await measurePreview({ runs, programDir: values.program, bigSeedRows, log });
    console.log(renderPreviewTable(result));
    console.log("");
    for (const line of renderPreviewRatios(result)) console.log(line);
    if (!previewTargetsMet(result)) {
        console.log("TARGET MISSED");
        process.exitCode = 1;
    }
}

if (require.main === module) {
    main().catch(err => {
        process.stderr.write(`preview bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
    });
}
