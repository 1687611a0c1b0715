/**
 * The vocabulary of a SQL project: models (one SELECT each), the data tests that become failure
 * views, and the relation keys they are known by.
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

export const testTypes = ["unique", "not_null", "accepted_values", "relationships"] as const;
export type TestType = (typeof testTypes)[number];

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

export function relationKey(relation: Relation): string {
    return relation.schema === defaultSchema ? relation.name : `${relation.schema}.${relation.name}`;
}

/** A model and the SQL it was read from, so that an error in the SQL can point into its file. */
export interface ModelSql {
    model: SqlModel;
    /** The model's own file or, for a failure view, its test's template. */
    file: string;
    /** The SQL as that file has it (rendered, for a test), untrimmed: positions in it are the file's. */
    text: string;
}
