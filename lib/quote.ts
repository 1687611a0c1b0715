/** SQL quoting shared by the DDL renderer and the SQL-object provider (which runs serialized). */

export function quoteIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
    return `'${value.replace(/'/g, "''")}'`;
}

/** Stands for a secret's value in a CREATE/ALTER SECRET statement, so the value is never in state or diffs. */
export const secretPlaceholder = ":secret";

export function bindSecret(statement: string, secret: string | undefined): string {
    return secret === undefined ? statement : statement.replace(secretPlaceholder, quoteLiteral(secret));
}
