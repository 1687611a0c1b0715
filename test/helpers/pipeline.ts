import * as path from "node:path";
import { prefixedTopics } from "../../cli/target";
import { seedTopics } from "../../producer/seed";
import { createTopics, uniquePrefix } from "../../testkit/kafkaTopics";
import { copyTopicsToWarehouse, Warehouse } from "./warehouse";

export const seedsDir = path.join(__dirname, "..", "..", "seeds");

/**
 * The end-to-end path of the tests: fresh topics on the test broker seeded as `npm run up` seeds
 * them, then everything on them copied into a fresh warehouse running the project's SQL.
 */
export class Pipeline {
    private readonly warehouses: Warehouse[] = [];

    constructor(
        private readonly brokers: string,
        private readonly postgresUrl: string,
    ) {}

    async seededTopics(label: string): Promise<{ prefix: string; topics: Record<string, string> }> {
        const prefix = uniquePrefix(label);
        const topics = prefixedTopics(prefix);
        await createTopics(this.brokers, Object.values(topics));
        await seedTopics({ kafka: { brokers: [this.brokers], tls: false }, seedsDir, topics, transactionalId: `seed-${prefix}` });
        return { prefix, topics };
    }

    async warehouseOf(topics: Record<string, string>): Promise<Warehouse> {
        const warehouse = await Warehouse.create(this.postgresUrl, "pipeline");
        this.warehouses.push(warehouse);
        await copyTopicsToWarehouse(this.brokers, topics, warehouse);
        return warehouse;
    }

    async close(): Promise<void> {
        await Promise.all(this.warehouses.splice(0).map(w => w.close()));
    }
}
