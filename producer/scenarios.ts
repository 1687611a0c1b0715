import { randomUUID } from "node:crypto";
import type { Client } from "pg";
import { inTransaction, insertRows } from "../lib/cdc";
import { cdcTablesOf, DatasetRoutes, topicsOf } from "../lib/routes";
import { DataTest, relationKey, SqlProject } from "../lib/sqlProject";
import { RawDatasetName, RawRecord } from "../lib/datasets";
import { toEvent } from "./events";
import { connectKafka, KafkaSettings, requireTopics } from "./kafka";
import { SeedRow, seedRows } from "./seeds";
import { sendInOneTransaction } from "./send";
import { ScenarioIds } from "./idRanges";

export interface ScenarioRecord {
    dataset: RawDatasetName;
    record: RawRecord;
}

export interface Scenario {
    name: string;
    description: string;
    /** The data tests whose failure views this scenario trips, and no others, on top of the clean seeds. */
    trips: DataTest[];
    records(seeds: Iterable<SeedRow>, ids: ScenarioIds): ScenarioRecord[];
}

/**
 * A complete, valid purchase with new ids: a customer, one order and its payment. Scenarios
 * break exactly one thing in it, so nothing else is missing (an order without a payment, say,
 * would also trip not_null on orders.amount).
 */
function purchase(
    ids: ScenarioIds,
    change: { order?: Partial<RawRecord>; payment?: Partial<RawRecord> } = {},
): ScenarioRecord[] {
    const customerId = ids.next();
    const orderId = ids.next();
    const orderDate = new Date().toISOString().slice(0, 10);
    return [
        { dataset: "raw_customers", record: { id: customerId, first_name: "Scenario", last_name: "S." } },
        {
            dataset: "raw_orders",
            record: { id: orderId, user_id: customerId, order_date: orderDate, status: "placed", ...change.order } as RawRecord,
        },
        {
            dataset: "raw_payments",
            record: { id: ids.next(), order_id: orderId, payment_method: "credit_card", amount: 1500, ...change.payment } as RawRecord,
        },
    ];
}

/**
 * The seed row of a dataset with this id, to be sent a second time. The seeds are read to the end
 * even past it: a bad row anywhere fails the scenario, as it would fail the seeding.
 */
function seedRecord(seeds: Iterable<SeedRow>, dataset: RawDatasetName, id: number): ScenarioRecord {
    let found: RawRecord | undefined;
    for (const row of seeds) {
        if (!found && row.dataset.name === dataset && row.record.id === id) found = row.record;
    }
    if (!found) throw new Error(`the seeds have no ${dataset} row with id ${id}`);
    return { dataset, record: found };
}

export const scenarios: readonly Scenario[] = [
    {
        name: "duplicate-order",
        description: "re-sends the seeds' order 99 (the original jaffle_shop exercise)",
        trips: [
            { type: "unique", model: "stg_orders", column: "order_id" },
            { type: "unique", model: "orders", column: "order_id" },
        ],
        records: seeds => [seedRecord(seeds, "raw_orders", 99)],
    },
    {
        name: "duplicate-customer",
        description: "re-sends the seeds' customer 1",
        trips: [
            { type: "unique", model: "stg_customers", column: "customer_id" },
            { type: "unique", model: "customers", column: "customer_id" },
        ],
        records: seeds => [seedRecord(seeds, "raw_customers", 1)],
    },
    {
        name: "unknown-status",
        description: "a new customer's paid order with status 'cancelled'",
        trips: [
            { type: "accepted_values", model: "stg_orders", column: "status" },
            { type: "accepted_values", model: "orders", column: "status" },
        ],
        records: (_, ids) => purchase(ids, { order: { status: "cancelled" } }),
    },
    {
        name: "unknown-payment-method",
        description: "a new customer's order paid with 'cash'",
        trips: [{ type: "accepted_values", model: "stg_payments", column: "payment_method" }],
        records: (_, ids) => purchase(ids, { payment: { payment_method: "cash" } }),
    },
    {
        name: "unknown-customer",
        description: "a paid order for a customer id that was never sent",
        trips: [{ type: "relationships", model: "orders", column: "customer_id" }],
        records: (_, ids) => purchase(ids).filter(r => r.dataset !== "raw_customers"),
    },
    {
        name: "payment-without-order",
        description: "a payment for an order id that was never sent",
        trips: [{ type: "relationships", model: "stg_payments", column: "order_id" }],
        records: (_, ids) => purchase(ids).filter(r => r.dataset === "raw_payments"),
    },
    {
        name: "null-amount",
        description: "a new customer's order with a credit card payment of amount null",
        // A null amount makes the order's sums null too: its total and its credit card column.
        trips: [
            { type: "not_null", model: "stg_payments", column: "amount" },
            { type: "not_null", model: "orders", column: "amount" },
            { type: "not_null", model: "orders", column: "credit_card_amount" },
        ],
        records: (_, ids) => purchase(ids, { payment: { amount: null } }),
    },
];

export function findScenario(name: string): Scenario {
    const scenario = scenarios.find(s => s.name === name);
    if (!scenario) {
        throw new Error(`unknown scenario "${name}" (known: ${scenarios.map(s => s.name).join(", ")})`);
    }
    return scenario;
}

/** The failure view (schema-qualified) of a data test, as the SQL project names it (dbt's name, hashed when long). */
export function failureViewOf(project: SqlProject, test: DataTest): string {
    const same = (t: DataTest | undefined) => t?.type === test.type && t.model === test.model && t.column === test.column;
    const matches = project.models.filter(m => same(m.dataTest));
    if (matches.length !== 1) {
        throw new Error(`sql/schema.yml declares no ${test.type} test on ${test.model}.${test.column}, which a scenario expects to trip`);
    }
    return relationKey(matches[0]);
}

export function trippedViews(project: SqlProject, scenario: Scenario): string[] {
    return scenario.trips.map(test => failureViewOf(project, test));
}

export interface ScenarioRun {
    kafka: KafkaSettings;
    /** Where each dataset's records go: its topic, or its CDC table. */
    routes: DatasetRoutes;
    seedsDir: string;
    ids?: ScenarioIds;
    /** A connection to the CDC tables' database, for a scenario with rows of a CDC dataset. */
    connectPostgres?: () => Promise<Client>;
}

/**
 * Sends a scenario's events in one Kafka transaction, so a failure view never sees half a scenario.
 * Rows of a CDC dataset are INSERTed in a PostgreSQL transaction that commits only after the
 * Kafka one did: a scenario that fails on either side leaves nothing on the other.
 */
export async function runScenario(scenario: Scenario, run: ScenarioRun): Promise<ScenarioRecord[]> {
    // Read as the scenario goes through them: only the scenarios that re-send a seed row read the seeds.
    const records = scenario.records(seedRows(run.seedsDir), run.ids ?? new ScenarioIds());
    const now = new Date();
    const topics = topicsOf(run.routes);
    const tables = cdcTablesOf(run.routes);
    const events = records.flatMap(({ dataset, record }) => {
        const topic = topics[dataset];
        return topic === undefined ? [] : [toEvent(topic, record, now)];
    });
    const rows = records.filter(({ dataset }) => tables[dataset] !== undefined);
    const sendEvents = async () => {
        if (events.length === 0) return;
        const kafka = connectKafka(run.kafka, "jaffle-shop-scenario");
        await requireTopics(kafka, events.map(event => event.topic), run.kafka);
        await sendInOneTransaction(kafka, events, {
            transactionalId: `jaffle-shop-scenario-${scenario.name}-${randomUUID()}`,
            timeoutMs: 30_000,
        });
    };
    if (rows.length === 0) {
        await sendEvents();
        return records;
    }
    if (!run.connectPostgres) throw new Error(`${scenario.name} writes ${rows[0].dataset}, which comes from PostgreSQL by CDC: give the PostgreSQL of the CDC tables`);
    const client = await run.connectPostgres();
    try {
        await inTransaction(client, async () => {
            for (const { dataset, record } of rows) {
                const table = tables[dataset]!;
                if ((await insertRows(client, { schema: table.schema, name: dataset }, [record])) === 0) {
                    throw new Error(
                        `${scenario.name}: ${dataset} comes from PostgreSQL by CDC, where id is the table's primary key, and row ${record.id} ` +
                            `is already in ${table.schema}.${table.name}: it can't be there twice (the CDC scenarios change rows instead); nothing was sent`,
                    );
                }
            }
            await sendEvents();
        });
    } finally {
        await client.end().catch(() => undefined);
    }
    return records;
}
