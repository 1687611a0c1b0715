import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { TestProject } from "vitest/node";
import { DockerEngine, startDocker } from "../testkit/services/docker";
import { startKafka, SuppliedKafka, suppliedKafka } from "../testkit/services/kafka";
import { startPostgres, SuppliedPostgres, suppliedPostgres } from "../testkit/services/postgres";

/**
 * vitest globalSetup: real services on loopback for the whole run, started once and in parallel
 * in the main process: a single-node Kafka 3.9 broker (KRaft), a throwaway PostgreSQL cluster, and
 * a Docker engine with the test images. JSS_TEST_KAFKA_BROKERS, JSS_TEST_POSTGRES_URL and DOCKER_HOST
 * name ones already running on loopback to use instead. Tests reach them with `inject("kafkaBrokers")`,
 * `inject("postgresUrl")`, `inject("kafkaLibsDir")`, `inject("docker")`.
 * Nothing is skipped: if a service can't start, setup throws and the run fails.
 * What they need installed comes from `bash scripts/test-services.sh` (npm test runs it).
 */
declare module "vitest" {
    export interface ProvidedContext {
        /** Bootstrap servers of the test broker, "127.0.0.1:PORT". */
        kafkaBrokers: string;
        /** postgres://postgres@127.0.0.1:PORT/jaffle (trust auth, no password). */
        postgresUrl: string;
        /** The Kafka jars, for `java -cp '<dir>/*' org.apache.kafka.tools.ProducerPerformance ...`. */
        kafkaLibsDir: string;
        /** The Docker engine: DOCKER_HOST, the test images, and the prefix of this run's stack names. */
        docker: { host: string; images: { broker: string; materialize: string }; prefix: string };
    }
}

function log(message: string): void {
    process.stderr.write(`[global-setup] ${message}\n`);
}

async function timed<T>(name: string, start: () => Promise<T>, describe: (service: T) => string): Promise<T> {
    const began = Date.now();
    const service = await start();
    log(`${name} ready in ${((Date.now() - began) / 1000).toFixed(1)} s: ${describe(service)}`);
    return service;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
    const began = Date.now();
    // Services a developer already runs on loopback, used instead of starting them (README, Testing).
    const suppliedBrokers = process.env.JSS_TEST_KAFKA_BROKERS;
    const suppliedPostgresUrl = process.env.JSS_TEST_POSTGRES_URL;
    const [kafka, postgres, dockerEngine] = await Promise.allSettled([
        timed("kafka", () => (suppliedBrokers ? suppliedKafka(suppliedBrokers) : startKafka()),
            (k: SuppliedKafka) => `${k.brokers}${"logFile" in k ? ` (log ${k.logFile})` : " (supplied)"}`),
        timed("postgres", () => (suppliedPostgresUrl ? suppliedPostgres(suppliedPostgresUrl) : startPostgres()),
            (p: SuppliedPostgres) => `${p.url}${suppliedPostgresUrl ? " (supplied)" : ""}`),
        timed("docker", () => startDocker(), (d: DockerEngine) => `${d.host}, images ${d.images.broker} ${d.images.materialize}`),
    ]);
    const services = [kafka, postgres, dockerEngine];
    const stopAll = () =>
        Promise.allSettled(services.map(s => (s.status === "fulfilled" ? s.value.stop() : undefined)));

    if (kafka.status === "rejected" || postgres.status === "rejected" || dockerEngine.status === "rejected") {
        // Stop whichever did start, then fail the whole run with every reason.
        await stopAll();
        const reasons = services
            .filter((r): r is PromiseRejectedResult => r.status === "rejected")
            .map(r => (r.reason instanceof Error ? r.reason.message : String(r.reason)));
        throw new Error(`test services failed to start (nothing was skipped; the run fails):\n\n${reasons.join("\n\n")}`);
    }

    log(`services up in ${((Date.now() - began) / 1000).toFixed(1)} s`);
    // The test files, and the engines and programs they run, make their temporary directories in
    // one of this run's (TMPDIR, inherited by every worker), removed with it at the end.
    const runTmp = fs.mkdtempSync(path.join(os.tmpdir(), "jss-run-"));
    // Traversable by others: as root, the tests' own PostgreSQL clusters run as the postgres user.
    fs.chmodSync(runTmp, 0o711);
    process.env.TMPDIR = runTmp;
    project.provide("kafkaBrokers", kafka.value.brokers);
    project.provide("postgresUrl", postgres.value.url);
    project.provide("kafkaLibsDir", kafka.value.libsDir);
    const { host, images, prefix } = dockerEngine.value;
    project.provide("docker", { host, images, prefix });

    return async () => {
        const stopping = Date.now();
        const results = await stopAll();
        fs.rmSync(runTmp, { recursive: true, force: true });
        log(`services stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
        const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed.length > 0) {
            throw new Error(`stopping test services failed: ${failed.map(r => String(r.reason)).join("; ")}`);
        }
    };
}
