import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { planSqlObjects } from "../components/sqlObjectGraph";
import { materializeObjects } from "../lib/ddl";
import { dbtTestName, loadSqlProject, relationKey } from "../lib/sqlProject";
import { datasetNames } from "../lib/datasets";

const sqlDir = path.join(__dirname, "..", "sql");
const project = loadSqlProject(sqlDir, datasetNames);

function projectWith(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sqlproject-"));
    for (const [file, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
    }
    return dir;
}

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

describe("a model's inputs, read from PostgreSQL's parse tree", () => {
    /** Real-world SELECTs and exactly the relations each reads, as keys of the project's relations. */
    const corpus: [shape: string, reads: string[], sql: string][] = [
        ["extract(... from column)", ["stg_orders"], `
            select order_id, extract(year from order_date) as order_year from stg_orders`],
        ["trim and substring with from", ["stg_customers"], `
            select trim(both ' ' from first_name) as first_name, substring(last_name from 1 for 1) as initial
            from stg_customers`],
        ["is [not] distinct from", ["stg_orders", "stg_payments"], `
            select * from stg_orders o
            join stg_payments p on o.order_id is not distinct from p.order_id
            where o.status is distinct from 'returned'`],
        ["a lateral function after join", ["stg_orders"], `
            select o.order_id, item from stg_orders o
            left join lateral jsonb_array_elements(o.data -> 'items') as item on true`],
        ["a lateral subquery", ["stg_customers", "stg_orders"], `
            select c.customer_id, recent.order_id from stg_customers c
            cross join lateral (
                select order_id from stg_orders o where o.customer_id = c.customer_id order by order_date desc limit 3
            ) recent`],
        ["generate_series", ["stg_orders"], `
            select day::date as day, count(stg_orders.order_id) as n_orders
            from generate_series(date '2018-01-01', date '2018-04-09', interval '1 day') as day
            left join stg_orders on stg_orders.order_date = day
            group by 1`],
        ["a comma join", ["stg_orders", "stg_payments"], `
            select * from stg_orders, stg_payments where stg_orders.order_id = stg_payments.order_id`],
        ["a CTE named like the relation it reads", ["stg_payments"], `
            with stg_payments as (select * from stg_payments where amount > 0)
            select order_id, sum(amount) from stg_payments group by order_id`],
        ["CTEs reading earlier CTEs", ["raw_orders"], `
            with a as (select * from raw_orders), b as (select * from a)
            select * from b`],
        ["a CTE naming a later one (not in its scope)", ["b"], `
            with a as (select * from b), b as (select 1 as x)
            select * from a`],
        ["WITH RECURSIVE (every CTE sees every other)", [], `
            with recursive a as (select * from b), b as (select 1 as x)
            select * from a`],
        ["a recursive CTE", ["stg_orders"], `
            with recursive days(d) as (
                select min(order_date) from stg_orders
                union all
                select d + 1 from days where d < current_date
            )
            select * from days`],
        ["window functions, filter (where ...), case", ["stg_orders"], `
            select customer_id,
                row_number() over (partition by customer_id order by order_date) as n,
                count(*) filter (where status = 'returned') over () as returns,
                case when status in ('placed', 'shipped') then 'open' else 'closed' end as state
            from stg_orders`],
        ["casts, intervals, temporal filters", ["stg_orders"], `
            select order_date::date + interval '1 day' as next_day, cast(order_id as text) as id
            from stg_orders where mz_now() <= order_date + interval '30 days'`],
        ["exists (select ...)", ["stg_customers", "stg_orders"], `
            select * from stg_customers c
            where exists (select 1 from stg_orders o where o.customer_id = c.customer_id)`],
        ["in (select ...)", ["stg_payments", "stg_orders"], `
            select * from stg_payments
            where order_id in (select order_id from stg_orders where status = 'completed')`],
        ["a scalar subquery", ["stg_payments", "stg_orders"], `
            select o.*, (select count(*) from stg_payments p where p.order_id = o.order_id) as n_payments
            from stg_orders o`],
        ["union all, except", ["stg_orders", "stg_payments", "returned_orders"], `
            select order_id from stg_orders
            union all
            select order_id from stg_payments
            except
            select order_id from returned_orders`],
        ["a CTE inside one side of a union", ["stg_orders", "stg_payments"], `
            (with recent as (select * from stg_orders where order_date > '2018-03-01') select order_id from recent)
            union all
            (select order_id from stg_payments)`],
        ["a CTE used by both sides of a union", ["raw_orders"], `
            with a as (select * from raw_orders)
            select * from a union select * from a`],
        ["nested CTEs", ["stg_payments", "stg_orders"], `
            with paid as (select order_id from stg_payments)
            select * from (
                with late as (select * from stg_orders where status = 'late')
                select * from late join paid using (order_id)
            ) as x`],
        ["a subquery's CTE is not in scope outside it", ["stg_orders"], `
            select * from (with stg_orders as (select 1 as order_id) select * from stg_orders) as inner_query, stg_orders`],
        ["unnest and values", [], `
            select * from unnest(array['credit_card', 'coupon']) as method(name)
            join (values ('bank_transfer', 1), ('gift_card', 2)) as v(name, rank) using (name)`],
        ["a bare VALUES", [], `
            values (1, 'placed'), (2, 'shipped')`],
        ["TABLE x", ["stg_orders"], `
            table stg_orders`],
        ["quoted, upper-case and schema-qualified names",
            ["Stg Orders", "stg_customers", "stg_payments", "other.thing", "Other.Thing"], `
            select * from "Stg Orders" o
            join public.stg_customers c using (customer_id)
            join STG_Payments p using (order_id)
            join other.thing t on true
            join "Other"."Thing" on true`],
        ["comments and strings that say from x", ["stg_orders"], `
            select 'from fake_table' as note, $$join dollar_quoted$$ as dollar, e'it''s from escaped' as escaped
            -- from line_comment
            /* outer /* nested */ from block_comment */
            from stg_orders`],
    ];

    it.each(corpus)("%s", (_shape, reads, sql) => {
        const dir = projectWith({ "schema.yml": "models:\n  - name: m\n", "models/m.sql": sql });
        expect(loadSqlProject(dir, reads).models.find(m => m.name === "m")!.dependsOn).toEqual(reads);
    });
});

describe("invalid projects", () => {
    it("names the file, line and column (in characters) of a syntax error", () => {
        const dir = projectWith({
            "schema.yml": "models:\n  - name: orders\n",
            "models/orders.sql": "\n-- one row per order\nselect '\u{1F600}' as mood, * form raw\n",
        });
        expect(() => loadSqlProject(dir, ["raw"]))
            .toThrow(`${path.join(dir, "models", "orders.sql")}:3:23: syntax error at or near "form"`);
    });

    it("names the template, line and column of a syntax error in a rendered data test", () => {
        const dir = projectWith({
            "schema.yml": "models:\n  - name: a\n    columns:\n      - name: id\n        tests: [unique]\n",
            "models/a.sql": "select 1 as id from raw",
            "tests/unique.sql": "select {{ column }} as unique_field,\n    count(*) as n_records,\nfrom {{ model }}\n",
        });
        expect(() => loadSqlProject(dir, ["raw"])).toThrow(
            `${path.join(dir, "tests", "unique.sql")}:3:1: syntax error at or near "from" (rendered for the unique test on a.id)`,
        );
    });

    it.each([
        ["two statements", "select 1 as id from raw;\nselect 2 as id from raw", "2:1: expected one SELECT statement, found 2 statements"],
        ["no statement", "-- to do\n", "1:1: expected one SELECT statement, found none"],
        ["DDL", "create table a as select * from raw", "1:1: expected a SELECT statement, found CreateTableAsStmt"],
        ["SELECT INTO", "select *\ninto a_copy from raw", "2:6: SELECT ... INTO creates a table"],
        ["a data-modifying CTE", "with moved as (delete from raw returning *)\nselect * from moved", '1:6: WITH query "moved" is DeleteStmt'],
        ["a reference to another database", "select * from other_db.public.raw", '1:15: "other_db.public.raw" names a database'],
    ])("rejects a model file that is not one plain SELECT: %s", (_shape, sql, error) => {
        const dir = projectWith({ "schema.yml": "models:\n  - name: a\n", "models/a.sql": sql });
        expect(() => loadSqlProject(dir, ["raw"])).toThrow(`${path.join(dir, "models", "a.sql")}:${error}`);
    });

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
        sourceSchema: "ingest",
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
            .filter(p => p.definition.create !== before.get(p.definition.key)!.definition.create || p.upstreamSql !== before.get(p.definition.key)!.upstreamSql)
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
