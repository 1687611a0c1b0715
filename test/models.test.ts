import { afterEach, describe, expect, inject, it } from "vitest";
import { datasetNames } from "../lib/datasets";
import { expectedMarts, martRows, seeds } from "./helpers/jaffleShop";
import { Warehouse } from "./helpers/warehouse";

/**
 * The jaffle_shop models and failure views from sql/, on a real PostgreSQL over tables shaped like
 * Materialize's JSON sources, fed the seed rows as the producer sends them (typed JSON).
 */
const postgresUrl = inject("postgresUrl");
const warehouses: Warehouse[] = [];
afterEach(async () => {
    await Promise.all(warehouses.splice(0).map(w => w.close()));
});

async function seededWarehouse(label: string): Promise<Warehouse> {
    const warehouse = await Warehouse.create(postgresUrl, label);
    warehouses.push(warehouse);
    for (const name of datasetNames) await warehouse.insert(name, seeds[name]);
    return warehouse;
}

describe("the jaffle_shop marts on the seed data", () => {
    it("equal dbt jaffle_shop's results for all 100 customers and 99 orders, row by row", async () => {
        const warehouse = await seededWarehouse("marts");
        const expected = expectedMarts();
        const orders = await martRows(warehouse, "orders");
        const customers = await martRows(warehouse, "customers");
        expect(orders).toHaveLength(99);
        expect(customers).toHaveLength(100);
        expect(orders).toEqual(expected.orders);
        expect(customers).toEqual(expected.customers);
    });

    it("match the figures dbt's jaffle_shop is known for", async () => {
        const warehouse = await seededWarehouse("figures");
        const [customer1] = await warehouse.rows("customers").then(rows => rows.filter(r => r.customer_id === "1"));
        expect(customer1).toMatchObject({ number_of_orders: "2", customer_lifetime_value: "33.00" });
        const { rows: [sums] } = await warehouse.client.query(
            "select (select sum(customer_lifetime_value) from customers) as lifetime, (select sum(amount) from orders) as orders",
        );
        expect(sums).toEqual({ lifetime: "1672.00", orders: "1672.00" });
    });

    it("leave every failure view empty", async () => {
        const warehouse = await seededWarehouse("clean");
        const failures = await warehouse.failures();
        expect(Object.keys(failures).length).toBeGreaterThanOrEqual(20);
        expect(await warehouse.tripped()).toEqual([]);
    });

    it("keep every cent of odd amounts", async () => {
        const warehouse = await seededWarehouse("cents");
        await warehouse.insert("raw_orders", [{ id: 5001, user_id: 1, order_date: "2018-05-01", status: "placed" }]);
        await warehouse.insert("raw_payments", [
            { id: 6001, order_id: 5001, payment_method: "credit_card", amount: 1234 },
            { id: 6002, order_id: 5001, payment_method: "gift_card", amount: 1 },
        ]);
        const order = (await warehouse.rows("orders")).find(o => o.order_id === "5001");
        expect(order).toMatchObject({ credit_card_amount: "12.34", gift_card_amount: "0.01", amount: "12.35" });
        expect((await warehouse.rows("stg_payments")).filter(p => p.order_id === "5001").map(p => p.amount)).toEqual(["12.34", "0.01"]);
        expect(await warehouse.tripped()).toEqual([]);
    });
});

describe("each data problem trips its own failure views, with dbt-shaped rows", () => {
    const lastOrder = () => seeds.raw_orders.find(o => o.id === 99)!;

    it("the original demo's duplicated order 99", async () => {
        const warehouse = await seededWarehouse("dup_order");
        await warehouse.insert("raw_orders", [lastOrder()]);
        expect(await warehouse.tripped()).toEqual(["unique_orders_order_id", "unique_stg_orders_order_id"]);
        expect(await warehouse.rows("public_etl_failure.unique_stg_orders_order_id")).toEqual([{ unique_field: "99", n_records: "2" }]);
        expect(await warehouse.rows("public_etl_failure.unique_orders_order_id")).toEqual([{ unique_field: "99", n_records: "2" }]);
    });

    it("a duplicated customer", async () => {
        const warehouse = await seededWarehouse("dup_customer");
        await warehouse.insert("raw_customers", [seeds.raw_customers[0]]);
        expect(await warehouse.tripped()).toEqual(["unique_customers_customer_id", "unique_stg_customers_customer_id"]);
        expect(await warehouse.rows("public_etl_failure.unique_stg_customers_customer_id")).toEqual([{ unique_field: "1", n_records: "2" }]);
    });

    it("an order with an unknown status", async () => {
        const warehouse = await seededWarehouse("bad_status");
        await warehouse.insert("raw_orders", [{ id: 5002, user_id: 3, order_date: "2018-05-02", status: "lost_in_mail" }]);
        await warehouse.insert("raw_payments", [{ id: 6003, order_id: 5002, payment_method: "coupon", amount: 500 }]);
        // dbt hashes names of 64 characters and more: these are the names dbt's own jaffle_shop gets.
        const stgView = "accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58";
        expect(await warehouse.tripped()).toEqual(["accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758", stgView]);
        expect(await warehouse.rows(`public_etl_failure.${stgView}`)).toEqual([{ value_field: "lost_in_mail", n_records: "1" }]);
    });

    it("a payment with an unknown method", async () => {
        const warehouse = await seededWarehouse("bad_method");
        await warehouse.insert("raw_payments", [{ id: 6004, order_id: 7, payment_method: "bitcoin", amount: 700 }]);
        const view = "accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef";
        expect(await warehouse.tripped()).toEqual([view]);
        expect(await warehouse.rows(`public_etl_failure.${view}`)).toEqual([{ value_field: "bitcoin", n_records: "1" }]);
    });

    it("an order whose customer doesn't exist", async () => {
        const warehouse = await seededWarehouse("orphan_order");
        await warehouse.insert("raw_orders", [{ id: 5003, user_id: 4242, order_date: "2018-05-03", status: "placed" }]);
        await warehouse.insert("raw_payments", [{ id: 6005, order_id: 5003, payment_method: "coupon", amount: 500 }]);
        const view = "relationships_orders_customer_id__customer_id__ref_customers_";
        expect(await warehouse.tripped()).toEqual([view]);
        expect(await warehouse.rows(`public_etl_failure.${view}`)).toEqual([{ from_field: "4242" }]);
    });

    it("a payment for an order that doesn't exist", async () => {
        const warehouse = await seededWarehouse("orphan_payment");
        await warehouse.insert("raw_payments", [{ id: 6006, order_id: 4343, payment_method: "coupon", amount: 500 }]);
        const view = "relationships_stg_payments_order_id__order_id__ref_stg_orders_";
        expect(await warehouse.tripped()).toEqual([view]);
        expect(await warehouse.rows(`public_etl_failure.${view}`)).toEqual([{ from_field: "4343" }]);
    });

    it("a payment with a null amount", async () => {
        const warehouse = await seededWarehouse("null_amount");
        await warehouse.insert("raw_orders", [{ id: 5004, user_id: 5, order_date: "2018-05-04", status: "placed" }]);
        await warehouse.insert("raw_payments", [{ id: 6007, order_id: 5004, payment_method: "bank_transfer", amount: null }]);
        expect(await warehouse.tripped()).toEqual([
            "not_null_orders_amount",
            "not_null_orders_bank_transfer_amount",
            "not_null_stg_payments_amount",
        ]);
        const [payment] = await warehouse.rows("public_etl_failure.not_null_stg_payments_amount");
        expect(payment).toMatchObject({ payment_id: "6007", order_id: "5004", amount: null });
    });
});
