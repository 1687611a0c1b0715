import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { planSqlObjects } from "../components/sqlObjectGraph";
import { materializeObjects } from "../lib/ddl";
import { dbtTestName, loadSqlProject, referencedRelations, relationKey } from "../lib/sqlProject";
import { datasetNames } from "../producer/datasets";

const sqlDir = path.join(__dirname, "..", "sql");
const project = loadSqlProject(sqlDir, datasetNames);

describe("the jaffle_shop SQL project", () => {
    it("derives each model's inputs from its SQL", () => {
        const inputs = Object.fromEntries(project.models.filter(m => m.schema === "public").map(m => [m.name, [...m.dependsOn].sort()]));
        expect(inputs).toEqual({
            stg_customers: ["raw_customers"],
            stg_orders: ["raw_orders"],
            stg_payments: ["raw_payments"],
            customers: ["stg_customers", "stg_orders", "stg_payments"],
            orders: ["stg_orders", "stg_payments"],
        });
    });

    it("orders models after their inputs", () => {
        const order = project.models.map(relationKey);
        for (const model of project.models) {
            for (const dependency of model.dependsOn.filter(d => !datasetNames.includes(d as never))) {
                expect(order.indexOf(dependency), `${relationKey(model)} after ${dependency}`).toBeLessThan(order.indexOf(relationKey(model)));
            }
        }
    });

    it("names every failure view the way dbt names stored test failures", () => {
        const failureViews = project.models.filter(m => m.schema === "public_etl_failure").map(m => m.name).sort();
        expect(failureViews).toEqual([
            "accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758",
            "accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58",
            "accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef",
            "not_null_customers_customer_id",
            "not_null_orders_amount",
            "not_null_orders_bank_transfer_amount",
            "not_null_orders_coupon_amount",
            "not_null_orders_credit_card_amount",
            "not_null_orders_customer_id",
            "not_null_orders_gift_card_amount",
            "not_null_orders_order_id",
            "not_null_stg_customers_customer_id",
            "not_null_stg_orders_order_id",
            "not_null_stg_payments_amount",
            "not_null_stg_payments_payment_id",
            "relationships_orders_customer_id__customer_id__ref_customers_",
            "relationships_stg_payments_order_id__order_id__ref_stg_orders_",
            "unique_customers_customer_id",
            "unique_orders_order_id",
            "unique_stg_customers_customer_id",
            "unique_stg_orders_order_id",
            "unique_stg_payments_payment_id",
        ]);
    });

    it("shapes the unique test like dbt's: unique_field, n_records", () => {
        const unique = project.models.find(m => m.name === "unique_stg_orders_order_id")!;
        expect(unique.query).toMatch(/"order_id" as unique_field,\s+count\(\*\) as n_records\s+from "stg_orders"/);
    });
});

describe("dbtTestName", () => {
    it("joins short names and hashes long ones as dbt does", () => {
        expect(dbtTestName("unique", "orders", { column_name: "order_id" })).toBe("unique_orders_order_id");
        expect(dbtTestName("relationships", "orders", { column_name: "customer_id", to: "ref('customers')", field: "customer_id" }))
            .toBe("relationships_orders_customer_id__customer_id__ref_customers_");
        expect(dbtTestName("accepted_values", "stg_payments", {
            column_name: "payment_method", values: ["credit_card", "coupon", "bank_transfer", "gift_card"],
        })).toBe("accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef");
    });
});

describe("referencedRelations", () => {
    it("ignores CTEs, comments and string literals, and reads quoted and qualified names", () => {
        const sql = `
            with recent as (select * from "Stg Orders" where note = 'from fake_table')
            -- join commented_out
            /* from block_comment */
            select * from recent join public.customers c on true left join other_schema.thing t on true`;
        expect(referencedRelations(sql)).toEqual(["Stg Orders", "customers", "other_schema.thing"]);
    });
});

describe("invalid projects", () => {
    function projectWith(files: Record<string, string>): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sqlproject-"));
        for (const [file, text] of Object.entries(files)) {
            fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
            fs.writeFileSync(path.join(dir, file), text);
        }
        return dir;
    }

    it("names a model that references an unknown model", () => {
        const dir = projectWith({
            "schema.yml": "models:\n  - name: a\n",
            "models/a.sql": "select * from missing_model",
        });
        expect(() => loadSqlProject(dir, ["raw"])).toThrow(/models\/a\.sql: model "a" references unknown model or source "missing_model"/);
    });

    it("names the models of a cycle", () => {
        const dir = projectWith({
            "schema.yml": "models:\n  - name: a\n  - name: b\n",
            "models/a.sql": "select * from b",
            "models/b.sql": "select * from a",
        });
        expect(() => loadSqlProject(dir, [])).toThrow(/models form a cycle: a -> b -> a/);
    });

    it("names an undeclared SQL file and a declared model without one", () => {
        expect(() => loadSqlProject(projectWith({ "schema.yml": "models: []\n", "models/x.sql": "select 1" }), []))
            .toThrow(/x\.sql: model "x" is not declared in .*schema\.yml/);
        expect(() => loadSqlProject(projectWith({ "schema.yml": "models:\n  - name: y\n" }), []))
            .toThrow(/model "y" has no SQL file/);
    });

    it("names an unknown test type", () => {
        const dir = projectWith({
            "schema.yml": "models:\n  - name: a\n    columns:\n      - name: id\n        tests: [uniq]\n",
            "models/a.sql": "select 1 as id from raw",
        });
        expect(() => loadSqlProject(dir, ["raw"])).toThrow(/model "a", column "id": unknown test "uniq"/);
    });
});

describe("the SQL object graph", () => {
    const render = (proj = project) => materializeObjects(proj, {
        cluster: "quickstart",
        topics: Object.fromEntries(datasetNames.map(n => [n, n])),
        kafka: { brokers: ["redpanda:9092"], securityProtocol: "PLAINTEXT" },
    });

    it("places every object after what it depends on", () => {
        const order = planSqlObjects(render()).map(p => p.definition.key);
        for (const planned of planSqlObjects(render())) {
            for (const dependency of planned.definition.dependsOn) {
                expect(order.indexOf(dependency)).toBeLessThan(order.indexOf(planned.definition.key));
            }
        }
    });

    it("rebuilds exactly the changed view and everything downstream of it", () => {
        const before = new Map(planSqlObjects(render()).map(p => [p.definition.key, p]));
        const changed = {
            ...project,
            models: project.models.map(m => m.name === "stg_orders" ? { ...m, query: m.query.replace("as status", "as status -- v2") } : m),
        };
        const after = planSqlObjects(render(changed));
        const replaced = after
            .filter(p => p.definition.create !== before.get(p.definition.key)!.definition.create || p.upstream !== before.get(p.definition.key)!.upstream)
            .map(p => p.definition.key)
            .sort();
        const downstreamOfStgOrders = new Set<string>(["stg_orders"]);
        for (const p of after) {
            if (p.definition.dependsOn.some(d => downstreamOfStgOrders.has(d))) downstreamOfStgOrders.add(p.definition.key);
        }
        expect(replaced).toEqual([...downstreamOfStgOrders].sort());
        expect(replaced).toEqual(expect.arrayContaining([
            "stg_orders", "orders", "customers", "orders_order_id_idx", "customers_customer_id_idx",
            "public_etl_failure.unique_stg_orders_order_id", "public_etl_failure.unique_orders_order_id",
        ]));
        expect(replaced).not.toContain("stg_payments");
        expect(replaced).not.toContain("public_etl_failure.unique_stg_payments_payment_id");
    });

    it("rejects a dependency cycle among objects", () => {
        expect(() => planSqlObjects([
            { key: "a", kind: "view", schema: "public", name: "a", create: "", dependsOn: ["b"] },
            { key: "b", kind: "view", schema: "public", name: "b", create: "", dependsOn: ["a"] },
        ])).toThrow(/SQL objects form a cycle: a -> b -> a/);
    });
});
