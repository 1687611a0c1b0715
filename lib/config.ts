import * as pulumi from "@pulumi/pulumi";
import { datasetNames, RawDatasetName } from "./datasets";
import { SaslCredentials, SaslMechanism } from "./kafka";

/**
 * Stack configuration, read and validated once at start-up. Every problem names the config key,
 * and all problems are reported together, before any resource is declared.
 */

export type Mode = "local" | "external";

export interface TopicSettings {
    /** Prepended to every topic name (external mode isolates stacks sharing one cluster this way). */
    prefix: string;
    partitions: number;
    replicationFactor: number;
    config: Record<string, string>;
}

export interface LocalSettings {
    bindAddress: string;
    ports: { kafka: number; materializeSql: number; materializeHttp: number; console: number; materializeConsole: number };
    redpandaImage: string;
    materializeImage: string;
    console: { enabled: boolean; image: string };
}

export interface ExternalKafkaSettings {
    bootstrapServers: string[];
    tls: boolean;
    sasl?: SaslCredentials<pulumi.Output<string>>;
    /** Broker addresses as Materialize must dial them (may differ from what this machine dials). */
    brokersForMaterialize: string[];
}

export interface ExternalMaterializeSettings {
    host: string;
    port: number;
    user: string;
    password?: pulumi.Output<string>;
    database: string;
    ssl: boolean;
}

/** Where the CDC datasets' PostgreSQL is: a container of the stack, or one that exists. */
export interface CdcSettings {
    /** Raw datasets read from PostgreSQL tables by CDC instead of from Kafka topics. */
    datasets: RawDatasetName[];
    /** The database holding the CDC tables (created by the program in local mode). */
    database: string;
    local?: { image: string; port: number };
    external?: {
        host: string;
        port: number;
        user: string;
        password: pulumi.Output<string>;
        sslMode: PostgresSslMode;
        /** The address Materialize dials, where it differs from the one this machine dials. */
        hostForMaterialize: string;
        portForMaterialize: number;
    };
}

export type PostgresSslMode = "disable" | "require" | "verify-ca" | "verify-full";

export interface StackConfig {
    stack: string;
    mode: Mode;
    sqlDir: string;
    seed: boolean;
    /** Whether this program manages the SQL objects in Materialize (else dbt does). */
    sqlObjects: boolean;
    cluster: string;
    topics: TopicSettings;
    local?: LocalSettings;
    external?: { kafka: ExternalKafkaSettings; materialize?: ExternalMaterializeSettings };
    /** Set when some dataset comes from PostgreSQL by CDC. */
    cdc?: CdcSettings;
}

export class ConfigError extends Error {
    constructor(problems: string[]) {
        super(`invalid stack configuration:\n  ${problems.join("\n  ")}`);
        this.name = "ConfigError";
    }
}

type KeyKind = "string" | "integer" | "port" | "boolean" | "object" | "secret";

interface KeySpec {
    kind: KeyKind;
    modes: Mode[];
    description: string;
    choices?: readonly string[];
}

const both: Mode[] = ["local", "external"];

/** Every key this program reads; the README's configuration reference is this table. */
export const configKeys = {
    mode: { kind: "string", modes: both, choices: ["local", "external"], description: "local: Redpanda and Materialize in Docker; external: existing services" },
    sqlDir: { kind: "string", modes: both, description: "directory with schema.yml, models/ and tests/ (default: sql)" },
    seed: { kind: "boolean", modes: both, description: "send seeds/*.csv to the topics once (default: true)" },
    sqlObjects: { kind: "boolean", modes: both, description: "manage the Materialize SQL objects (connection, sources, views); false leaves them to dbt and exports dbtProfile (default: true)" },
    cluster: { kind: "string", modes: both, description: "Materialize cluster for sources, materialized views and indexes (default: quickstart)" },
    topicPrefix: { kind: "string", modes: both, description: "prefix of every topic name (default: none locally, \"<stack>.\" in external mode)" },
    topicPartitions: { kind: "integer", modes: both, description: "partitions per topic (default: 1)" },
    topicReplicationFactor: { kind: "integer", modes: both, description: "replication factor per topic (default: 1)" },
    topicConfig: { kind: "object", modes: both, description: "topic-level settings, e.g. {\"retention.ms\": \"-1\"}" },
    bindAddress: { kind: "string", modes: ["local"], description: "host address the published ports bind to (default: 127.0.0.1)" },
    portBase: { kind: "port", modes: ["local"], description: "first of six host ports: Kafka, Materialize SQL, Materialize HTTP, Redpanda Console, Materialize Console, PostgreSQL (only with cdcDatasets) (default: derived from the stack name)" },
    redpandaImage: { kind: "string", modes: ["local"], description: "Redpanda image, pinned" },
    materializeImage: { kind: "string", modes: ["local"], description: "Materialize emulator image, pinned" },
    console: { kind: "boolean", modes: ["local"], description: "also run Redpanda Console (default: false)" },
    consoleImage: { kind: "string", modes: ["local"], description: "Redpanda Console image, pinned" },
    kafkaBootstrapServers: { kind: "string", modes: ["external"], description: "comma-separated host:port list (required in external mode)" },
    kafkaTls: { kind: "boolean", modes: ["external"], description: "connect to Kafka over TLS (default: false)" },
    kafkaSaslMechanism: { kind: "string", modes: ["external"], choices: ["plain", "scram-sha-256", "scram-sha-512"], description: "SASL mechanism; unset for none" },
    kafkaSaslUsername: { kind: "string", modes: ["external"], description: "SASL user name" },
    kafkaSaslPassword: { kind: "secret", modes: ["external"], description: "SASL password (set with --secret)" },
    materializeBrokers: { kind: "string", modes: ["external"], description: "brokers as Materialize reaches them (default: kafkaBootstrapServers)" },
    materializeHost: { kind: "string", modes: ["external"], description: "Materialize SQL host; unset: no SQL objects are managed" },
    materializePort: { kind: "port", modes: ["external"], description: "Materialize SQL port (default: 6875)" },
    materializeUser: { kind: "string", modes: ["external"], description: "Materialize user (default: materialize)" },
    materializePassword: { kind: "secret", modes: ["external"], description: "Materialize password or app password (set with --secret)" },
    materializeDatabase: { kind: "string", modes: ["external"], description: "Materialize database (default: materialize)" },
    materializeSsl: { kind: "boolean", modes: ["external"], description: "require TLS to Materialize (default: false)" },
    cdcDatasets: { kind: "string", modes: both, description: "comma-separated raw datasets read from a PostgreSQL table by CDC instead of Kafka, e.g. raw_customers (default: none)" },
    postgresDatabase: { kind: "string", modes: both, description: "database of the CDC tables; created in local mode (default: jaffle_shop)" },
    postgresImage: { kind: "string", modes: ["local"], description: "PostgreSQL image for the CDC datasets, pinned; runs only when cdcDatasets is set" },
    postgresHost: { kind: "string", modes: ["external"], description: "PostgreSQL host of the CDC tables (required when cdcDatasets is set)" },
    postgresPort: { kind: "port", modes: ["external"], description: "PostgreSQL port (default: 5432)" },
    postgresUser: { kind: "string", modes: ["external"], description: "PostgreSQL user that creates the tables, role, grants and publication (default: postgres)" },
    postgresPassword: { kind: "secret", modes: ["external"], description: "that user's password (set with --secret; required when cdcDatasets is set)" },
    postgresSslMode: { kind: "string", modes: ["external"], choices: ["disable", "require", "verify-ca", "verify-full"], description: "TLS to PostgreSQL, for this program and for Materialize (default: require)" },
    materializePostgresHost: { kind: "string", modes: ["external"], description: "PostgreSQL host as Materialize reaches it (default: postgresHost)" },
    materializePostgresPort: { kind: "port", modes: ["external"], description: "PostgreSQL port as Materialize reaches it (default: postgresPort)" },
} satisfies Record<string, KeySpec>;

type ConfigKey = keyof typeof configKeys;

export const defaults = {
    redpandaImage: "docker.redpanda.com/redpandadata/redpanda:v26.1.14",
    materializeImage: "materialize/materialized:v26.40.0",
    consoleImage: "docker.redpanda.com/redpandadata/console:v3.7.1",
    postgresImage: "postgres:17.6-bookworm",
    postgresDatabase: "jaffle_shop",
    cluster: "quickstart",
};

/**
 * A stack without `portBase` still gets ports of its own: a base derived from its name, in
 * steps of 10 between 20000 and 29990, so two stacks rarely meet; set portBase to be sure.
 */
export function derivedPortBase(stack: string): number {
    let hash = 0;
    for (const char of stack) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
    return 20000 + (hash % 1000) * 10;
}

export function readConfig(): StackConfig {
    const namespace = pulumi.getProject();
    const stack = pulumi.getStack();
    const config = new pulumi.Config();
    const problems: string[] = [];

    const present = Object.keys(pulumi.runtime.allConfig())
        .filter(fullKey => fullKey.startsWith(`${namespace}:`))
        .map(fullKey => fullKey.slice(namespace.length + 1));
    for (const key of present) {
        if (!(key in configKeys)) {
            const hint = closestKey(key);
            problems.push(`${namespace}:${key}: unknown config key${hint ? ` (did you mean ${hint}?)` : ""}`);
        }
    }

    const raw = (key: ConfigKey) => config.get(key);
    const label = (key: ConfigKey) => `${namespace}:${key}`;
    const text = (key: ConfigKey): string | undefined => {
        const value = raw(key);
        const choices = (configKeys[key] as KeySpec).choices;
        if (value !== undefined && choices && !choices.includes(value)) {
            problems.push(`${label(key)}: "${value}" is not one of ${choices.join(", ")}`);
            return undefined;
        }
        if (value !== undefined && value.trim() === "") {
            problems.push(`${label(key)}: must not be empty`);
            return undefined;
        }
        return value;
    };
    const integer = (key: ConfigKey, min: number, max: number): number | undefined => {
        const value = raw(key);
        if (value === undefined) return undefined;
        if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
            problems.push(`${label(key)}: "${value}" is not a whole number from ${min} to ${max}`);
            return undefined;
        }
        return Number(value);
    };
    const boolean = (key: ConfigKey): boolean | undefined => {
        const value = raw(key);
        if (value === undefined) return undefined;
        if (value !== "true" && value !== "false") {
            problems.push(`${label(key)}: "${value}" is not true or false`);
            return undefined;
        }
        return value === "true";
    };
    const object = (key: ConfigKey): Record<string, string> | undefined => {
        const value = raw(key);
        if (value === undefined) return undefined;
        try {
            const parsed = JSON.parse(value);
            if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
                return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
            }
        } catch {
            // reported below
        }
        problems.push(`${label(key)}: expected an object of topic settings, e.g. {"retention.ms": "-1"}`);
        return undefined;
    };
    const secret = (key: ConfigKey): pulumi.Output<string> | undefined => {
        if (raw(key) === undefined) return undefined;
        if (!isSetAsSecret(`${namespace}:${key}`)) {
            problems.push(`${label(key)}: holds a password; set it with: pulumi config set --secret ${key}`);
        }
        return config.requireSecret(key);
    };
    const hostPorts = (key: ConfigKey): string[] | undefined => {
        const value = text(key);
        if (value === undefined) return undefined;
        const servers = value.split(",").map(s => s.trim());
        const bad = servers.filter(s => !/^[A-Za-z0-9._-]+:\d{1,5}$/.test(s));
        if (bad.length > 0) {
            problems.push(`${label(key)}: "${bad.join(", ")}" is not a host:port list`);
            return undefined;
        }
        return servers;
    };

    const mode = (text("mode") ?? "local") as Mode;
    for (const key of present) {
        const spec = (configKeys as Record<string, KeySpec>)[key];
        if (spec && !spec.modes.includes(mode)) {
            problems.push(`${namespace}:${key}: only applies in ${spec.modes.join("/")} mode, but mode is ${mode}`);
        }
    }

    const result: StackConfig = {
        stack,
        mode,
        sqlDir: text("sqlDir") ?? "sql",
        seed: boolean("seed") ?? true,
        sqlObjects: boolean("sqlObjects") ?? true,
        cluster: text("cluster") ?? defaults.cluster,
        topics: {
            prefix: raw("topicPrefix") ?? (mode === "external" ? `${stack}.` : ""),
            partitions: integer("topicPartitions", 1, 1000) ?? 1,
            replicationFactor: integer("topicReplicationFactor", 1, 10) ?? 1,
            config: object("topicConfig") ?? {},
        },
    };
    if (result.topics.prefix !== "" && !/^[A-Za-z0-9._-]+$/.test(result.topics.prefix)) {
        problems.push(`${label("topicPrefix")}: "${result.topics.prefix}" may only contain letters, digits, ".", "_" and "-"`);
    }

    if (mode === "local") {
        const portBase = integer("portBase", 1024, 65531) ?? derivedPortBase(stack);
        result.local = {
            bindAddress: text("bindAddress") ?? "127.0.0.1",
            ports: {
                kafka: portBase,
                materializeSql: portBase + 1,
                materializeHttp: portBase + 2,
                console: portBase + 3,
                materializeConsole: portBase + 4,
            },
            redpandaImage: text("redpandaImage") ?? defaults.redpandaImage,
            materializeImage: text("materializeImage") ?? defaults.materializeImage,
            console: { enabled: boolean("console") ?? false, image: text("consoleImage") ?? defaults.consoleImage },
        };
    } else {
        const bootstrapServers = hostPorts("kafkaBootstrapServers");
        if (raw("kafkaBootstrapServers") === undefined) {
            problems.push(`${label("kafkaBootstrapServers")}: required in external mode`);
        }
        const mechanism = text("kafkaSaslMechanism") as SaslMechanism | undefined;
        const username = text("kafkaSaslUsername");
        const password = secret("kafkaSaslPassword");
        if (mechanism && (username === undefined || password === undefined)) {
            problems.push(`${label("kafkaSaslMechanism")}: needs kafkaSaslUsername and kafkaSaslPassword too`);
        }
        if (!mechanism && (username !== undefined || password !== undefined)) {
            problems.push(`${label("kafkaSaslMechanism")}: required when kafkaSaslUsername or kafkaSaslPassword is set`);
        }
        const host = text("materializeHost");
        result.external = {
            kafka: {
                bootstrapServers: bootstrapServers ?? [],
                tls: boolean("kafkaTls") ?? false,
                sasl: mechanism && username !== undefined && password ? { mechanism, username, password } : undefined,
                brokersForMaterialize: hostPorts("materializeBrokers") ?? bootstrapServers ?? [],
            },
            materialize: host === undefined
                ? undefined
                : {
                      host,
                      port: integer("materializePort", 1, 65535) ?? 6875,
                      user: text("materializeUser") ?? "materialize",
                      password: secret("materializePassword"),
                      database: text("materializeDatabase") ?? "materialize",
                      ssl: boolean("materializeSsl") ?? false,
                  },
        };
    }

    const cdcList = text("cdcDatasets");
    if (cdcList !== undefined) {
        const names = cdcList.split(",").map(name => name.trim());
        const unknown = names.filter(name => !(datasetNames as readonly string[]).includes(name));
        if (unknown.length > 0) {
            problems.push(`${label("cdcDatasets")}: "${unknown.join(", ")}" is not a dataset (known: ${datasetNames.join(", ")})`);
        }
        const cdc: CdcSettings = {
            datasets: datasetNames.filter(name => names.includes(name)),
            database: text("postgresDatabase") ?? defaults.postgresDatabase,
        };
        if (result.local) {
            // The next port after the five of portBase.
            const port = result.local.ports.materializeConsole + 1;
            if (port > 65535) problems.push(`${label("portBase")}: leaves no port for PostgreSQL (portBase+5 = ${port})`);
            cdc.local = { image: text("postgresImage") ?? defaults.postgresImage, port };
        } else {
            const host = text("postgresHost");
            if (host === undefined) problems.push(`${label("postgresHost")}: required when cdcDatasets is set in external mode`);
            const password = secret("postgresPassword");
            if (password === undefined) problems.push(`${label("postgresPassword")}: required when cdcDatasets is set in external mode`);
            // Every key is read, so each of its problems is reported even when another one is missing.
            const port = integer("postgresPort", 1, 65535) ?? 5432;
            const user = text("postgresUser") ?? "postgres";
            const sslMode = (text("postgresSslMode") ?? "require") as PostgresSslMode;
            const hostForMaterialize = text("materializePostgresHost");
            const portForMaterialize = integer("materializePostgresPort", 1, 65535) ?? port;
            if (host !== undefined && password !== undefined) {
                cdc.external = { host, port, user, password, sslMode, hostForMaterialize: hostForMaterialize ?? host, portForMaterialize };
            }
        }
        result.cdc = cdc;
    } else {
        for (const key of ["postgresDatabase", "postgresImage", "postgresHost", "postgresPort", "postgresUser", "postgresPassword", "postgresSslMode", "materializePostgresHost", "materializePostgresPort"] as const) {
            if (raw(key) !== undefined) problems.push(`${label(key)}: only applies when cdcDatasets is set`);
        }
    }

    if (problems.length > 0) throw new ConfigError(problems);
    return result;
}

/** Pulumi keeps the list of secret keys internal; where it is not available, trust the user. */
function isSetAsSecret(fullKey: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    return runtime.isConfigSecret ? runtime.isConfigSecret(fullKey) : true;
}

function closestKey(key: string): string | undefined {
    const distance = (a: string, b: string): number => {
        const row = Array.from({ length: b.length + 1 }, (_, i) => i);
        for (let i = 1; i <= a.length; i++) {
            let previous = row[0];
            row[0] = i;
            for (let j = 1; j <= b.length; j++) {
                const current = row[j];
                row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
                previous = current;
            }
        }
        return row[b.length];
    };
    const [best] = Object.keys(configKeys)
        .map(candidate => ({ candidate, d: distance(key, candidate) }))
        .sort((x, y) => x.d - y.d);
    return best && best.d <= 3 ? best.candidate : undefined;
}
