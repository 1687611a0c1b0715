/** Where a PostgreSQL-speaking server is, as a libpq URL for psql and the CLIs: never with a password. */
export interface PostgresEndpoint {
    user: string;
    host: string;
    port: number;
    database: string;
    /** libpq's sslmode; none: the client's default. */
    sslMode?: string;
}

export function postgresUrl(to: PostgresEndpoint): string {
    const query = to.sslMode ? `?sslmode=${to.sslMode}` : "";
    return `postgres://${encodeURIComponent(to.user)}@${to.host}:${to.port}/${encodeURIComponent(to.database)}${query}`;
}
