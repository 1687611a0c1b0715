import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { readSeeds } from "../producer/seeds";

const seedsDir = path.join(__dirname, "..", "seeds");

/** A copy of the real seeds with one file replaced. */
function seedsWith(file: string, text: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seeds-"));
    for (const name of fs.readdirSync(seedsDir)) fs.copyFileSync(path.join(seedsDir, name), path.join(dir, name));
    fs.writeFileSync(path.join(dir, file), text);
    return dir;
}

describe("readSeeds", () => {
    it("reads all 312 rows with typed values", () => {
        const rows = readSeeds(seedsDir);
        const count = (name: string) => rows.filter(r => r.dataset.name === name).length;
        expect([count("raw_customers"), count("raw_orders"), count("raw_payments")]).toEqual([100, 99, 113]);
        expect(rows.find(r => r.dataset.name === "raw_orders" && r.record.id === 1)!.record)
            .toEqual({ id: 1, user_id: 1, order_date: "2018-01-01", status: "returned" });
        expect(rows.find(r => r.dataset.name === "raw_payments" && r.record.id === 3)!.record)
            .toEqual({ id: 3, order_id: 3, payment_method: "coupon", amount: 100 });
    });

    it.each([
        ["raw_orders.csv", "id,user_id,order_date\n1,1,2018-01-01\n", /raw_orders\.csv:1: missing column "status"/],
        ["raw_orders.csv", "id,user_id,order_date,status\n1,1,2018-01-01,placed\nx7,1,2018-01-01,placed\n", /raw_orders\.csv:3: column "id": "x7" is not an integer/],
        ["raw_orders.csv", "id,user_id,order_date,status\n1,1,2018-02-30,placed\n", /raw_orders\.csv:2: column "order_date": "2018-02-30" is not a date/],
        ["raw_payments.csv", "id,order_id,payment_method,amount\n1,1,coupon\n", /raw_payments\.csv:2: expected 4 fields, found 3/],
        ["raw_customers.csv", "id,first_name,last_name,age\n1,A,B,3\n", /raw_customers\.csv:1: unknown column "age"/],
    ])("names the file and line of a malformed %s", (file, text, message) => {
        expect(() => readSeeds(seedsWith(file, text))).toThrow(message);
    });

    it("reports every bad row, not just the first", () => {
        const dir = seedsWith("raw_orders.csv", "id,user_id,order_date,status\na,1,2018-01-01,x\n2,b,2018-01-01,x\n");
        expect(() => readSeeds(dir)).toThrow(/raw_orders\.csv:2:[\s\S]*raw_orders\.csv:3:/);
    });
});
