import type { Client } from "pg";
import { cdcSchema, inTransaction } from "../lib/cdc";
import { quoteIdent } from "../lib/quote";
import { DataTest } from "../lib/sqlProject";
import { RawDatasetName } from "../lib/datasets";

/**
 * Scenarios that only a CDC dataset can show: an UPDATE or DELETE of a row on the operational
 * PostgreSQL, which Materialize's PostgreSQL source carries as a retraction and a new row (an
 * append-only topic can only add rows).
 */
export interface CdcScenario {
    name: string;
    description: string;
    /** The dataset whose table the statement changes; it must be read by CDC. */
    dataset: RawDatasetName;
    /** The data tests whose failure views this scenario trips, and no others, on top of the clean seeds. */
    trips: DataTest[];
    /** One statement, changing exactly one row. */
    statement(schema: string): { text: string; values: unknown[] };
}

/** Seed customer 1 has orders (jaffle_shop's customer 1: two orders), so deleting them orphans them. */
const customerId = 1;

export const cdcScenarios: readonly CdcScenario[] = [
    {
        name: "rename-customer",
        description: "UPDATE of the seeds' customer 1: the customers mart shows the new name in place",
        dataset: "raw_customers",
        trips: [],
        statement: schema => ({
            text: `UPDATE ${quoteIdent(schema)}.${quoteIdent("raw_customers")} SET ${quoteIdent("first_name")} = $1, ${quoteIdent("last_name")} = $2 WHERE ${quoteIdent("id")} = $3`,
            values: ["Renamed", "R.", customerId],
        }),
    },
    {
        name: "delete-customer",
        description: "DELETE of the seeds' customer 1, who has orders: they now point at no customer",
        dataset: "raw_customers",
        trips: [{ type: "relationships", model: "orders", column: "customer_id" }],
        statement: schema => ({
            text: `DELETE FROM ${quoteIdent(schema)}.${quoteIdent("raw_customers")} WHERE ${quoteIdent("id")} = $1`,
            values: [customerId],
        }),
    },
];

export function findCdcScenario(name: string): CdcScenario | undefined {
    return cdcScenarios.find(s => s.name === name);
}

/**
 * Runs a CDC scenario's statement in one transaction; anything but exactly one changed row (the
 * customer is gone already, say) rolls back and fails, naming the scenario.
 */
export async function runCdcScenario(scenario: CdcScenario, client: Client, schema = cdcSchema): Promise<void> {
    const { text, values } = scenario.statement(schema);
    await inTransaction(client, async () => {
        const result = await client.query(text, values);
        if (result.rowCount !== 1) {
            throw new Error(`${scenario.name}: expected to change one ${scenario.dataset} row (id ${customerId}), changed ${result.rowCount ?? 0}; has it run already?`);
        }
    });
}
