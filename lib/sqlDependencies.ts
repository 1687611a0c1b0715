import type { Node, ParseResult, RangeVar, SelectStmt, WithClause } from "libpg-query";
import { parseSql } from "./sqlParser";

/**
 * What a model's query reads, from PostgreSQL's own parse tree rather than from its text: every
 * table reference (FROM, JOIN, subqueries, LATERAL, set operations, EXISTS/IN), minus the query's
 * own CTEs where they are in scope. Function names, columns and keywords are never relations.
 */

/** A relation as a query names it: `schema` only where the query qualifies the name. */
export interface RelationName {
    schema?: string;
    name: string;
}

/**
 * The relations a query reads, in the order it first names them; or why the query cannot define
 * a model, and where (an index into its text).
 */
export type QueryReading = { reads: RelationName[] } | { problem: string; position: number };

/** Reads each text as a model's query: one SELECT (WITH ... SELECT, VALUES, UNION ... included). */
export function readQueries(texts: readonly string[]): QueryReading[] {
    return parseSql(texts).map((outcome, i) =>
        "tree" in outcome
            ? readQuery(outcome.tree, texts[i])
            : { problem: outcome.error, position: outcome.position ?? 0 },
    );
}

/** A reason the query cannot define a model, at a parse-tree location (bytes into its UTF-8 text). */
class QueryProblem extends Error {
    constructor(
        message: string,
        readonly location: number | undefined,
    ) {
        super(message);
    }
}

interface FoundRelation extends RelationName {
    location: number;
}

function readQuery(tree: ParseResult, text: string): QueryReading {
    try {
        const found: FoundRelation[] = [];
        collectFromSelect(singleSelect(tree), new Set(), found);
        return { reads: distinctInTextOrder(found) };
    } catch (err) {
        if (!(err instanceof QueryProblem)) throw err;
        return { problem: err.message, position: indexOfUtf8Offset(text, err.location ?? 0) };
    }
}

function singleSelect(tree: ParseResult): SelectStmt {
    const statements = tree.stmts ?? [];
    if (statements.length !== 1) {
        throw new QueryProblem(
            `expected one SELECT statement, found ${statements.length === 0 ? "none" : `${statements.length} statements`}`,
            statements[1]?.stmt_location,
        );
    }
    const statement = statements[0].stmt;
    if (statement === undefined || !("SelectStmt" in statement)) {
        throw new QueryProblem(`expected a SELECT statement, found ${nodeType(statement)}`, statements[0].stmt_location);
    }
    return statement.SelectStmt;
}

/** Collects what `node` reads, where `ctes` are the names of the CTEs in scope. */
function collectRelations(node: unknown, ctes: ReadonlySet<string>, found: FoundRelation[]): void {
    if (Array.isArray(node)) {
        for (const item of node) collectRelations(item, ctes, found);
    } else if (typeof node === "object" && node !== null) {
        for (const [key, value] of Object.entries(node)) {
            if (key === "RangeVar") collectTableReference(value as RangeVar, ctes, found);
            else if (key === "SelectStmt") collectFromSelect(value as SelectStmt, ctes, found);
            else collectRelations(value, ctes, found);
        }
    }
}

function collectFromSelect(select: SelectStmt, outerCtes: ReadonlySet<string>, found: FoundRelation[]): void {
    if (select.intoClause) {
        const location = select.intoClause.rel?.location;
        throw new QueryProblem("SELECT ... INTO creates a table: a model is a plain SELECT", location);
    }
    const { withClause, larg, rarg, ...rest } = select;
    const ctes = withClause ? collectFromWith(withClause, outerCtes, found) : outerCtes;
    // A set operation's operands are bare SelectStmts (not wrapped in a node), each maybe with its own WITH.
    for (const operand of [larg, rarg]) {
        if (operand) collectFromSelect(operand, ctes, found);
    }
    collectRelations(rest, ctes, found);
}

/**
 * Collects what the CTE bodies read and returns the CTE names in scope after the WITH. As in
 * PostgreSQL, a CTE's body sees only the CTEs before it, unless the WITH is RECURSIVE, where it
 * sees all of them, itself included: `with stg_payments as (select * from stg_payments)` reads the
 * relation stg_payments.
 */
function collectFromWith(
    withClause: WithClause,
    outerCtes: ReadonlySet<string>,
    found: FoundRelation[],
): ReadonlySet<string> {
    const ctes = (withClause.ctes ?? []).flatMap(node => ("CommonTableExpr" in node ? [node.CommonTableExpr] : []));
    const names = ctes.map(cte => cte.ctename ?? "");
    const allInScope = new Set([...outerCtes, ...names]);
    ctes.forEach((cte, i) => {
        const body = cte.ctequery;
        if (body === undefined || !("SelectStmt" in body)) {
            throw new QueryProblem(`WITH query "${names[i]}" is ${nodeType(body)}: a model only reads`, cte.location);
        }
        const visible = withClause.recursive ? allInScope : new Set([...outerCtes, ...names.slice(0, i)]);
        collectFromSelect(body.SelectStmt, visible, found);
    });
    return allInScope;
}

function collectTableReference(table: RangeVar, ctes: ReadonlySet<string>, found: FoundRelation[]): void {
    const name = table.relname ?? "";
    if (table.catalogname !== undefined) {
        throw new QueryProblem(
            `"${table.catalogname}.${table.schemaname}.${name}" names a database: a model reads schema.name or name`,
            table.location,
        );
    }
    if (table.schemaname === undefined && ctes.has(name)) return;
    const schema = table.schemaname === undefined ? {} : { schema: table.schemaname };
    found.push({ ...schema, name, location: table.location ?? 0 });
}

function distinctInTextOrder(found: FoundRelation[]): RelationName[] {
    const byName = new Map<string, RelationName>();
    for (const { schema, name } of [...found].sort((a, b) => a.location - b.location)) {
        const id = JSON.stringify([schema, name]);
        if (!byName.has(id)) byName.set(id, schema === undefined ? { name } : { schema, name });
    }
    return [...byName.values()];
}

function nodeType(node: Node | undefined): string {
    return node === undefined ? "nothing" : Object.keys(node)[0];
}

/** Parse-tree locations count bytes of UTF-8; JavaScript indexes strings in UTF-16 units. */
function indexOfUtf8Offset(text: string, offset: number): number {
    return Buffer.from(text, "utf8").subarray(0, offset).toString("utf8").length;
}
