import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { datasetNames } from "../lib/datasets";
import { kafkaSettingsFromEnv, KafkaSettings } from "../producer/kafka";

/** The repository root: the CLIs run from anywhere and still find sql/, seeds/ and the stack state. */
export const repoDir = path.resolve(__dirname, "..");

export interface KafkaTarget {
    kafka: KafkaSettings;
    /** Topic for each raw dataset name. */
    topics: Record<string, string>;
    /** Where the brokers came from, for the user. */
    origin: string;
    /** When they came from the stack: whether it manages the failure views (sqlObjects), so they exist. */
    stackHasFailureViews?: boolean;
}

/**
 * The outputs of the current stack (STACK, default dev), read as `npm run output` reads them
 * (scripts/pulumi.sh: the same backend, the same pulumi CLI, on PATH or built). What pulumi.sh
 * says goes to stderr as it comes: a first run may build the engine, which takes minutes.
 */
export function stackOutputs(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
    const stack = env.STACK || "dev";
    try {
        const json = execFileSync("bash", [path.join(repoDir, "scripts", "pulumi.sh"), "stack", "output", "--json"], {
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
    return {
        kafka: kafkaSettingsFromEnv({ ...env, JSS_KAFKA_BROKERS: servers }),
        topics,
        origin: "stack output kafkaBootstrapServers",
        stackHasFailureViews: Array.isArray(outputs.failureViews),
    };
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
