import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { DeclaredTest, renderTest } from "./dataTests";
import { readQueries } from "./sqlDependencies";
import { dependencyOrder } from "./graph";
import {
    defaultFailureSchema,
    defaultSchema,
    Materialization,
    ModelSql,
    relationKey,
    SqlModel,
    SqlProject,
    SqlProjectError,
} from "./sqlModel";

export type { DataTest, Materialization, Relation, SqlModel, SqlProject } from "./sqlModel";
export { dbtTestName } from "./dataTests";
export { defaultFailureSchema, defaultSchema, relationKey, SqlProjectError } from "./sqlModel";

/**
 * The SQL project in `sql/`: models (one SELECT per file), their data tests declared in
 * `schema.yml` the way dbt declares them, and the dependency graph read from the SQL itself
 * (parsed with PostgreSQL's grammar, which Materialize speaks). DDL for a particular database is
 * rendered elsewhere.
 */

interface DeclaredColumn {
    name: string;
    tests?: DeclaredTest[];
}

interface DeclaredModel {
    name: string;
    materialized?: Materialization;
    indexes?: string[][];
    columns?: DeclaredColumn[];
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

function sortByDependencies(models: SqlModel[]): SqlModel[] {
    return dependencyOrder(models, { key: relationKey, dependsOn: model => model.dependsOn }, {
        onCycle: (cycle, model) => new SqlProjectError(`models form a cycle: ${cycle.join(" -> ")} (${model.origin})`),
    });
}
