import { ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { cacheDir } from "../../lib/cacheDir";
import { withTimeout } from "../../producer/send";
import { freePorts, runProcess, tailOf, terminate } from "./process";

/**
 * A real single-node Kafka broker (KRaft, broker + controller in one JVM) on loopback for the
 * tests, run from the jars that scripts/test-services.sh fetched with Maven (no tarball, no Docker).
 * Kafka 3.9.x (the version testkit/services/kafka/pom.xml pins) because kafkajs 2.2.4 still speaks
 * its protocol versions; Kafka 4 removed them.
 */
export const KAFKA_VERSION = /<kafka\.version>(.+)<\/kafka\.version>/.exec(
    fs.readFileSync(path.join(__dirname, "kafka", "pom.xml"), "utf8"),
)![1];

export interface KafkaBroker {
    /** The bootstrap address, "127.0.0.1:PORT". */
    brokers: string;
    /** The directory of the broker's jars (for `java -cp '<libsDir>/*' ...`, e.g. ProducerPerformance). */
    libsDir: string;
    /** The broker's log4j log and JVM stdout/stderr. Removed by stop() unless given in the options. */
    logFile: string;
    /** With `saslPlainUsers`: the bootstrap address of a SASL_PLAINTEXT listener (mechanism PLAIN). */
    saslBrokers?: string;
    /** The broker JVM's process id (a new one after restart()), e.g. to pause it with SIGSTOP. */
    readonly pid: number;
    /**
     * Kills the broker if it runs (SIGKILL: a crash, not a clean shutdown), then starts it again on
     * the same port with the same data; resolves once it answers metadata again.
     */
    restart(): Promise<void>;
    stop(): Promise<void>;
}

export interface StartKafkaOptions {
    /** Default: kafkaLibsDir() (where scripts/test-services.sh puts the jars). */
    libsDir?: string;
    /** Default: $JAVA_HOME/bin/java, else java on PATH. */
    java?: string;
    /** JVM max heap. Default 512m. */
    heap?: string;
    /** How long the broker may take to be usable. Default 90 s. */
    timeoutMs?: number;
    /** Where the broker logs; kept after stop(). Default: in the broker's temporary directory. */
    logFile?: string;
    /** Also listen with SASL_PLAINTEXT (mechanism PLAIN) for these users, by name and password. */
    saslPlainUsers?: Record<string, string>;
    /** Extra or overriding server.properties. */
    properties?: Record<string, string | number | boolean>;
    /**
     * Before resolving, create a topic, commit a transaction on it and delete it again, so the
     * transaction coordinator (__transaction_state) is up before the first test. Default true.
     */
    warmUp?: boolean;
}

/** Where scripts/test-services.sh puts the broker's jars (kafka_libs in scripts/common.sh). */
export function kafkaLibsDir(env: NodeJS.ProcessEnv = process.env): string {
    return path.join(cacheDir(env), `kafka-${KAFKA_VERSION}`, "libs");
}

export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaBroker> {
    const libsDir = path.resolve(opts.libsDir ?? kafkaLibsDir());
    checkLibs(libsDir);
    const java = opts.java ?? (process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, "bin", "java") : "java");
    const timeoutMs = opts.timeoutMs ?? 90_000;
    const deadline = Date.now() + timeoutMs;

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jss-kafka-"));
    const logFile = opts.logFile ? path.resolve(opts.logFile) : path.join(dir, "kafka.log");
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    let child: ChildProcess | undefined;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;

    const killNow = () => {
        if (child && !exited) child.kill("SIGKILL");
    };
    const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });
    // If the test process goes away without stop(), take the broker with it.
    const onExit = () => {
        killNow();
        removeDir();
    };
    process.once("exit", onExit);

    const fail = async (message: string, cause?: unknown): Promise<never> => {
        const tail = tailOf(logFile, 60);
        await terminate(child, () => exited !== undefined, 5_000);
        process.removeListener("exit", onExit);
        removeDir();
        const why = cause instanceof Error ? `: ${cause.message}` : cause ? `: ${String(cause)}` : "";
        throw new Error(`Kafka ${KAFKA_VERSION} broker: ${message}${why}\n--- tail of ${logFile} ---\n${tail}`);
    };

    try {
        const [port, controllerPort, saslPort] = await freePorts(3);
        const brokers = `127.0.0.1:${port}`;
        const sasl = opts.saslPlainUsers && {
            listener: `,SASL_PLAINTEXT://127.0.0.1:${saslPort}`,
            properties: {
                "sasl.enabled.mechanisms": "PLAIN",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule required " +
                    Object.entries(opts.saslPlainUsers).map(([user, password]) => `user_${user}="${password}"`).join(" ") + ";",
            },
        };
        const properties: Record<string, string | number | boolean> = {
            "process.roles": "broker,controller",
            "node.id": 1,
            listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${sasl?.listener ?? ""}`,
            "advertised.listeners": `PLAINTEXT://127.0.0.1:${port}${sasl?.listener ?? ""}`,
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
            ...sasl?.properties,
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "controller.quorum.bootstrap.servers": `127.0.0.1:${controllerPort}`,
            "log.dirs": path.join(dir, "data"),
            "num.partitions": 1,
            "default.replication.factor": 1,
            "auto.create.topics.enable": false,
            "offsets.topic.replication.factor": 1,
            // Internal topics with 1 partition instead of 50: much faster first group / transaction.
            "offsets.topic.num.partitions": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "transaction.state.log.num.partitions": 1,
            "group.initial.rebalance.delay.ms": 0,
            "log.cleaner.dedupe.buffer.size": 16 * 1024 * 1024,
            ...opts.properties,
        };
        const propsFile = path.join(dir, "server.properties");
        fs.writeFileSync(propsFile, Object.entries(properties).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
        const log4jFile = path.join(dir, "log4j.properties");
        fs.writeFileSync(log4jFile, log4jProperties(logFile));

        // The storage tool logs warnings and errors to stderr, which ends up in the error on failure.
        const toolLog4jFile = path.join(dir, "log4j-tools.properties");
        fs.writeFileSync(
            toolLog4jFile,
            [
                "log4j.rootLogger=WARN, stderr",
                "log4j.appender.stderr=org.apache.log4j.ConsoleAppender",
                "log4j.appender.stderr.Target=System.err",
                "log4j.appender.stderr.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n",
                "",
            ].join("\n"),
        );

        const classpath = `${libsDir}/*`;
        const log4jArg = `-Dlog4j.configuration=file:${log4jFile}`;

        // Cluster id: 16 random bytes, base64url without padding (what `StorageTool random-uuid` prints).
        // Like Kafka's own Uuid.randomUuid, never one starting with "-": the tool would read it as a flag.
        let clusterId: string;
        do clusterId = randomBytes(16).toString("base64url");
        while (clusterId.startsWith("-"));
        const format = await runProcess(
            java,
            ["-Xmx256m", `-Dlog4j.configuration=file:${toolLog4jFile}`, "-cp", classpath, "kafka.tools.StorageTool", "format", "--standalone", "-t", clusterId, "-c", propsFile],
            { timeoutMs: Math.max(deadline - Date.now(), 1_000) },
        );
        if (format.code !== 0) {
            return await fail(`storage format failed (exit ${format.code}):\n${format.output}`);
        }

        const launch = () => {
            exited = undefined;
            spawnError = undefined;
            const out = fs.openSync(logFile, "a");
            try {
                child = spawn(
                    java,
                    [
                        `-Xmx${opts.heap ?? "512m"}`,
                        "-Xms128m",
                        "-XX:+UseG1GC",
                        "-XX:MaxGCPauseMillis=20",
                        "-XX:+ExitOnOutOfMemoryError",
                        "-Djava.awt.headless=true",
                        log4jArg,
                        `-Dkafka.logs.dir=${path.dirname(logFile)}`,
                        "-cp",
                        classpath,
                        "kafka.Kafka",
                        propsFile,
                    ],
                    { stdio: ["ignore", out, out], cwd: dir },
                );
            } finally {
                fs.closeSync(out);
            }
            const launched = child;
            launched.on("error", err => (spawnError = err));
            launched.on("exit", (code, signal) => {
                if (launched === child) exited = { code, signal };
            });
        };
        launch();

        const gone = () =>
            spawnError
                ? `could not run ${java}: ${spawnError.message}`
                : exited
                  ? `the broker exited (code ${exited.code}, signal ${exited.signal}) while starting`
                  : undefined;

        try {
            await waitUntilReady(brokers, port, deadline, gone, opts.warmUp ?? true);
        } catch (err) {
            const why = gone();
            return await fail(why ?? `not ready on ${brokers} within ${timeoutMs / 1000} s`, why ? undefined : err);
        }

        const restart = async () => {
            const running = child!;
            if (!exited) {
                const exit = new Promise<void>(resolve => running.once("exit", () => resolve()));
                running.kill("SIGKILL");
                await withTimeout(exit, 10_000, `the broker (pid ${running.pid}) did not exit within 10 s of SIGKILL`);
            }
            launch();
            try {
                await waitUntilReady(brokers, port, Date.now() + timeoutMs, gone, false);
            } catch (err) {
                throw new Error(`Kafka ${KAFKA_VERSION} broker: not ready again on ${brokers} after a restart: ${describe(err)}\n` +
                    `--- tail of ${logFile} ---\n${tailOf(logFile, 40)}`);
            }
        };

        let stopped: Promise<void> | undefined;
        return {
            brokers,
            saslBrokers: sasl && `127.0.0.1:${saslPort}`,
            libsDir,
            logFile,
            get pid() {
                return child!.pid!;
            },
            restart,
            stop: () =>
                (stopped ??= (async () => {
                    await terminate(child, () => exited !== undefined, 10_000);
                    process.removeListener("exit", onExit);
                    removeDir();
                })()),
        };
    } catch (err) {
        if (err instanceof Error && err.message.startsWith(`Kafka ${KAFKA_VERSION} broker:`)) throw err;
        return await fail("failed to start", err);
    }
}

function checkLibs(libsDir: string): void {
    const marker = path.join(libsDir, ".jss-complete");
    const jar = path.join(libsDir, `kafka_2.13-${KAFKA_VERSION}.jar`);
    if (!fs.existsSync(marker) || !fs.existsSync(jar)) {
        throw new Error(
            `Kafka ${KAFKA_VERSION} jars are not in ${libsDir} (missing ${fs.existsSync(jar) ? marker : jar}). ` +
                "Run `bash scripts/test-services.sh` first (npm test does).",
        );
    }
}

function log4jProperties(logFile: string): string {
    return [
        "log4j.rootLogger=INFO, file",
        "log4j.appender.file=org.apache.log4j.FileAppender",
        `log4j.appender.file.File=${logFile}`,
        "log4j.appender.file.Append=true",
        "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
        "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
        "log4j.logger.kafka.request.logger=WARN",
        "log4j.logger.kafka.network.RequestChannel$=WARN",
        "log4j.logger.state.change.logger=WARN",
        "log4j.logger.kafka.log.LogCleaner=WARN",
        "log4j.logger.org.apache.zookeeper=WARN",
        "",
    ].join("\n");
}

/** A broker the tests use but did not start: its address and jars; stop() leaves it running. */
export type SuppliedKafka = Pick<KafkaBroker, "brokers" | "libsDir" | "stop">;

/**
 * A Kafka broker that already runs on loopback (e.g. a developer's, JSS_TEST_KAFKA_BROKERS),
 * checked as a started one is: it answers metadata and commits a transaction within `timeoutMs`.
 * Only 127.0.0.1 addresses are accepted, so the tests never dial another machine.
 */
export async function suppliedKafka(brokers: string, timeoutMs = 60_000): Promise<SuppliedKafka> {
    const match = /^127\.0\.0\.1:(\d{1,5})$/.exec(brokers);
    if (!match) throw new Error(`Kafka broker "${brokers}": the tests only dial 127.0.0.1; give one 127.0.0.1:PORT address`);
    const libsDir = kafkaLibsDir();
    checkLibs(libsDir);
    try {
        await waitUntilReady(brokers, Number(match[1]), Date.now() + timeoutMs, () => undefined, true);
    } catch (err) {
        throw new Error(`Kafka broker ${brokers} (supplied): not ready: ${describe(err)}`);
    }
    return { brokers, libsDir, stop: async () => undefined };
}

async function waitUntilReady(
    brokers: string,
    port: number,
    deadline: number,
    gone: () => string | undefined,
    warmUp: boolean,
): Promise<void> {
    let lastError: unknown;
    /** Tries `attempt` until it succeeds, pausing between tries; fails once the broker is gone or the deadline has passed. */
    const untilItSucceeds = async (attempt: () => Promise<void>, pauseMs: number) => {
        for (;;) {
            const why = gone();
            if (why) throw new Error(why);
            if (Date.now() > deadline) throw new Error(`timed out; last error: ${describe(lastError)}`);
            try {
                await attempt();
                return;
            } catch (err) {
                lastError = err;
                await sleep(pauseMs);
            }
        }
    };

    // 1. The port accepts connections (the JVM is up and the socket server bound).
    await untilItSucceeds(() => tcpConnect("127.0.0.1", port, 1_000), 200);

    const kafka = new Kafka({
        clientId: "jss-kafka-ready",
        brokers: [brokers],
        logLevel: logLevel.NOTHING,
        connectionTimeout: 2_000,
        requestTimeout: 5_000,
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
    });

    // 2. The broker answers metadata and is registered (unfenced) with the controller.
    await untilItSucceeds(async () => {
        const admin = kafka.admin();
        try {
            await withTimeout(
                (async () => {
                    await admin.connect();
                    await admin.listTopics();
                    const cluster = await admin.describeCluster();
                    if (cluster.brokers.length === 0) throw new Error("no broker registered yet");
                })(),
                15_000,
                "metadata step timed out after 15000 ms",
            );
        } finally {
            await admin.disconnect().catch(() => undefined);
        }
    }, 250);

    if (!warmUp) return;

    // 3. Topics can be created, and a transaction committed (brings up __transaction_state).
    const topic = `__jss-ready-${randomUUID().slice(0, 8)}`;
    await untilItSucceeds(async () => {
        const admin = kafka.admin();
        const producer = kafka.producer({
            transactionalId: `jss-ready-${randomUUID()}`,
            idempotent: true,
            maxInFlightRequests: 1,
            createPartitioner: Partitioners.DefaultPartitioner,
            retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1_000 },
        });
        try {
            await withTimeout(
                (async () => {
                    await admin.connect();
                    const existing = await admin.listTopics();
                    if (!existing.includes(topic)) {
                        await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
                    }
                    await producer.connect();
                    const tx = await producer.transaction();
                    try {
                        await tx.send({ topic, messages: [{ key: "ready", value: "ready" }] });
                        await tx.commit();
                    } catch (err) {
                        await tx.abort().catch(() => undefined);
                        throw err;
                    }
                    await admin.deleteTopics({ topics: [topic] });
                })(),
                30_000,
                "warm-up transaction timed out after 30000 ms",
            );
        } finally {
            await producer.disconnect().catch(() => undefined);
            await admin.disconnect().catch(() => undefined);
        }
    }, 250);
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the process has exited. */
function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
        const socket = net.connect({ host, port });
        socket.setTimeout(timeoutMs);
        socket.once("connect", () => {
            socket.destroy();
            resolve();
        });
        socket.once("timeout", () => {
            socket.destroy();
            reject(new Error(`connect to ${host}:${port} timed out`));
        });
        socket.once("error", err => {
            socket.destroy();
            reject(err);
        });
    });
}

function describe(err: unknown): string {
    if (err instanceof Error) return `${err.name}: ${err.message}`;
    return String(err);
}

