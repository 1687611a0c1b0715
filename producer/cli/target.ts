import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { cacheDir } from "../../lib/cacheDir";
import { datasetNames } from "../../lib/datasets";
import { kafkaSettingsFromEnv, KafkaSettings } from "../kafka";

/** The repository root: the CLIs run from anywhere and still find sql/, seeds/ and the stack state. */
export const repoDir = path.resolve(__dirname, "..", "..");

export interface KafkaTarget {
    kafka: KafkaSettings;
    /** Topic for each raw dataset name. */
    topics: Record<string, string>;
    /** Where the brokers came from, for the user. */
    origin: string;
}

/** The outputs of the current stack (STACK, default dev), read with the same backend defaults as scripts/pulumi.sh. */
export function stackOutputs(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
    const stack = env.STACK || "dev";
    const backend = env.PULUMI_BACKEND_URL || `file://${path.join(repoDir, ".pulumi-state")}`;
    try {
        const json = execFileSync(pulumiCli(env), ["stack", "output", "--json", "--stack", stack], {
            cwd: repoDir,
            env: { ...env, PULUMI_BACKEND_URL: backend, PULUMI_CONFIG_PASSPHRASE: env.PULUMI_CONFIG_PASSPHRASE ?? "" },
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
        return JSON.parse(json) as Record<string, unknown>;
    } catch (err) {
        const e = err as Error & { code?: string; stderr?: string };
        const why = (e.stderr || e.message).trim();
        throw new Error(`cannot read the outputs of stack "${stack}" (backend ${backend}): ${why}`);
    }
}

/**
 * The pulumi CLI that `npm run up` uses: the one on PATH, else the one scripts/pulumi-engine.sh
 * built into its cache (for the @pulumi/pulumi version package.json pins).
 */
export function pulumiCli(env: NodeJS.ProcessEnv = process.env): string {
    const executable = (file: string) => {
        try {
            fs.accessSync(file, fs.constants.X_OK);
            return true;
        } catch {
            return false;
        }
    };
    const onPath = (env.PATH ?? "").split(path.delimiter).filter(Boolean).map(dir => path.join(dir, "pulumi")).find(executable);
    if (onPath) return onPath;
    const version = (require(path.join(repoDir, "package.json")) as { dependencies: Record<string, string> }).dependencies["@pulumi/pulumi"];
    const built = path.join(cacheDir(env), `pulumi-v${version}`, "bin", "pulumi");
    if (executable(built)) return built;
    throw new Error(`no pulumi CLI: none on PATH, and none built yet in ${built} (npm run up builds it)`);
}

export function prefixedTopics(prefix: string): Record<string, string> {
    return Object.fromEntries(datasetNames.map(name => [name, `${prefix}${name}`]));
}

/**
 * Brokers from --brokers, else JSS_KAFKA_BROKERS, else the stack's kafkaBootstrapServers;
 * topics from --topic-prefix, else the stack's topicNames when the brokers came from the stack.
 * TLS and SASL settings always come from JSS_KAFKA_* (never from a command line).
 */
export function resolveKafkaTarget(
    flags: { brokers?: string; topicPrefix?: string },
    env: NodeJS.ProcessEnv = process.env,
    readStack: () => Record<string, unknown> = () => stackOutputs(env),
): KafkaTarget {
    if (flags.brokers !== undefined || env.JSS_KAFKA_BROKERS) {
        const origin = flags.brokers !== undefined ? "--brokers" : "JSS_KAFKA_BROKERS";
        const brokersEnv = flags.brokers !== undefined ? { ...env, JSS_KAFKA_BROKERS: flags.brokers } : env;
        let kafka: KafkaSettings;
        try {
            kafka = kafkaSettingsFromEnv(brokersEnv);
        } catch {
            throw new Error(`${origin} is empty: expected a comma-separated host:port list`);
        }
        return { kafka, topics: prefixedTopics(flags.topicPrefix ?? ""), origin };
    }
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
    const topics = flags.topicPrefix !== undefined ? prefixedTopics(flags.topicPrefix) : stackTopics(outputs.topicNames);
    return { kafka: kafkaSettingsFromEnv({ ...env, JSS_KAFKA_BROKERS: servers }), topics, origin: "stack output kafkaBootstrapServers" };
}

function stackTopics(topicNames: unknown): Record<string, string> {
    const topics = (topicNames ?? {}) as Record<string, unknown>;
    const missing = datasetNames.filter(name => typeof topics[name] !== "string");
    if (missing.length > 0) {
        throw new Error(`the stack output topicNames has no topic for ${missing.join(", ")}; pass --topic-prefix`);
    }
    return Object.fromEntries(datasetNames.map(name => [name, topics[name] as string]));
}

/** The SQL endpoint: --url, else the stack's psqlUrl. */
export function resolvePsqlUrl(url: string | undefined, readStack: () => Record<string, unknown> = () => stackOutputs()): string {
    if (url) return url;
    let outputs: Record<string, unknown>;
    try {
        outputs = readStack();
    } catch (err) {
        throw new Error(`no database to watch: pass --url postgres://..., or bring a stack up (npm run up).\n  ${(err as Error).message}`);
    }
    if (typeof outputs.psqlUrl !== "string") {
        throw new Error("no database to watch: the stack has no output psqlUrl (external mode without Materialize?); pass --url");
    }
    return outputs.psqlUrl;
}
