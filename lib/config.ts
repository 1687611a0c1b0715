import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { containerName, maxLocalStackName, namePrefix } from "./containers";
import { datasetNames, RawDatasetName } from "./datasets";
import { portsTakenByOthers } from "./hostPorts";
import { SaslCredentials, SaslMechanism } from "./kafka";
import { defaultFailureSchema } from "./sqlModel";

/**
 * Stack configuration, read and validated once at start-up. Every problem names the config key,
 * and all problems are reported together, before any resource is declared.
 */

export type Mode = "local" | "external";

/** Kafka's limit on a topic's name. */
const maxTopicName = 249;

export interface TopicSettings {
    /** Prepended to every topic name (external mode isolates stacks sharing one cluster this way). */
    prefix: string;
    partitions: number;
    replicationFactor: number;
    config: Record<string, string>;
}

/** A Kafka cluster as this program and Materialize reach it: the stack's Redpanda, or one that exists. */
export interface KafkaEndpoint {
    /** What this machine dials. */
    bootstrapServers: pulumi.Input<string[]>;
    tls: boolean;
    sasl?: SaslCredentials<pulumi.Input<string>>;
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

export type PostgresSslMode = "disable" | "require" | "verify-ca" | "verify-full";

/** The CDC datasets and the database of their tables, wherever that PostgreSQL runs. */
export interface CdcDatasets {
    /** Raw datasets read from PostgreSQL tables by CDC instead of from Kafka topics. */
    datasets: RawDatasetName[];
    /** The database holding the CDC tables (created by the program in local mode). */
    database: string;
}

/** The CDC datasets' PostgreSQL as a container of the stack. */
export interface LocalCdcSettings extends CdcDatasets {
    image: string;
    port: number;
}

/** The CDC datasets' PostgreSQL, as a user that may create tables, roles and publications. */
export interface PostgresServer {
    /** What this machine dials. */
    host: string;
    port: number;
    user: string;
    password: pulumi.Input<string>;
    sslMode: PostgresSslMode;
    /** The address Materialize dials, where it differs from the one this machine dials. */
    hostForMaterialize: string;
    portForMaterialize: number;
}

/** The CDC datasets' PostgreSQL as a server that exists. */
export interface ExternalCdcSettings extends CdcDatasets, PostgresServer {}

interface CommonConfig {
    stack: string;
    sqlDir: string;
    seed: boolean;
    /** Whether this program manages the SQL objects in Materialize (else dbt does). */
    sqlObjects: boolean;
    cluster: string;
    /** The Materialize schema of the connections, secrets, sources and the tables read from them. */
    sourceSchema: string;
    /** How a changed model reaches Materialize: a blue/green deploy, or dropped and created again. */
    modelChanges: { mode: "blueGreen" | "replace"; timeoutSeconds: number; maxLagSeconds: number };
    topics: TopicSettings;
}

/** Redpanda, Materialize (and PostgreSQL for CDC) as containers on this Docker host. */
export interface LocalConfig extends CommonConfig {
    mode: "local";
    bindAddress: string;
    ports: { kafka: number; materializeSql: number; materializeHttp: number; console: number; materializeConsole: number };
    redpandaImage: string;
    materializeImage: string;
    console: { enabled: boolean; image: string };
    /** Set when some dataset comes from PostgreSQL by CDC. */
    cdc?: LocalCdcSettings;
}

/** Services that exist: a Kafka cluster, optionally a Materialize and a PostgreSQL. */
export interface ExternalConfig extends CommonConfig {
    mode: "external";
    kafka: KafkaEndpoint & { bootstrapServers: string[] };
    /** Unset: no SQL objects are managed. */
    materialize?: ExternalMaterializeSettings;
    /** Set when some dataset comes from PostgreSQL by CDC. */
    cdc?: ExternalCdcSettings;
}

export type StackConfig = LocalConfig | ExternalConfig;

export class ConfigError extends Error {
    constructor(problems: string[]) {
        super(`invalid stack configuration:\n  ${problems.join("\n  ")}`);
        this.name = "ConfigError";
    }
}

type KeyKind = "string" | "hostPorts" | "integer" | "port" | "boolean" | "object" | "secret";

interface KeySpec {
    kind: KeyKind;
    modes: Mode[];
    description: string;
    choices?: readonly string[];
    /** Inclusive bounds of an integer or port (ports: 1 to 65535 unless given). */
    range?: readonly [number, number];
    /** An empty value means something (else it is refused). */
    emptyAllowed?: boolean;
    /** Only read when cdcDatasets is set; set without it, it is refused. */
    cdcOnly?: boolean;
}

const both: Mode[] = ["local", "external"];

/** Every key this program reads; the README's configuration reference is this table. */
export const configKeys = {
    mode: { kind: "string", modes: both, choices: ["local", "external"], description: "local: Redpanda and Materialize in Docker; external: existing services" },
    sqlDir: { kind: "string", modes: both, description: "directory with schema.yml, models/ and tests/ (default: sql)" },
    seed: { kind: "boolean", modes: both, description: "send seeds/*.csv to the topics once (default: true)" },
    sqlObjects: { kind: "boolean", modes: both, description: "manage the Materialize SQL objects (connection, sources, views); false leaves them to dbt and exports dbtProfile (default: true)" },
    cluster: { kind: "string", modes: both, description: "Materialize cluster for sources, materialized views and indexes (default: quickstart)" },
    modelChanges: { kind: "string", modes: both, choices: ["blueGreen", "replace"], description: "blueGreen: a changed model is built beside the old ones and swapped in, no downtime; replace: it and everything downstream are dropped and created again (default: blueGreen)" },
    deployTimeoutSeconds: { kind: "integer", range: [1, 86400], modes: both, description: "how long a blue/green deploy waits for the new models to hydrate and catch up before it gives up, changing nothing (default: 600)" },
    deployMaxLagSeconds: { kind: "integer", range: [0, 3600], modes: both, description: "how far behind the wall clock a new model may be when it is swapped in (default: 1)" },
    sourceSchema: { kind: "string", modes: both, description: "Materialize schema of the connections, secrets, sources and their tables, apart from the models' (default: ingest)" },
    topicPrefix: { kind: "string", emptyAllowed: true, modes: both, description: "prefix of every topic name; \"\" for none (default: none locally, \"<stack>.\" in external mode)" },
    topicPartitions: { kind: "integer", range: [1, 1000], modes: both, description: "partitions per topic (default: 1)" },
    topicReplicationFactor: { kind: "integer", range: [1, 10], modes: both, description: "replication factor per topic (default: 1)" },
    topicConfig: { kind: "object", modes: both, description: "topic-level settings, e.g. {\"retention.ms\": \"-1\"}" },
    bindAddress: { kind: "string", modes: ["local"], description: "host address the published ports bind to (default: 127.0.0.1)" },
    portBase: { kind: "port", range: [1024, 65531], modes: ["local"], description: "first of six host ports: Kafka, Materialize SQL, Materialize HTTP, Redpanda Console, Materialize Console, PostgreSQL (only with cdcDatasets) (default: derived from the stack name)" },
    redpandaImage: { kind: "string", modes: ["local"], description: "Redpanda image, pinned" },
    materializeImage: { kind: "string", modes: ["local"], description: "Materialize emulator image, pinned" },
    console: { kind: "boolean", modes: ["local"], description: "also run Redpanda Console (default: false)" },
    consoleImage: { kind: "string", modes: ["local"], description: "Redpanda Console image, pinned" },
    kafkaBootstrapServers: { kind: "hostPorts", modes: ["external"], description: "comma-separated host:port list (required in external mode)" },
    kafkaTls: { kind: "boolean", modes: ["external"], description: "connect to Kafka over TLS (default: false)" },
    kafkaSaslMechanism: { kind: "string", modes: ["external"], choices: ["plain", "scram-sha-256", "scram-sha-512"], description: "SASL mechanism; unset for none" },
    kafkaSaslUsername: { kind: "string", modes: ["external"], description: "SASL user name" },
    kafkaSaslPassword: { kind: "secret", modes: ["external"], description: "SASL password (set with --secret)" },
    materializeBrokers: { kind: "hostPorts", modes: ["external"], description: "brokers as Materialize reaches them (default: kafkaBootstrapServers)" },
    materializeHost: { kind: "string", modes: ["external"], description: "Materialize SQL host; unset: no SQL objects are managed" },
    materializePort: { kind: "port", modes: ["external"], description: "Materialize SQL port (default: 6875)" },
    materializeUser: { kind: "string", modes: ["external"], description: "Materialize user (default: materialize)" },
    materializePassword: { kind: "secret", modes: ["external"], description: "Materialize password or app password (set with --secret)" },
    materializeDatabase: { kind: "string", modes: ["external"], description: "Materialize database (default: materialize)" },
    materializeSsl: { kind: "boolean", modes: ["external"], description: "require TLS to Materialize (default: false)" },
    cdcDatasets: { kind: "string", modes: both, description: "comma-separated raw datasets read from a PostgreSQL table by CDC instead of Kafka, e.g. raw_customers (default: none)" },
    postgresDatabase: { cdcOnly: true, kind: "string", modes: both, description: "database of the CDC tables; created in local mode (default: jaffle_shop)" },
    postgresImage: { cdcOnly: true, kind: "string", modes: ["local"], description: "PostgreSQL image for the CDC datasets, pinned; runs only when cdcDatasets is set" },
    postgresHost: { cdcOnly: true, kind: "string", modes: ["external"], description: "PostgreSQL host of the CDC tables (required when cdcDatasets is set)" },
    postgresPort: { cdcOnly: true, kind: "port", modes: ["external"], description: "PostgreSQL port (default: 5432)" },
    postgresUser: { cdcOnly: true, kind: "string", modes: ["external"], description: "PostgreSQL user that creates the tables, role, grants and publication (default: postgres)" },
    postgresPassword: { cdcOnly: true, kind: "secret", modes: ["external"], description: "that user's password (set with --secret; required when cdcDatasets is set)" },
    postgresSslMode: { cdcOnly: true, kind: "string", modes: ["external"], choices: ["disable", "require", "verify-ca", "verify-full"], description: "TLS to PostgreSQL, for this program and for Materialize (default: require)" },
    materializePostgresHost: { cdcOnly: true, kind: "string", modes: ["external"], description: "PostgreSQL host as Materialize reaches it (default: postgresHost)" },
    materializePostgresPort: { cdcOnly: true, kind: "port", modes: ["external"], description: "PostgreSQL port as Materialize reaches it (default: postgresPort)" },
} satisfies Record<string, KeySpec>;

type ConfigKey = keyof typeof configKeys;

export const defaults = {
    redpandaImage: "docker.redpanda.com/redpandadata/redpanda:v26.1.14",
    materializeImage: "materialize/materialized:v26.40.0",
    consoleImage: "docker.redpanda.com/redpandadata/console:v3.7.1",
    postgresImage: "postgres:17.6-bookworm",
    postgresDatabase: "jaffle_shop",
    cluster: "quickstart",
    sourceSchema: "ingest",
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

type KeyValue<S extends KeySpec> = S["kind"] extends "integer" | "port" ? number
    : S["kind"] extends "boolean" ? boolean
    : S["kind"] extends "object" ? Record<string, string>
    : S["kind"] extends "secret" ? pulumi.Output<string>
    : S["kind"] extends "hostPorts" ? string[]
    : string;

/**
 * Reads every key by the kind its entry in `configKeys` declares. A bad value is recorded in
 * `problems` and read as unset, so that every problem of the stack is reported at once.
 */
function configReader(problems: string[]) {
    const namespace = pulumi.getProject();
    const config = new pulumi.Config();
    const secretKeys = secretKeysOfStack(pulumi.getStack());
    const label = (key: ConfigKey) => `${namespace}:${key}`;

    const parse = (key: ConfigKey, value: string): unknown => {
        const spec: KeySpec = configKeys[key];
        const complain = (problem: string) => {
            problems.push(`${label(key)}: ${problem}`);
            return undefined;
        };
        if (value.trim() === "" && !spec.emptyAllowed) return complain("must not be empty");
        if (spec.choices && !spec.choices.includes(value)) return complain(`"${value}" is not one of ${spec.choices.join(", ")}`);
        switch (spec.kind) {
            case "integer":
            case "port": {
                const [min, max] = spec.range ?? [1, 65535];
                if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
                    return complain(`"${value}" is not a whole number from ${min} to ${max}`);
                }
                return Number(value);
            }
            case "boolean":
                return value === "true" || value === "false" ? value === "true" : complain(`"${value}" is not true or false`);
            case "object":
                try {
                    const parsed = JSON.parse(value);
                    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
                        return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
                    }
                } catch {
                    // reported below
                }
                return complain(`expected an object of topic settings, e.g. {"retention.ms": "-1"}`);
            case "hostPorts": {
                const servers = value.split(",").map(s => s.trim());
                const bad = servers.filter(s => !/^[A-Za-z0-9._-]+:\d{1,5}$/.test(s));
                return bad.length > 0 ? complain(`"${bad.join(", ")}" is not a host:port list`) : servers;
            }
            case "secret":
                if (secretKeys && !secretKeys.has(`${namespace}:${key}`)) {
                    complain(`holds a password; set it with: pulumi config set --secret ${key}`);
                }
                return config.requireSecret(key);
            case "string":
                return value;
        }
    };

    return {
        namespace,
        label,
        /** The key's value, or undefined when it is unset or bad. */
        read<K extends ConfigKey>(key: K): KeyValue<(typeof configKeys)[K]> | undefined {
            const value = config.get(key);
            return value === undefined ? undefined : (parse(key, value) as KeyValue<(typeof configKeys)[K]> | undefined);
        },
        isSet: (key: ConfigKey) => config.get(key) !== undefined,
        /** The keys set for this project, known or not. */
        present: Object.keys(pulumi.runtime.allConfig())
            .filter(fullKey => fullKey.startsWith(`${namespace}:`))
            .map(fullKey => fullKey.slice(namespace.length + 1)),
    };
}

export function readConfig(): StackConfig {
    const stack = pulumi.getStack();
    const problems: string[] = [];
    const { namespace, label, read, isSet, present } = configReader(problems);

    for (const key of present) {
        if (!(key in configKeys)) {
            const hint = closestKey(key);
            problems.push(`${namespace}:${key}: unknown config key${hint ? ` (did you mean ${hint}?)` : ""}`);
        }
    }
    const mode = (read("mode") ?? "local") as Mode;
    for (const key of present) {
        const spec = (configKeys as Record<string, KeySpec>)[key];
        if (spec && !spec.modes.includes(mode)) {
            problems.push(`${namespace}:${key}: only applies in ${spec.modes.join("/")} mode, but mode is ${mode}`);
        }
    }

    const common: CommonConfig = {
        stack,
        sqlDir: read("sqlDir") ?? "sql",
        seed: read("seed") ?? true,
        sqlObjects: read("sqlObjects") ?? true,
        cluster: read("cluster") ?? defaults.cluster,
        sourceSchema: read("sourceSchema") ?? defaults.sourceSchema,
        modelChanges: {
            mode: (read("modelChanges") ?? "blueGreen") as "blueGreen" | "replace",
            timeoutSeconds: read("deployTimeoutSeconds") ?? 600,
            maxLagSeconds: read("deployMaxLagSeconds") ?? 1,
        },
        topics: {
            prefix: read("topicPrefix") ?? (mode === "external" ? `${stack}.` : ""),
            partitions: read("topicPartitions") ?? 1,
            replicationFactor: read("topicReplicationFactor") ?? 1,
            config: read("topicConfig") ?? {},
        },
    };
    if (common.topics.prefix !== "" && !/^[A-Za-z0-9._-]+$/.test(common.topics.prefix)) {
        problems.push(`${label("topicPrefix")}: "${common.topics.prefix}" may only contain letters, digits, ".", "_" and "-"`);
    }
    if (["public", defaultFailureSchema].includes(common.sourceSchema) || common.sourceSchema.startsWith("mz_") || common.sourceSchema.startsWith("pg_")) {
        problems.push(`${label("sourceSchema")}: "${common.sourceSchema}" holds models or the system's objects; the sources need a schema of their own`);
    }
    const longestTopic = common.topics.prefix.length + Math.max(...datasetNames.map(name => name.length));
    if (longestTopic > maxTopicName) {
        problems.push(
            `${label("topicPrefix")}: "${common.topics.prefix}" makes topic names of ${longestTopic} characters; Kafka allows ${maxTopicName}` +
                (isSet("topicPrefix") ? "" : ` (the default prefix is the stack's name: set a shorter topicPrefix)`),
        );
    }

    const cdcDatasets = readCdcDatasets();
    const result: StackConfig = mode === "local" ? localConfig() : externalConfig();
    if (cdcDatasets === undefined) {
        for (const key of present.filter(key => (configKeys as Record<string, KeySpec>)[key]?.cdcOnly)) {
            problems.push(`${namespace}:${key}: only applies when cdcDatasets is set`);
        }
    }
    if (problems.length > 0) throw new ConfigError(problems);
    return result;

    function readCdcDatasets(): CdcDatasets | undefined {
        const list = read("cdcDatasets");
        if (list === undefined) return undefined;
        const names = list.split(",").map(name => name.trim());
        const unknown = names.filter(name => !(datasetNames as readonly string[]).includes(name));
        if (unknown.length > 0) {
            problems.push(`${label("cdcDatasets")}: "${unknown.join(", ")}" is not a dataset (known: ${datasetNames.join(", ")})`);
        }
        return {
            datasets: datasetNames.filter(name => names.includes(name)),
            database: read("postgresDatabase") ?? defaults.postgresDatabase,
        };
    }

    function localConfig(): LocalConfig {
        if (stack.length > maxLocalStackName) {
            problems.push(
                `stack name "${stack}" has ${stack.length} characters; a local stack's may have at most ${maxLocalStackName}: ` +
                    `its containers are named ${containerName(namePrefix("<stack>"), "materialize")}, and a container's name is its ` +
                    `host name and its address on the stack's network, at most 63 characters`,
            );
        }
        const portBase = read("portBase") ?? derivedPortBase(stack);
        const ports = {
            kafka: portBase,
            materializeSql: portBase + 1,
            materializeHttp: portBase + 2,
            console: portBase + 3,
            materializeConsole: portBase + 4,
        };
        // PostgreSQL takes the next port after the five of portBase.
        const postgresPort = ports.materializeConsole + 1;
        if (cdcDatasets && postgresPort > 65535) problems.push(`${label("portBase")}: leaves no port for PostgreSQL (portBase+5 = ${postgresPort})`);
        const local: LocalConfig = {
            ...common,
            mode: "local",
            bindAddress: read("bindAddress") ?? "127.0.0.1",
            ports,
            redpandaImage: read("redpandaImage") ?? defaults.redpandaImage,
            materializeImage: read("materializeImage") ?? defaults.materializeImage,
            console: { enabled: read("console") ?? false, image: read("consoleImage") ?? defaults.consoleImage },
            cdc: cdcDatasets && { ...cdcDatasets, image: read("postgresImage") ?? defaults.postgresImage, port: postgresPort },
        };
        // Only when the engine runs the program: under test mocks, this machine's ports are not the stack's.
        if (problems.length === 0 && pulumi.runtime.hasEngine()) {
            const used = [ports.kafka, ports.materializeSql, ports.materializeHttp, ports.materializeConsole]
                .concat(local.console.enabled ? [ports.console] : [], local.cdc ? [local.cdc.port] : []);
            for (const port of portsTakenByOthers(local.bindAddress, used, namePrefix(stack))) {
                problems.push(
                    `${label("portBase")}: ${local.bindAddress}:${port} is in use (address already in use) by something other than ` +
                        "this stack's containers: free it, or give the stack another portBase",
                );
            }
        }
        return local;
    }

    function externalConfig(): ExternalConfig {
        const bootstrapServers = read("kafkaBootstrapServers");
        if (!isSet("kafkaBootstrapServers")) problems.push(`${label("kafkaBootstrapServers")}: required in external mode`);
        const mechanism = read("kafkaSaslMechanism") as SaslMechanism | undefined;
        const username = read("kafkaSaslUsername");
        const password = read("kafkaSaslPassword");
        if (mechanism && (username === undefined || password === undefined)) {
            problems.push(`${label("kafkaSaslMechanism")}: needs kafkaSaslUsername and kafkaSaslPassword too`);
        }
        if (!mechanism && (username !== undefined || password !== undefined)) {
            problems.push(`${label("kafkaSaslMechanism")}: required when kafkaSaslUsername or kafkaSaslPassword is set`);
        }
        const host = read("materializeHost");
        return {
            ...common,
            mode: "external",
            kafka: {
                bootstrapServers: bootstrapServers ?? [],
                tls: read("kafkaTls") ?? false,
                sasl: mechanism && username !== undefined && password ? { mechanism, username, password } : undefined,
                brokersForMaterialize: read("materializeBrokers") ?? bootstrapServers ?? [],
            },
            materialize: host === undefined
                ? undefined
                : {
                      host,
                      port: read("materializePort") ?? 6875,
                      user: read("materializeUser") ?? "materialize",
                      password: read("materializePassword"),
                      database: read("materializeDatabase") ?? "materialize",
                      ssl: read("materializeSsl") ?? false,
                  },
            cdc: cdcDatasets && externalCdc(cdcDatasets),
        };
    }

    function externalCdc(cdc: CdcDatasets): ExternalCdcSettings | undefined {
        // Every key is read, so each of its problems is reported even when another one is missing.
        const host = read("postgresHost");
        if (host === undefined) problems.push(`${label("postgresHost")}: required when cdcDatasets is set in external mode`);
        const password = read("postgresPassword");
        if (password === undefined) problems.push(`${label("postgresPassword")}: required when cdcDatasets is set in external mode`);
        const port = read("postgresPort") ?? 5432;
        const user = read("postgresUser") ?? "postgres";
        const sslMode = (read("postgresSslMode") ?? "require") as PostgresSslMode;
        const hostForMaterialize = read("materializePostgresHost") ?? host;
        const portForMaterialize = read("materializePostgresPort") ?? port;
        return host === undefined || password === undefined || hostForMaterialize === undefined
            ? undefined
            : { ...cdc, host, port, user, password, sslMode, hostForMaterialize, portForMaterialize };
    }
}

/**
 * The config keys whose values are secrets, to catch a password set without --secret: as the
 * engine lists them for the program (PULUMI_CONFIG_SECRET_KEYS, covering stack files, ESC
 * environments and --config alike), else as the stack's settings file has them (`secure:`
 * values). Undefined when neither says: then every value is trusted.
 */
function secretKeysOfStack(stack: string): Set<string> | undefined {
    // Only a program the engine runs has a stack; under test mocks there is nothing to read.
    if (!pulumi.runtime.hasEngine()) return undefined;
    const listed = process.env.PULUMI_CONFIG_SECRET_KEYS;
    if (listed) return new Set(JSON.parse(listed) as string[]);
    // The engine runs the program in the project directory, beside the stack files.
    const file = `Pulumi.${stack}.yaml`;
    if (!fs.existsSync(file)) return undefined;
    const settings = yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | undefined;
    const secure = Object.entries(settings?.config ?? {})
        .filter(([, value]) => typeof value === "object" && value !== null && "secure" in value)
        .map(([key]) => key);
    return new Set(secure);
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
