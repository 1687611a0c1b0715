import type { TestProject } from "vitest/node";
import { KafkaBroker, startKafka } from "./services/kafka";
import { PostgresServer, startPostgres } from "./services/postgres";

/**
 * vitest globalSetup: real services on loopback for the whole run, started once and in parallel
 * in the main process: a single-node Kafka 3.9 broker (KRaft) and a throwaway PostgreSQL cluster.
 * Tests reach them with `inject("kafkaBrokers")`, `inject("postgresUrl")`, `inject("kafkaLibsDir")`.
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
    const [kafka, postgres] = await Promise.allSettled([
        timed("kafka", () => startKafka(), (k: KafkaBroker) => `${k.brokers} (log ${k.logFile})`),
        timed("postgres", () => startPostgres(), (p: PostgresServer) => p.url),
    ]);

    if (kafka.status === "rejected" || postgres.status === "rejected") {
        // Stop whichever did start, then fail the whole run with every reason.
        await Promise.allSettled([
            kafka.status === "fulfilled" ? kafka.value.stop() : undefined,
            postgres.status === "fulfilled" ? postgres.value.stop() : undefined,
        ]);
        const reasons = [kafka, postgres]
            .filter((r): r is PromiseRejectedResult => r.status === "rejected")
            .map(r => (r.reason instanceof Error ? r.reason.message : String(r.reason)));
        throw new Error(`test services failed to start (nothing was skipped; the run fails):\n\n${reasons.join("\n\n")}`);
    }

    const broker = kafka.value;
    const db = postgres.value;
    log(`services up in ${((Date.now() - began) / 1000).toFixed(1)} s`);

    project.provide("kafkaBrokers", broker.brokers);
    project.provide("postgresUrl", db.url);
    project.provide("kafkaLibsDir", broker.libsDir);

    return async () => {
        const stopping = Date.now();
        const results = await Promise.allSettled([broker.stop(), db.stop()]);
        log(`services stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
        const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed.length > 0) {
            throw new Error(`stopping test services failed: ${failed.map(r => String(r.reason)).join("; ")}`);
        }
    };
}
