import * as path from "node:path";
import { datasetNames, RawDatasetName, RawRecord } from "../../lib/datasets";
import { readSeeds } from "../../producer/seeds";
import { Warehouse } from "./warehouse";

/** The seed rows of each dataset, typed as the producer sends them. */
const seedRows = readSeeds(path.join(__dirname, "..", "..", "seeds"));
export const seeds = Object.fromEntries(
    datasetNames.map(name => [name, seedRows.filter(r => r.dataset.name === name).map(r => r.record)]),
) as Record<RawDatasetName, RawRecord[]>;

/** Cents as the "dollars.cents" text PostgreSQL prints for numeric(…, 2), without floating point. */
function dollars(cents: number): string {
    const sign = cents < 0 ? "-" : "";
    const abs = Math.abs(cents);
    return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** dbt jaffle_shop's marts, computed from the seed rows in plain TypeScript, not from the views. */
export function expectedMarts() {
    const methods = ["credit_card", "coupon", "bank_transfer", "gift_card"];
    const orders = seeds.raw_orders.map(order => {
        const payments = seeds.raw_payments.filter(p => p.order_id === order.id);
        const byMethod = Object.fromEntries(
            methods.map(m => [`${m}_amount`, payments.filter(p => p.payment_method === m).reduce((s, p) => s + Number(p.amount), 0)]),
        );
        const total = payments.reduce((s, p) => s + Number(p.amount), 0);
        return {
            order_id: String(order.id),
            customer_id: String(order.user_id),
            order_date: String(order.order_date),
            status: order.status,
            ...Object.fromEntries(Object.entries(byMethod).map(([k, v]) => [k, payments.length ? dollars(v) : null])),
            amount: payments.length ? dollars(total) : null,
            cents: total,
        };
    });
    const customers = seeds.raw_customers.map(customer => {
        const own = orders.filter(o => o.customer_id === String(customer.id));
        const dates = own.map(o => o.order_date).sort();
        const lifetime = own.reduce((s, o) => s + o.cents, 0);
        return {
            customer_id: String(customer.id),
            first_name: customer.first_name,
            last_name: customer.last_name,
            first_order: dates[0] ?? null,
            most_recent_order: dates[dates.length - 1] ?? null,
            number_of_orders: own.length ? String(own.length) : null,
            customer_lifetime_value: own.some(o => o.amount !== null) ? dollars(lifetime) : null,
        };
    });
    return { orders: orders.map(({ cents: _, ...o }) => o), customers };
}

/** A mart's rows as pg returns them (bigint and numeric as text), in id order. */
export async function martRows(warehouse: Warehouse, mart: "customers" | "orders") {
    const { rows } = await warehouse.client.query(`select * from ${mart} order by ${mart === "customers" ? "customer_id" : "order_id"}`);
    return rows;
}

