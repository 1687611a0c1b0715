import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaSettings } from "../producer/kafka";
import { seedTopics } from "../producer/seed";
import { createTopics, readTopics, uniquePrefix } from "../testkit/kafkaTopics";
import { KafkaBroker, startKafka } from "../testkit/services/kafka";

/**
 * What the producer says when Kafka says no: on a broker of its own that also listens with SASL
 * (PLAIN), the errors name the credentials or the missing topic instead of Kafka's protocol words.
 */
const seedsDir = path.join(__dirname, "..", "seeds");
let broker: KafkaBroker;
let topics: Record<string, string>;

beforeAll(async () => {
    broker = await startKafka({ saslPlainUsers: { alice: "alice-secret" }, warmUp: false });
    const prefix = uniquePrefix("sasl");
    topics = { raw_customers: `${prefix}raw_customers`, raw_orders: `${prefix}raw_orders`, raw_payments: `${prefix}raw_payments` };
    await createTopics(broker.brokers, Object.values(topics));
});

afterAll(async () => {
    await broker?.stop();
});

const saslKafka = (password?: string): KafkaSettings => ({
    brokers: [broker.saslBrokers!],
    tls: false,
    sasl: password === undefined ? undefined : { mechanism: "plain", username: "alice", password },
});

describe("Kafka refusing the producer", () => {
    it("seeds through the SASL listener with the right credentials", async () => {
        const result = await seedTopics({ kafka: saslKafka("alice-secret"), seedsDir, topics, transactionalId: `t-${topics.raw_orders}` });
        expect(result.sent).toBe(312);
        expect(await readTopics(broker.brokers, Object.values(topics))).toHaveLength(312);
    });

    it("says the credentials were refused, naming the user, not the password", async () => {
        const error = await seedTopics({ kafka: saslKafka("wrong-password"), seedsDir, topics, transactionalId: `t2-${topics.raw_orders}` })
            .then(() => undefined, (err: Error) => err);
        expect(error?.message).toMatch(new RegExp(`Kafka at ${broker.saslBrokers} refused the SASL credentials of user "alice" \\(plain\\)`));
        expect(error?.message).not.toContain("wrong-password");
    });

    it("asks for credentials when none were given and the listener hangs up", async () => {
        await expect(seedTopics({ kafka: saslKafka(), seedsDir, topics, transactionalId: `t3-${topics.raw_orders}` }))
            .rejects.toThrow(new RegExp(`Kafka at ${broker.saslBrokers} closed the connection at once: does it want SASL credentials`));
    });
});
