import { Kafka, KafkaConfig, logLevel, SASLOptions } from "kafkajs";

export type SaslMechanism = "plain" | "scram-sha-256" | "scram-sha-512";

/** How to reach the brokers; the same shape serves the Pulumi program, the seeder and the CLI. */
export interface KafkaSettings {
    brokers: string[];
    tls: boolean;
    sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

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

/** Short timeouts and few retries, so an unreachable broker fails within seconds, not minutes. */
export function connectKafka(settings: KafkaSettings, clientId: string): Kafka {
    const config: KafkaConfig = {
        clientId,
        brokers: settings.brokers,
        ssl: settings.tls,
        sasl: settings.sasl as SASLOptions | undefined,
        connectionTimeout: 3_000,
        requestTimeout: 15_000,
        retry: { retries: 4, initialRetryTime: 250, maxRetryTime: 2_000 },
        logLevel: logLevel.NOTHING,
    };
    return new Kafka(config);
}
