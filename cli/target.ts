import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { cdcSchema } from "../lib/cdc";
import { datasetNames, RawDatasetName } from "../lib/datasets";
import { cdcTablesOf, datasetRoutes, DatasetRoutes, parseRoutes } from "../lib/routes";
import { kafkaSettingsFromEnv, KafkaSettings } from "../producer/kafka";

/** The repository root: the CLIs run from anywhere and still find sql/, seeds/ and the stack state. */
export const repoDir = path.resolve(__dirname, "..");

export interface StreamTarget {
    kafka: KafkaSettings;
    /** Where each dataset's events go: its topic, or its CDC table. */
    routes: DatasetRoutes;
    /** Where the brokers came from, for the user. */
    origin: string;
    /** When they came from the stack: whether it manages the failure views (sqlObjects), so they exist. */
    stackHasFailureViews?: boolean;
    /** When they came from the stack: its output postgresUrl (the CDC tables' database, no password). */
    stackPostgresUrl?: string;
}

export interface TargetFlags {
    brokers?: string;
    topicPrefix?: string;
    /** Without a stack: the datasets written to their PostgreSQL table instead of a topic. */
    cdcDatasets?: string;
}

/**
 * The outputs of the current stack (STACK, default dev), read as `npm run output` reads them
 * (scripts/pulumi.sh: the same backend, the same pulumi CLI, on PATH or built). What pulumi.sh
 * says goes to stderr as it comes: a first run may build the engine, which takes minutes. With
 * showSecrets, secret outputs come in the clear, for this process only.
 */
export function stackOutputs(env: NodeJS.ProcessEnv = process.env, options: { showSecrets?: boolean } = {}): Record<string, unknown> {
    const stack = env.STACK || "dev";
    try {
        const args = ["stack", "output", "--json", ...(options.showSecrets ? ["--show-secrets"] : [])];
        const json = execFileSync("bash", [path.join(repoDir, "scripts", "pulumi.sh"), ...args], {
            cwd: repoDir,
            env: { ...env, STACK: stack },
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
            maxBuffer: 64 << 20,
        });
        return JSON.parse(json) as Record<string, unknown>;
    } catch (err) {
        throw new Error(`cannot read the outputs of stack "${stack}" (pulumi said why, above): ${(err as Error).message.split("\n")[0]}`);
    }
}

export function prefixedTopics(prefix: string): Record<string, string> {
    return Object.fromEntries(datasetNames.map(name => [name, `${prefix}${name}`]));
}

/**
 * Brokers from --brokers, else JSS_KAFKA_BROKERS, else the stack's kafkaBootstrapServers. Routes
 * from the stack's output `datasets` when the brokers came from the stack; else (or with
 * --topic-prefix) every dataset to `<prefix><dataset>`, but those of --cdc-datasets to their CDC
 * table. TLS and SASL settings always come from JSS_KAFKA_* (never from a command line).
 */
export function resolveTarget(
    flags: TargetFlags,
    env: NodeJS.ProcessEnv = process.env,
    readStack: () => Record<string, unknown> = () => stackOutputs(env),
): StreamTarget {
    const flagRoutes = (cdc: readonly RawDatasetName[]) =>
        datasetRoutes(flags.topicPrefix ?? "", cdc.length > 0 ? { datasets: cdc, schema: cdcSchema } : undefined);
    if (flags.brokers !== undefined || env.JSS_KAFKA_BROKERS) {
        const origin = flags.brokers !== undefined ? "--brokers" : "JSS_KAFKA_BROKERS";
        const brokersEnv = flags.brokers !== undefined ? { ...env, JSS_KAFKA_BROKERS: flags.brokers } : env;
        let kafka: KafkaSettings;
        try {
            kafka = kafkaSettingsFromEnv(brokersEnv);
        } catch {
            throw new Error(`${origin} is empty: expected a comma-separated host:port list`);
        }
        return { kafka, routes: flagRoutes(cdcDatasetsFlag(flags.cdcDatasets)), origin };
    }
    if (flags.cdcDatasets !== undefined) throw new Error("--cdc-datasets goes with --brokers: a stack's routes come from its output datasets");
    let outputs: Record<string, unknown>;
    try {
        outputs = readStack();
    } catch (err) {
        throw new Error(
            "no Kafka broker to send to: pass --brokers host:port, set JSS_KAFKA_BROKERS, or bring a stack up " +
                `(npm run up) whose output kafkaBootstrapServers names one.\n  ${(err as Error).message}`,
        );
    }
    const servers = outputs.kafkaBootstrapServers;
    if (typeof servers !== "string" || servers === "") {
        throw new Error("no Kafka broker to send to: the stack has no output kafkaBootstrapServers; pass --brokers host:port");
    }
    const stackRoutes = parseRoutes(outputs.datasets, "the stack output datasets (a stack last updated by an earlier version: run npm run up)");
    return {
        kafka: kafkaSettingsFromEnv({ ...env, JSS_KAFKA_BROKERS: servers }),
        routes: flags.topicPrefix !== undefined ? flagRoutes(Object.keys(cdcTablesOf(stackRoutes)) as RawDatasetName[]) : stackRoutes,
        origin: "stack output kafkaBootstrapServers",
        stackHasFailureViews: Array.isArray(outputs.failureViews),
        stackPostgresUrl: typeof outputs.postgresUrl === "string" ? outputs.postgresUrl : undefined,
    };
}

function cdcDatasetsFlag(list: string | undefined): RawDatasetName[] {
    if (list === undefined) return [];
    const names = list.split(",").map(name => name.trim());
    const unknown = names.filter(name => !(datasetNames as readonly string[]).includes(name));
    if (unknown.length > 0) throw new Error(`--cdc-datasets: "${unknown.join(", ")}" is not a dataset (known: ${datasetNames.join(", ")})`);
    return datasetNames.filter(name => names.includes(name));
}

/**
 * The PostgreSQL of the CDC tables: --postgres-url, else JSS_POSTGRES_URL, else the stack's output
 * postgresUrl. Its password: the URL's, else PGPASSWORD, else (a local stack's own PostgreSQL) the
 * stack's secret output postgresPassword.
 */
export function resolvePostgresUrl(
    flag: string | undefined,
    readStackPostgresUrl: () => string | undefined,
    env: NodeJS.ProcessEnv = process.env,
    readSecrets: () => Record<string, unknown> = () => stackOutputs(env, { showSecrets: true }),
): string {
    const given = flag ?? env.JSS_POSTGRES_URL;
    if (given) return given;
    const stackUrl = readStackPostgresUrl();
    if (!stackUrl) {
        throw new Error("no PostgreSQL for the CDC datasets: pass --postgres-url or set JSS_POSTGRES_URL (the stack has no output postgresUrl)");
    }
    if (env.PGPASSWORD) return stackUrl;
    const password = readSecrets().postgresPassword;
    if (typeof password !== "string") return stackUrl;
    const url = new URL(stackUrl);
    url.password = password;
    return url.toString();
}

/**
 * The SQL endpoint and the Materialize cluster to run in: --url, else the stack's psqlUrl; --cluster,
 * else (with the stack's URL) the stack's cluster.
 */
export function resolveSqlEndpoint(
    flags: { url?: string; cluster?: string },
    readStack: () => Record<string, unknown> = () => stackOutputs(),
): { url: string; cluster?: string } {
    if (flags.url) return { url: flags.url, cluster: flags.cluster };
    let outputs: Record<string, unknown>;
    try {
        outputs = readStack();
    } catch (err) {
        throw new Error(`no database to watch: pass --url postgres://..., or bring a stack up (npm run up).\n  ${(err as Error).message}`);
    }
    if (typeof outputs.psqlUrl !== "string") {
        throw new Error("no database to watch: the stack has no output psqlUrl (external mode without Materialize?); pass --url");
    }
    return { url: outputs.psqlUrl, cluster: flags.cluster ?? (typeof outputs.cluster === "string" ? outputs.cluster : undefined) };
}
