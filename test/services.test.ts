import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { Client } from "pg";
import { describe, expect, inject, it } from "vitest";
import { KAFKA_VERSION, suppliedKafka } from "../testkit/services/kafka";
import { suppliedPostgres } from "../testkit/services/postgres";
import { freePorts } from "../testkit/services/process";

// The real services that test/global-setup.ts started: these tests prove they are there and work.
const brokers = inject("kafkaBrokers");
const postgresUrl = inject("postgresUrl");
const kafkaLibsDir = inject("kafkaLibsDir");

const kafka = new Kafka({ clientId: "services-test", brokers: [brokers], logLevel: logLevel.NOTHING });

function topicName(label: string): string {
    return `services-${label}-${randomUUID().slice(0, 8)}`;
}

async function createTopic(topic: string, numPartitions: number): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    try {
        expect(await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true })).toBe(true);
    } finally {
        await admin.disconnect();
    }
}

/** Reads `topic` from the beginning until `count` records arrived. */
async function consume(topic: string, count: number, readUncommitted = false): Promise<{ key: string; value: string }[]> {
    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}`, readUncommitted, maxWaitTimeInMs: 100 });
    const records: { key: string; value: string }[] = [];
    await consumer.connect();
    try {
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`only ${records.length} of ${count} records on ${topic}`)), 30_000);
            consumer
                .run({
                    eachMessage: async ({ message }) => {
                        records.push({ key: message.key?.toString() ?? "", value: message.value?.toString() ?? "" });
                        if (records.length >= count) {
                            clearTimeout(timer);
                            resolve();
                        }
                    },
                })
                .catch(reject);
        });
    } finally {
        await consumer.disconnect();
    }
    return records;
}

describe("the Kafka broker from globalSetup", () => {
    it("is a real broker on loopback", () => {
        expect(brokers).toMatch(/^127\.0\.0\.1:\d+$/);
    });

    it("creates a topic with 3 partitions, each led by the one broker", async () => {
        const topic = topicName("partitions");
        await createTopic(topic, 3);

        const admin = kafka.admin();
        await admin.connect();
        try {
            expect(await admin.listTopics()).toContain(topic);
            const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
            expect(topics).toHaveLength(1);
            const partitions = [...topics[0].partitions].sort((a, b) => a.partitionId - b.partitionId);
            expect(partitions.map(p => p.partitionId)).toEqual([0, 1, 2]);
            for (const p of partitions) {
                expect(p.leader).toBe(1);
                expect(p.replicas).toEqual([1]);
                expect(p.isr).toEqual([1]);
            }
            const cluster = await admin.describeCluster();
            expect(cluster.brokers).toEqual([{ nodeId: 1, host: "127.0.0.1", port: Number(brokers.split(":")[1]) }]);
        } finally {
            await admin.disconnect();
        }
    });

    it("delivers a sent message to a consumer", async () => {
        const topic = topicName("roundtrip");
        await createTopic(topic, 1);
        const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
        await producer.connect();
        try {
            await producer.send({ topic, messages: [{ key: "k1", value: JSON.stringify({ hello: "kafka" }) }] });
        } finally {
            await producer.disconnect();
        }
        expect(await consume(topic, 1)).toEqual([{ key: "k1", value: '{"hello":"kafka"}' }]);
    });

    it("shows a committed transaction to a read_committed consumer, and not an aborted one", async () => {
        const topic = topicName("tx");
        await createTopic(topic, 1);
        const producer = kafka.producer({
            transactionalId: `tx-${topic}`,
            idempotent: true,
            maxInFlightRequests: 1,
            createPartitioner: Partitioners.DefaultPartitioner,
        });
        await producer.connect();
        try {
            const aborted = await producer.transaction();
            await aborted.send({ topic, messages: [{ key: "a", value: "aborted" }] });
            await aborted.abort();

            const committed = await producer.transaction();
            await committed.send({ topic, messages: [{ key: "c1", value: "one" }, { key: "c2", value: "two" }] });
            await committed.commit();
        } finally {
            await producer.disconnect();
        }

        expect(await consume(topic, 2)).toEqual([
            { key: "c1", value: "one" },
            { key: "c2", value: "two" },
        ]);
        // An uncommitted reader sees the aborted write too: it really went to the log.
        expect((await consume(topic, 3, true)).map(r => r.value)).toEqual(["aborted", "one", "two"]);
    });

    it("comes with runnable Kafka tools (ProducerPerformance for the benchmark)", async () => {
        expect(fs.existsSync(path.join(kafkaLibsDir, `kafka-tools-${KAFKA_VERSION}.jar`))).toBe(true);
        const topic = topicName("perf");
        await createTopic(topic, 1);
        const { stdout } = await promisify(execFile)(
            process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, "bin", "java") : "java",
            [
                "-Xmx256m",
                "-cp",
                `${kafkaLibsDir}/*`,
                "org.apache.kafka.tools.ProducerPerformance",
                "--topic", topic,
                "--num-records", "1000",
                "--record-size", "100",
                "--throughput", "-1",
                "--producer-props", `bootstrap.servers=${brokers}`, "acks=all",
            ],
            { timeout: 60_000 },
        );
        expect(stdout).toMatch(/1000 records sent/);
    });
});

describe("the PostgreSQL server from globalSetup", () => {
    async function withClient<T>(use: (client: Client) => Promise<T>): Promise<T> {
        const client = new Client({ connectionString: postgresUrl });
        await client.connect();
        try {
            return await use(client);
        } finally {
            await client.end();
        }
    }

    it("is a real server on loopback", async () => {
        expect(postgresUrl).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/jaffle$/);
        const row = await withClient(async c => (await c.query("select version() as version, current_database() as db")).rows[0]);
        expect(row.version).toMatch(/^PostgreSQL \d+/);
        expect(row.db).toBe("jaffle");
    });

    it("round-trips jsonb", async () => {
        const doc = { id: 7, name: "jaffle", tags: ["a", "b"], nested: { price: 12.5, ok: true, none: null } };
        const table = `t_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
        const back = await withClient(async c => {
            await c.query(`create table ${table} (id int primary key, doc jsonb not null)`);
            await c.query(`insert into ${table} values ($1, $2::jsonb)`, [doc.id, JSON.stringify(doc)]);
            return (await c.query(`select doc, doc->'nested'->>'price' as price, jsonb_typeof(doc->'tags') as t from ${table}`)).rows[0];
        });
        expect(back.doc).toEqual(doc);
        expect(back.price).toBe("12.5");
        expect(back.t).toBe("array");
    });
});

describe("services a developer supplies instead (JSS_TEST_KAFKA_BROKERS, JSS_TEST_POSTGRES_URL)", () => {
    it("uses a running broker after checking that it answers and commits a transaction", async () => {
        const supplied = await suppliedKafka(brokers);
        expect(supplied.brokers).toBe(brokers);
        expect(supplied.libsDir).toBe(kafkaLibsDir);
    });

    it("uses a running PostgreSQL whose user may create databases, and refuses one whose user may not", async () => {
        expect((await suppliedPostgres(postgresUrl)).url).toBe(postgresUrl);
        const user = `jss_no_createdb_${randomUUID().slice(0, 8)}`;
        const admin = new Client({ connectionString: postgresUrl });
        await admin.connect();
        try {
            await admin.query(`create role ${user} login nocreatedb`);
            const url = new URL(postgresUrl);
            url.username = user;
            await expect(suppliedPostgres(url.toString())).rejects.toThrow(new RegExp(`user "${user}" may not create databases`));
        } finally {
            await admin.query(`drop role if exists ${user}`);
            await admin.end();
        }
    });

    it("refuses an address other than 127.0.0.1 without dialing it", async () => {
        await expect(suppliedKafka("10.0.0.1:9092")).rejects.toThrow(/the tests only dial 127\.0\.0\.1/);
        await expect(suppliedPostgres("postgres://postgres@db.example.com:5432/jaffle")).rejects.toThrow(/only dial 127\.0\.0\.1, not "db\.example\.com"/);
        await expect(suppliedPostgres("postgres://postgres@127.0.0.1:5432/jaffle?host=db.example.com")).rejects.toThrow(/leave out "host="/);
    });

    it("fails within its bound, naming the address, when nothing answers there", async () => {
        const [port] = await freePorts(1);
        await expect(suppliedKafka(`127.0.0.1:${port}`, 3_000)).rejects.toThrow(new RegExp(`Kafka broker 127\\.0\\.0\\.1:${port} \\(supplied\\): not ready`));
        await expect(suppliedPostgres(`postgres://postgres@127.0.0.1:${port}/jaffle`, 3_000)).rejects.toThrow(new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${port} \\(supplied\\)`));
    });
});
