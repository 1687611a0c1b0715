import { randomUUID } from "node:crypto";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { bindSecret, quoteIdent } from "../lib/quote";

const postgresUrl = inject("postgresUrl");
const schema = `quote_${randomUUID().slice(0, 8)}`;
let client: Client;

beforeAll(async () => {
    client = new Client({ connectionString: postgresUrl });
    await client.connect();
    await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
});

afterAll(async () => {
    await client?.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await client?.end();
});

/**
 * Secrets that String.replace would rewrite ($ patterns), that break naive quoting, or that a
 * careless encoding would change.
 */
const nastySecrets: [string, string][] = [
    ["doubled dollars", "pa$$word"],
    ["dollar-backtick (text before the placeholder)", "p$`q"],
    ["dollar-quote (text after the placeholder)", "hunter$'Secret99"],
    ["dollar-ampersand (the placeholder itself)", "x$&y"],
    ["dollar-digit", "$1$2"],
    ["named group reference", "$<name>"],
    ["dollar quoting", "$$ || current_user || $$"],
    ["the placeholder", ":secret"],
    ["single quotes", "it's ''quoted'"],
    ["a closing quote and a statement", "x'; DROP SCHEMA public CASCADE; --"],
    ["double quotes", '"ident"'],
    ["backslashes", "C:\\path\\to\\'x\\"],
    ["newlines and tabs", "line 1\nline 2\r\n\tindented"],
    ["unicode", "pässwörd-密码-🔑-\u200b-\u{1F600}"],
    ["empty", ""],
    ["long", "$'".repeat(5_000)],
];

describe("bindSecret", () => {
    it.each(nastySecrets)("stores a secret with %s exactly as given", async (label, secret) => {
        const table = `${quoteIdent(schema)}.${quoteIdent(label)}`;
        // A literal after the placeholder: a secret spliced into the statement would break its quoting.
        await client.query(bindSecret(`CREATE TABLE ${table} AS SELECT :secret::text AS v, 'after'::text AS w`, secret));
        const { rows } = await client.query(`SELECT v, w FROM ${table}`);
        expect(rows).toEqual([{ v: secret, w: "after" }]);
    });

    it("refuses a secret with a NUL byte, without printing it", () => {
        const secret = "hunter2\0tail";
        let error: unknown;
        try {
            bindSecret("CREATE SECRET s AS :secret", secret);
        } catch (err) {
            error = err;
        }
        expect(error).toBeInstanceOf(Error);
        const message = (error as Error).message;
        expect(message).toMatch(/NUL/);
        expect(message).not.toMatch(/hunter2|tail/);
    });

    it("leaves a statement without a secret as it is", () => {
        expect(bindSecret("CREATE VIEW v AS SELECT ':secret'", undefined)).toBe("CREATE VIEW v AS SELECT ':secret'");
    });
});
