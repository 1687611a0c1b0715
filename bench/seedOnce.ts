import { randomUUID } from "node:crypto";
import * as path from "node:path";
import { prefixedTopics } from "../cli/target";
import { seedTopics } from "../producer/seed";

/**
 * The benchmark's seeding child: seeds the topics under a prefix once, as the stack's Seeder
 * does, from the repository's seeds or from the directory given third. Prints when it started
 * sending and when the broker acknowledged the last event, both in ms since this process started,
 * and the heap still in use after (run with --expose-gc for a figure after a full collection);
 * then seeds again, as an `up` after a lost state would, and prints how long reading the rows back
 * from the topics took (nothing is sent).
 */
async function main(): Promise<void> {
    const [brokers, prefix, seedsDir = path.join(__dirname, "..", "seeds")] = process.argv.slice(2);
    const options = {
        kafka: { brokers: brokers.split(","), tls: false },
        seedsDir,
        topics: prefixedTopics(prefix),
        transactionalId: `bench-seed-${randomUUID()}`,
        // Millions of rows take minutes: the budget of a big seed, not of a broker that is down.
        timeoutMs: 600_000,
    };
    const sendStartedMs = performance.now();
    const result = await seedTopics(options);
    const lastAckMs = performance.now();
    (globalThis as { gc?: () => void }).gc?.();
    const retainedHeapMb = process.memoryUsage().heapUsed / 2 ** 20;
    const again = await seedTopics(options);
    const readBackMs = performance.now() - lastAckMs;
    if (again.sent !== 0) throw new Error(`seeding again sent ${again.sent} rows`);
    console.log(JSON.stringify({ sent: result.sent, readBack: again.alreadyOnTopics, sendStartedMs, lastAckMs, retainedHeapMb, readBackMs }));
}

main().catch(err => {
    console.error(err);
    process.exitCode = 1;
});
