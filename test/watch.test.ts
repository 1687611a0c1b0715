import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { datasets } from "../producer/datasets";
import { readSeeds } from "../producer/seeds";
import { pollCounts, renderSnapshot, Snapshot, snapshots, watchedRelations } from "../producer/watch";
import { Warehouse } from "./helpers/warehouse";

const postgresUrl = inject("postgresUrl");
const repo = path.join(__dirname, "..");
const seeds = readSeeds(path.join(repo, "seeds"));
const order99 = seeds.find(r => r.dataset.name === "raw_orders" && r.record.id === 99)!.record;

let warehouse: Warehouse;
beforeAll(async () => {
    warehouse = await Warehouse.create(postgresUrl, "watch");
    for (const dataset of datasets) {
        await warehouse.insert(dataset.name, seeds.filter(r => r.dataset === dataset).map(r => r.record));
    }
});
afterAll(async () => {
    await warehouse.close();
});

describe("watch", () => {
    it("watches the marts and every failure view of the SQL project", () => {
        const relations = watchedRelations(warehouse.project);
        expect(relations.filter(r => !r.isFailureView).map(r => r.key).sort()).toEqual(["customers", "orders"]);
        const failureViews = warehouse.project.models.filter(m => m.schema === warehouse.project.failureSchema);
        expect(relations.filter(r => r.isFailureView)).toHaveLength(failureViews.length);
    });

    it("polls the counts and reports the duplicate order the next time round", async () => {
        const relations = watchedRelations(warehouse.project);
        const watching = snapshots(pollCounts(warehouse.client, relations, { intervalMs: 50 }), warehouse.client, relations);
        try {
            const nextSnapshot = async (): Promise<Snapshot> => {
                const { done, value } = await watching.next();
                if (done) throw new Error("the watch ended");
                return value;
            };
            const first = await nextSnapshot();
            expect(first.counts.customers).toBe(100);
            expect(first.counts.orders).toBe(99);
            expect(first.counts["public_etl_failure.unique_stg_orders_order_id"]).toBe(0);
            expect(first.changes).toEqual([]);
            expect(first.failureRows).toEqual({});

            await warehouse.insert("raw_orders", [order99]);
            const next = await nextSnapshot();
            expect(next.changes.map(({ relation, from, to }) => ({ relation, from, to }))).toEqual([
                { relation: "orders", from: 99, to: 100 },
                { relation: "public_etl_failure.unique_stg_orders_order_id", from: 0, to: 1 },
                { relation: "public_etl_failure.unique_orders_order_id", from: 0, to: 1 },
            ]);
            expect(next.failureRows["public_etl_failure.unique_stg_orders_order_id"]).toEqual([{ unique_field: "99", n_records: "2" }]);

            const screen = renderSnapshot(next, relations, next.changes);
            expect(screen).toMatch(/public_etl_failure\.unique_stg_orders_order_id\s+1  FAIL\n\s+unique_field \| n_records\n\s+99 \| 2\n/);
            expect(screen).toMatch(/^latest changes\n(  \d\d:\d\d:\d\d  .*\n)*  \d\d:\d\d:\d\d  public_etl_failure\.unique_stg_orders_order_id: 0 -> 1$/m);
        } finally {
            await watching.return(undefined);
        }
    });

    it("prints one snapshot from the command line with --once", async () => {
        const duplicates = (await warehouse.rows("public_etl_failure.unique_orders_order_id")).length;
        const { stdout } = await promisify(execFile)(
            process.execPath,
            ["--import", "tsx", "producer/cli/watch.ts", "--once", "--poll", "--url", warehouse.url],
            { cwd: repo, timeout: 60_000 },
        );
        expect(stdout).toMatch(/^marts\n  customers\s+100$/m);
        expect(stdout).toMatch(new RegExp(`^  public_etl_failure\\.unique_orders_order_id\\s+${duplicates}\\b`, "m"));
        expect(stdout).toMatch(/^  public_etl_failure\.not_null_orders_amount\s+0$/m);
    });
});
