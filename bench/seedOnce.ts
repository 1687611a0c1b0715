import { randomUUID } from "node:crypto";
import * as path from "node:path";
import { prefixedTopics } from "../producer/cli/target";
import { seedTopics } from "../producer/seed";

/**
 * The benchmark's seeding child: seeds the topics under a prefix once, as the stack's Seeder
 * does, and prints when it started sending and when the broker acknowledged the last event,
 * both in ms since this process started.
 */
async function main(): Promise<void> {
    const [brokers, prefix] = process.argv.slice(2);
    const sendStartedMs = performance.now();
    const { sent } = await seedTopics({
        kafka: { brokers: brokers.split(","), tls: false },
        seedsDir: path.join(__dirname, "..", "seeds"),
        topics: prefixedTopics(prefix),
        transactionalId: `bench-seed-${randomUUID()}`,
    });
    console.log(JSON.stringify({ sent, sendStartedMs, lastAckMs: performance.now() }));
}

main().catch(err => {
    console.error(err);
    process.exitCode = 1;
});
