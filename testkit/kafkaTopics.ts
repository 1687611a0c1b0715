import { randomUUID } from "node:crypto";
import { Kafka, KafkaMessage, logLevel } from "kafkajs";

export interface TopicRecord {
    topic: string;
    partition: number;
    key: string;
    value: string;
}

export function testKafka(brokers: string): Kafka {
    return new Kafka({ clientId: "jaffle-tests", brokers: brokers.split(","), logLevel: logLevel.NOTHING });
}

/** A topic prefix no other test uses, so tests share one broker without seeing each other. */
export function uniquePrefix(label: string): string {
    return `${label}-${randomUUID().slice(0, 8)}.`;
}

export async function createTopics(brokers: string, topics: string[], numPartitions = 1): Promise<void> {
    const admin = testKafka(brokers).admin();
    await admin.connect();
    try {
        await admin.createTopics({ topics: topics.map(topic => ({ topic, numPartitions })), waitForLeaders: true });
    } finally {
        await admin.disconnect();
    }
}

/**
 * Everything on the topics, read from the beginning as a `read_committed` consumer would (or
 * uncommitted, to see aborted writes).
 */
export async function readTopics(
    brokers: string,
    topics: string[],
    options: { readUncommitted?: boolean; idleMs?: number } = {},
): Promise<TopicRecord[]> {
    const records: TopicRecord[] = [];
    await consumeUntilIdle(brokers, topics, async (topic, partition, messages) => {
        for (const message of messages) {
            records.push({ topic, partition, key: message.key?.toString() ?? "", value: message.value?.toString() ?? "" });
        }
    }, options);
    return records;
}

/**
 * Hands every batch on the topics, from the beginning, to `onBatch` until the consumer is caught
 * up. Transaction markers take offsets without being records, so "caught up" means no new record
 * for `idleMs`.
 */
export async function consumeUntilIdle(
    brokers: string,
    topics: string[],
    onBatch: (topic: string, partition: number, messages: KafkaMessage[]) => Promise<void>,
    options: { readUncommitted?: boolean; idleMs?: number } = {},
): Promise<void> {
    const consumer = testKafka(brokers).consumer({
        groupId: `reader-${randomUUID()}`,
        readUncommitted: options.readUncommitted ?? false,
        maxWaitTimeInMs: 200,
    });
    let lastArrival = Date.now();
    let assigned = false;
    await consumer.connect();
    try {
        await consumer.subscribe({ topics, fromBeginning: true });
        consumer.on(consumer.events.GROUP_JOIN, () => {
            assigned = true;
            lastArrival = Date.now();
        });
        await consumer.run({
            eachBatch: async ({ batch }) => {
                await onBatch(batch.topic, batch.partition, batch.messages);
                lastArrival = Date.now();
            },
        });
        const idleMs = options.idleMs ?? 1_500;
        while (!assigned || Date.now() - lastArrival < idleMs) {
            await new Promise(resolve => setTimeout(resolve, 100));
        }
    } finally {
        await consumer.disconnect();
    }
}
