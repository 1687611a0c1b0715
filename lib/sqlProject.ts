import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { quoteIdent, quoteLiteral } from "./quote";
import { readQueries } from "./sqlDependencies";
import { dependencyOrder } from "./graph";

/**
 * The SQL project in `sql/`: models (one SELECT per file), their data tests declared in
 * `schema.yml` the way dbt declares them, and the dependency graph read from the SQL itself
 * (parsed with PostgreSQL's grammar, which Materialize speaks). DDL for a particular database is
 * rendered elsewhere.
 */

export type Materialization = "view" | "materialized_view";

export interface Relation {
    schema: string;
    name: string;
}

export interface SqlModel extends Relation {
    materialized: Materialization;
    /** The SELECT that defines the model. */
    query: string;
    /** Where the model came from, for error messages. */
    origin: string;
    /** Relations the query reads, as keys of `SqlProject.relations` (sources or other models). */
    dependsOn: string[];
    indexes: string[][];
    /** For a failure view: the schema.yml test it checks. */
    dataTest?: DataTest;
}

/** A data test as schema.yml declares it: a test type on a model's column. */
export interface DataTest {
    type: TestType;
    model: string;
    column: string;
}

export interface SqlProject {
    /** Raw relations fed from outside (the sources / topics). */
    sources: string[];
    /** Models and failure views, dependencies before dependents. */
    models: SqlModel[];
    failureSchema: string;
}

export const defaultSchema = "public";
export const defaultFailureSchema = "public_etl_failure";

export class SqlProjectError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "SqlProjectError";
    }
}

/** A model and the SQL it was read from, so that an error in the SQL can point into its file. */
interface ModelSql {
    model: SqlModel;
    /** The model's own file or, for a failure view, its test's template. */
    file: string;
    /** The SQL as that file has it (rendered, for a test), untrimmed: positions in it are the file's. */
    text: string;
}

interface DeclaredColumn {
    name: string;
    tests?: (string | Record<string, Record<string, unknown>>)[];
}

interface DeclaredModel {
    name: string;
    materialized?: Materialization;
    indexes?: string[][];
    columns?: DeclaredColumn[];
}

export function relationKey(relation: Relation): string {
    return relation.schema === defaultSchema ? relation.name : `${relation.schema}.${relation.name}`;
}

export function loadSqlProject(
    sqlDir: string,
    sources: readonly string[],
    options: { failureSchema?: string } = {},
): SqlProject {
    const failureSchema = options.failureSchema ?? defaultFailureSchema;
    const schemaFile = path.join(sqlDir, "schema.yml");
    const declared = readSchemaFile(schemaFile);
    const modelsDir = path.join(sqlDir, "models");
    const files = fs.existsSync(modelsDir) ? fs.readdirSync(modelsDir).filter(f => f.endsWith(".sql")) : [];
    for (const file of files) {
        const name = path.basename(file, ".sql");
        if (!declared.some(m => m.name === name)) {
            throw new SqlProjectError(`${path.join(modelsDir, file)}: model "${name}" is not declared in ${schemaFile}`);
        }
    }

    const loaded: ModelSql[] = [];
    for (const model of declared) {
        const file = path.join(modelsDir, `${model.name}.sql`);
        if (!fs.existsSync(file)) {
            throw new SqlProjectError(`${schemaFile}: model "${model.name}" has no SQL file ${file}`);
        }
        const materialized = model.materialized ?? "view";
        if (materialized !== "view" && materialized !== "materialized_view") {
            throw new SqlProjectError(
                `${schemaFile}: model "${model.name}": materialized must be view or materialized_view, not "${materialized}"`,
            );
        }
        if (model.indexes && materialized !== "materialized_view") {
            throw new SqlProjectError(`${schemaFile}: model "${model.name}": indexes need materialized: materialized_view`);
        }
        const text = fs.readFileSync(file, "utf8");
        loaded.push({
            file,
            text,
            model: {
                schema: defaultSchema,
                name: model.name,
                materialized,
                query: text.trim(),
                origin: file,
                dependsOn: [],
                indexes: model.indexes ?? [],
            },
        });
    }
    for (const model of declared) {
        for (const column of model.columns ?? []) {
            for (const test of column.tests ?? []) {
                loaded.push(renderTest(sqlDir, schemaFile, failureSchema, model.name, column.name, test));
            }
        }
    }
    readDependencies(loaded);

    const models = loaded.map(({ model }) => model);
    const known = new Set([...sources, ...models.map(relationKey)]);
    const seen = new Set<string>(sources);
    for (const model of models) {
        const key = relationKey(model);
        if (seen.has(key)) {
            throw new SqlProjectError(`${model.origin}: relation "${key}" is defined twice`);
        }
        seen.add(key);
        for (const dependency of model.dependsOn) {
            if (!known.has(dependency)) {
                throw new SqlProjectError(
                    `${model.origin}: model "${key}" references unknown model or source "${dependency}"` +
                        ` (known: ${[...known].filter(k => !k.includes(".")).join(", ")})`,
                );
            }
        }
    }
    return { sources: [...sources], models: sortByDependencies(models), failureSchema };
}

/** Parses every model's SQL in one go and records what each reads; SQL that cannot define a model stops the load. */
function readDependencies(loaded: ModelSql[]): void {
    const readings = readQueries(loaded.map(({ text }) => text));
    loaded.forEach(({ model, file, text }, i) => {
        const reading = readings[i];
        if ("problem" in reading) {
            const test = model.dataTest;
            const renderedFor = test ? ` (rendered for the ${test.type} test on ${test.model}.${test.column})` : "";
            throw new SqlProjectError(`${file}:${lineAndColumn(text, reading.position)}: ${reading.problem}${renderedFor}`);
        }
        const keys = reading.reads.map(({ schema, name }) => relationKey({ schema: schema ?? defaultSchema, name }));
        model.dependsOn = [...new Set(keys)];
    });
}

/** `line:column`, both from 1, the column in characters. */
function lineAndColumn(text: string, index: number): string {
    const lines = text.slice(0, index).split("\n");
    return `${lines.length}:${Array.from(lines[lines.length - 1]).length + 1}`;
}

function readSchemaFile(schemaFile: string): DeclaredModel[] {
    let document: unknown;
    try {
        document = yaml.load(fs.readFileSync(schemaFile, "utf8"));
    } catch (err) {
        throw new SqlProjectError(`${schemaFile}: ${(err as Error).message}`);
    }
    const models = (document as { models?: unknown } | undefined)?.models;
    if (!Array.isArray(models) || models.some(m => typeof m?.name !== "string")) {
        throw new SqlProjectError(`${schemaFile}: expected "models:" to be a list of entries with a "name"`);
    }
    return models as DeclaredModel[];
}

const testTypes = ["unique", "not_null", "accepted_values", "relationships"] as const;
type TestType = (typeof testTypes)[number];

function renderTest(
    sqlDir: string,
    schemaFile: string,
    failureSchema: string,
    model: string,
    column: string,
    test: DeclaredColumn["tests"] extends (infer T)[] | undefined ? T : never,
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

function sortByDependencies(models: SqlModel[]): SqlModel[] {
    return dependencyOrder(models, { key: relationKey, dependsOn: model => model.dependsOn }, {
        onCycle: (cycle, model) => new SqlProjectError(`models form a cycle: ${cycle.join(" -> ")} (${model.origin})`),
    });
}
