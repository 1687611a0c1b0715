import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { quoteIdent, quoteLiteral } from "./quote";
import { ModelSql, SqlProjectError, TestType, testTypes } from "./sqlModel";

/**
 * dbt's generic data tests, rendered from the project's templates (`tests/<test>.sql`) into the
 * failure views, named as dbt names stored test failures.
 */

/** A test as schema.yml lists it under a column: `unique`, or `{ accepted_values: { values: [...] } }`. */
export type DeclaredTest = string | Record<string, Record<string, unknown>>;

export function renderTest(
    sqlDir: string,
    schemaFile: string,
    failureSchema: string,
    model: string,
    column: string,
    test: DeclaredTest,
): ModelSql {
    const [type, args] = typeof test === "string" ? [test, {}] : (Object.entries(test)[0] ?? ["", {}]);
    const where = `${schemaFile}: model "${model}", column "${column}"`;
    if (!testTypes.includes(type as TestType)) {
        throw new SqlProjectError(`${where}: unknown test "${type}" (known: ${testTypes.join(", ")})`);
    }
    const values: Record<string, string> = { model: quoteIdent(model), column: quoteIdent(column) };
    const nameArgs: Record<string, unknown> = { column_name: column };
    if (type === "accepted_values") {
        const accepted = (args as { values?: unknown }).values;
        if (!Array.isArray(accepted) || accepted.length === 0) {
            throw new SqlProjectError(`${where}: accepted_values needs a non-empty "values" list`);
        }
        values.values = accepted.map(v => quoteLiteral(String(v))).join(", ");
        nameArgs.values = accepted.map(String);
    }
    if (type === "relationships") {
        const { to, field } = args as { to?: unknown; field?: unknown };
        if (typeof to !== "string" || typeof field !== "string") {
            throw new SqlProjectError(`${where}: relationships needs "to" (a model) and "field" (its column)`);
        }
        values.to = quoteIdent(to);
        values.field = quoteIdent(field);
        // dbt names the test after its arguments, and its "to" argument reads ref('model').
        Object.assign(nameArgs, { field, to: `ref('${to}')` });
    }
    const templateFile = path.join(sqlDir, "tests", `${type}.sql`);
    if (!fs.existsSync(templateFile)) {
        throw new SqlProjectError(`${where}: no template ${templateFile} for test "${type}"`);
    }
    const text = fs.readFileSync(templateFile, "utf8").replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key: string) => {
        if (!(key in values)) throw new SqlProjectError(`${templateFile}: unknown placeholder {{ ${key} }}`);
        return values[key];
    });
    return {
        file: templateFile,
        text,
        model: {
            schema: failureSchema,
            name: dbtTestName(type, model, nameArgs),
            materialized: "materialized_view",
            query: text.trim(),
            origin: `${schemaFile} (${type} test on ${model}.${column})`,
            dependsOn: [],
            indexes: [],
            dataTest: { type: type as TestType, model, column },
        },
    };
}

/**
 * The relation name dbt gives a generic test's stored failures, so that queries written
 * against dbt's `--store-failures` tables work verbatim: `<test>_<model>_<args joined by __>`,
 * or, at 64 characters and beyond, the first 30 characters of `<test>_<model>` and an md5.
 */
export function dbtTestName(type: string, model: string, args: Record<string, unknown>): string {
    const flatArgs = Object.keys(args)
        .sort()
        .flatMap(key => {
            const value = args[key];
            return Array.isArray(value) ? value.map(String) : [String(value)];
        })
        .map(part => part.replace(/[^0-9a-zA-Z_]+/g, "_"));
    const identifier = `${type}_${model}`;
    const fullName = `${identifier}_${flatArgs.join("__")}`;
    if (fullName.length < 64) return fullName;
    return `${identifier.slice(0, 30)}_${createHash("md5").update(fullName).digest("hex")}`;
}
