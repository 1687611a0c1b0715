/** SQL quoting shared by the DDL renderer and the SQL-object provider (which runs serialized). */

export function quoteIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
    return `'${value.replace(/'/g, "''")}'`;
}

/** Stands for a secret's value in a CREATE/ALTER SECRET statement, so the value is never in state or diffs. */
export const secretPlaceholder = ":secret";

/**
 * The statement with the secret's value, quoted, in place of the placeholder. The value goes in
 * through a function: a replacement string would expand `$&`, `$'` and the like inside it.
 */
export function bindSecret(statement: string, secret: string | undefined): string {
    if (secret === undefined) return statement;
    // PostgreSQL text cannot hold NUL; the message names the problem, never the value.
    if (secret.includes("\0")) throw new Error("the secret contains a NUL byte, which a SQL string literal cannot hold");
    return statement.replace(secretPlaceholder, () => quoteLiteral(secret));
}
