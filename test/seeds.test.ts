import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { datasets } from "../lib/datasets";
import { checkSeeds, checkSeedsOnce, readSeeds, SeedError, validateSeeds } from "../producer/seeds";
import { generatedPayment, seedsWithPayments } from "../testkit/bigSeeds";

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

function seedProblems(dir: string): string[] {
    try {
        validateSeeds(dir);
    } catch (err) {
        if (err instanceof SeedError) return err.problems;
        throw err;
    }
    throw new Error(`the seeds in ${dir} are valid`);
}

describe("readSeeds on big seed files", () => {
    const bigDirs: string[] = [];
    const bigSeeds = (...args: Parameters<typeof seedsWithPayments>) => {
        const dir = seedsWithPayments(...args);
        bigDirs.push(dir);
        return dir;
    };
    afterAll(() => bigDirs.forEach(dir => fs.rmSync(dir, { recursive: true, force: true })));

    it("reads 300,000 payments, each row with its values and line", () => {
        const dir = bigSeeds(300_000);
        expect(validateSeeds(dir)).toBe(100 + 99 + 300_000);
        const payments = readSeeds(dir, datasets.filter(d => d.name === "raw_payments"));
        expect(payments).toHaveLength(300_000);
        const misread = payments.filter((row, i) =>
            row.line !== i + 2 || JSON.stringify(row.record) !== JSON.stringify(generatedPayment(i + 1)));
        expect(misread).toEqual([]);
    });

    it("names the lines of bad rows deep inside a big file, the last one included", () => {
        const dir = bigSeeds(300_000, { 250_001: "250000,1,coupon,12.5", 300_001: "x,1,coupon,100" });
        expect(() => validateSeeds(dir)).toThrow(
            /raw_payments\.csv:250001: column "amount": "12\.5" is not an integer\n {2}\S*raw_payments\.csv:300001: column "id": "x" is not an integer$/,
        );
    });

    it("lists the first thousand problems and counts the rest", () => {
        const badLines = Object.fromEntries(Array.from({ length: 1_500 }, (_, i) => [100 * (i + 1), `${i},1,coupon,1.5`]));
        const problems = seedProblems(bigSeeds(200_000, badLines));
        expect(problems).toHaveLength(1_001);
        expect(problems[999]).toMatch(/raw_payments\.csv:100000: column "amount"/);
        expect(problems[1_000]).toBe("... and 500 more problems");
    });

    it("reports a quote left open at the line it opens, without reading the rest of the file into one record", () => {
        const dir = bigSeeds(300_000, { 1_001: '1000,1,"coupon,100' });
        expect(() => validateSeeds(dir)).toThrow(/raw_payments\.csv:1001: no record ends within 1 MiB \(a quote left open\?\)/);
    });

    it("keeps quoted fields with newlines, quotes and commas whole, and counts their lines", () => {
        // Three lines per record: the file is read in chunks, and most of its newlines are inside quotes.
        const customers = 100_000;
        const lines = Array.from({ length: customers }, (_, i) => `${i + 1},"First ${i + 1}","O""Neil, ${i + 1}\nsecond\nthird"`);
        const dir = seedsWith("raw_customers.csv", `id,first_name,last_name\n${lines.join("\n")}\nx,A,B\n`);
        bigDirs.push(dir);
        const only = datasets.filter(d => d.name === "raw_customers");
        const badLine = 1 + 3 * customers + 1;
        expect(() => readSeeds(dir, only)).toThrow(new RegExp(`raw_customers\\.csv:${badLine}: column "id": "x"`));

        fs.writeFileSync(path.join(dir, "raw_customers.csv"), `id,first_name,last_name\n${lines.join("\n")}\n`);
        const rows = readSeeds(dir, only);
        expect(rows).toHaveLength(customers);
        const expected = (id: number) => ({ id, first_name: `First ${id}`, last_name: `O"Neil, ${id}\nsecond\nthird` });
        const misread = rows.filter((row, i) =>
            row.line !== 1 + 3 * (i + 1) || JSON.stringify(row.record) !== JSON.stringify(expected(i + 1)));
        expect(misread).toEqual([]);
    });
});

describe("checkSeeds' hash", () => {
    /** The form stacks recorded it in (each file's name, a NUL, its bytes, in dataset order): a new form would re-seed them all. */
    const recordedForm = (dir: string) => {
        const hash = createHash("sha256");
        for (const dataset of datasets) hash.update(dataset.seedFile).update("\0").update(fs.readFileSync(path.join(dir, dataset.seedFile)));
        return hash.digest("hex").slice(0, 16);
    };

    it("is the hash existing stacks recorded, so upgrading seeds nothing again", () => {
        expect(checkSeeds(seedsDir)).toEqual({ rows: 312, hash: recordedForm(seedsDir) });
    });

    it("is what checkSeedsOnce gives, first checked, then remembered, for the very same files only", () => {
        const cache = fs.mkdtempSync(path.join(os.tmpdir(), "checked-seeds-"));
        const expected = { rows: 312, hash: recordedForm(seedsDir) };
        expect(checkSeedsOnce(seedsDir, cache)).toEqual(expected);
        expect(fs.readdirSync(cache)).toHaveLength(1);
        expect(checkSeedsOnce(seedsDir, cache)).toEqual(expected);

        // A file that passed, then broke: checked again, and refused naming the line.
        const csv = fs.readFileSync(path.join(seedsDir, "raw_orders.csv"), "utf8");
        // (The seeds end their lines with CRLF.)
        const grown = seedsWith("raw_orders.csv", `${csv}100,7,2018-04-10,placed\r\n`);
        expect(checkSeedsOnce(grown, cache)).toEqual({ rows: 313, hash: recordedForm(grown) });
        fs.appendFileSync(path.join(grown, "raw_orders.csv"), "101,x,2018-04-10,placed\r\n");
        expect(() => checkSeedsOnce(grown, cache)).toThrow(/raw_orders\.csv:102: column "user_id": "x" is not an integer/);
        expect(() => checkSeedsOnce(path.join(grown, "missing"), cache)).toThrow(SeedError);
    });

    it("changes with any seed file's bytes", () => {
        const csv = fs.readFileSync(path.join(seedsDir, "raw_orders.csv"), "utf8");
        const dir = seedsWith("raw_orders.csv", `${csv}100,7,2018-04-10,placed\n`);
        expect(checkSeeds(dir).hash).not.toBe(checkSeeds(seedsDir).hash);
        expect(checkSeeds(dir).hash).toBe(recordedForm(dir));
    });
});
