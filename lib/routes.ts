import { datasetNames, RawDatasetName } from "./datasets";

/**
 * Where each dataset's events travel and Materialize reads them from: a Kafka topic, or a
 * PostgreSQL table that Materialize replicates by CDC. Decided once, from the stack's
 * configuration; the program, the stack output `datasets` and the producer commands (generate,
 * scenario) take the routes from here.
 */
export type DatasetRoute = { topic: string } | { cdcTable: { schema: string; name: string } };

export type DatasetRoutes = Record<RawDatasetName, DatasetRoute>;

export function datasetRoutes(topicPrefix: string, cdc?: { datasets: readonly RawDatasetName[]; schema: string }): DatasetRoutes {
    return Object.fromEntries(datasetNames.map(name => [
        name,
        cdc?.datasets.includes(name) ? { cdcTable: { schema: cdc.schema, name } } : { topic: `${topicPrefix}${name}` },
    ])) as DatasetRoutes;
}

/** The topic of each dataset that travels through Kafka. */
export function topicsOf(routes: DatasetRoutes): Partial<Record<RawDatasetName, string>> {
    return Object.fromEntries(datasetNames.flatMap(name => {
        const route = routes[name];
        return "topic" in route ? [[name, route.topic]] : [];
    }));
}

/** The datasets written to PostgreSQL tables, with their tables. */
export function cdcTablesOf(routes: DatasetRoutes): Partial<Record<RawDatasetName, { schema: string; name: string }>> {
    return Object.fromEntries(datasetNames.flatMap(name => {
        const route = routes[name];
        return "cdcTable" in route ? [[name, route.cdcTable]] : [];
    }));
}

/** "topic raw_orders" or "CDC table public.raw_customers", for the user. */
export function describeRoute(route: DatasetRoute): string {
    return "topic" in route ? `topic ${route.topic}` : `CDC table ${route.cdcTable.schema}.${route.cdcTable.name}`;
}

/**
 * Routes as the stack output `datasets` holds them, checked: a route for every dataset, each a
 * topic or a CDC table; `origin` names where they came from in the error.
 */
export function parseRoutes(value: unknown, origin: string): DatasetRoutes {
    const routes = (value ?? {}) as Record<string, unknown>;
    const bad = datasetNames.filter(name => {
        const route = routes[name] as Record<string, unknown> | undefined;
        if (typeof route?.topic === "string") return false;
        const table = route?.cdcTable as Record<string, unknown> | undefined;
        return !(typeof table?.schema === "string" && typeof table?.name === "string");
    });
    if (bad.length > 0) throw new Error(`${origin} has no route (a topic or a CDC table) for ${bad.join(", ")}`);
    return Object.fromEntries(datasetNames.map(name => [name, routes[name]])) as DatasetRoutes;
}
