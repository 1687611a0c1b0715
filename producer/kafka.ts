import { Kafka, KafkaConfig, logLevel, SASLOptions } from "kafkajs";

import { KafkaSettings, SaslMechanism } from "../lib/kafka";

export type { KafkaSettings, SaslMechanism };

/**
 * Reads broker settings from the environment (JSS_KAFKA_*), which is how the seeder's dynamic
 * provider and the CLI get them without secrets ever appearing on a command line.
 */
export function kafkaSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaSettings {
    const brokers = (env.JSS_KAFKA_BROKERS ?? "").split(",").map(b => b.trim()).filter(Boolean);
    if (brokers.length === 0) {
        throw new Error("JSS_KAFKA_BROKERS is not set (comma-separated host:port list, e.g. 127.0.0.1:19092)");
    }
    const mechanism = env.JSS_KAFKA_SASL_MECHANISM as SaslMechanism | undefined;
    return {
        brokers,
        tls: env.JSS_KAFKA_TLS === "true",
        sasl: mechanism
            ? { mechanism, username: env.JSS_KAFKA_SASL_USERNAME ?? "", password: env.JSS_KAFKA_SASL_PASSWORD ?? "" }
            : undefined,
    };
}

export function kafkaSettingsToEnv(settings: KafkaSettings): Record<string, string> {
    return {
        JSS_KAFKA_BROKERS: settings.brokers.join(","),
        JSS_KAFKA_TLS: String(settings.tls),
        ...(settings.sasl
            ? {
                  JSS_KAFKA_SASL_MECHANISM: settings.sasl.mechanism,
                  JSS_KAFKA_SASL_USERNAME: settings.sasl.username,
                  JSS_KAFKA_SASL_PASSWORD: settings.sasl.password,
              }
            : {}),
    };
}

/** How long a request may go unanswered before kafkajs gives up on it (and maybe retries it). */
export const defaultRequestTimeoutMs = 15_000;

export interface ClientTuning {
    /** Default defaultRequestTimeoutMs. */
    requestTimeoutMs?: number;
    /** kafkajs's own retries of a failed request or connection (default 4). */
    retries?: number;
}

/** Short timeouts and few retries, so an unreachable broker fails within seconds, not minutes. */
export function connectKafka(settings: KafkaSettings, clientId: string, tuning: ClientTuning = {}): Kafka {
    const config: KafkaConfig = {
        clientId,
        brokers: settings.brokers,
        ssl: settings.tls,
        sasl: settings.sasl as SASLOptions | undefined,
        connectionTimeout: 3_000,
        requestTimeout: tuning.requestTimeoutMs ?? defaultRequestTimeoutMs,
        retry: { retries: tuning.retries ?? 4, initialRetryTime: 250, maxRetryTime: 2_000 },
        logLevel: logLevel.NOTHING,
    };
    return new Kafka(config);
}

/**
 * Fails, naming them, when any of the topics is missing: Kafka's own error ("This server does not
 * host this topic-partition") names none, and comes only after the producer's retries.
 */
export async function requireTopics(kafka: Kafka, topics: readonly string[], settings: KafkaSettings): Promise<void> {
    const brokers = settings.brokers;
    const admin = kafka.admin();
    try {
        await admin.connect();
        await admin.listTopics();
    } catch (err) {
        await admin.disconnect().catch(() => undefined);
        throw saslRefusal(err, settings) ?? err;
    }
    try {
        const existing = new Set(await admin.listTopics());
        const missing = [...new Set(topics)].filter(topic => !existing.has(topic));
        if (missing.length > 0) {
            throw new Error(
                `${missing.length === 1 ? "topic" : "topics"} ${missing.join(", ")} not found on ${brokers.join(",")}: ` +
                    "bring the stack up (npm run up creates them), or point --brokers / --topic-prefix at the right ones",
            );
        }
    } finally {
        await admin.disconnect();
    }
}

/**
 * kafkajs says "Request is not valid given the current SASL state" or "SASL PLAIN authentication
 * failed: ..." where the user needs to hear that the credentials were refused, or missing.
 */
function saslRefusal(err: unknown, settings: KafkaSettings): Error | undefined {
    const e = err as { name?: string; type?: string; message?: string };
    const where = `Kafka at ${settings.brokers.join(",")}`;
    // A SASL (or TLS) listener hangs up on a client that speaks neither, before saying why.
    if (e.name === "KafkaJSConnectionClosedError" && !settings.sasl) {
        return new Error(
            `${where} closed the connection at once: does it want SASL credentials (JSS_KAFKA_SASL_MECHANISM, ` +
                `JSS_KAFKA_SASL_USERNAME, JSS_KAFKA_SASL_PASSWORD) or TLS (JSS_KAFKA_TLS=true)? (${e.message})`,
        );
    }
    const saslError =
        e.name === "KafkaJSSASLAuthenticationError" ||
        ["ILLEGAL_SASL_STATE", "SASL_AUTHENTICATION_FAILED", "UNSUPPORTED_SASL_MECHANISM"].includes(e.type ?? "");
    if (!saslError) return undefined;
    return new Error(
        settings.sasl
            ? `${where} refused the SASL credentials of user "${settings.sasl.username}" (${settings.sasl.mechanism}): ${e.message}`
            : `${where} requires SASL authentication, and no credentials were given ` +
                  `(set JSS_KAFKA_SASL_MECHANISM, JSS_KAFKA_SASL_USERNAME and JSS_KAFKA_SASL_PASSWORD, or the stack's kafkaSasl* keys): ${e.message}`,
    );
}

