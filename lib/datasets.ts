/**
 * The three raw datasets of jaffle_shop. Everything that handles raw events (the producer, the
 * topics, the Materialize sources, the PostgreSQL test tables) reads their shape from here.
 */
export type ColumnType = "int" | "text" | "date";

export interface Dataset {
    /** Topic name, and the name of the Materialize source that reads it. */
    readonly name: RawDatasetName;
    readonly seedFile: string;
    /** Columns in CSV order; `id` is the event key. */
    readonly columns: Readonly<Record<string, ColumnType>>;
}

export type RawDatasetName = "raw_customers" | "raw_orders" | "raw_payments";

export const datasets: readonly Dataset[] = [
    {
        name: "raw_customers",
        seedFile: "raw_customers.csv",
        columns: { id: "int", first_name: "text", last_name: "text" },
    },
    {
        name: "raw_orders",
        seedFile: "raw_orders.csv",
        columns: { id: "int", user_id: "int", order_date: "date", status: "text" },
    },
    {
        name: "raw_payments",
        seedFile: "raw_payments.csv",
        // Amounts are integer cents, as in jaffle_shop's seeds.
        columns: { id: "int", order_id: "int", payment_method: "text", amount: "int" },
    },
];

export const datasetNames: readonly RawDatasetName[] = datasets.map(d => d.name);

/** A raw row with typed values, as it travels in an event's JSON value. */
export type RawRecord = Record<string, string | number | null>;
