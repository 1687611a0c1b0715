/**
 * Orders items so each comes after the items it depends on (depth-first, in input order otherwise).
 * Dependencies that are not among the items are left to the caller (`onUnknown`): sources outside
 * a SQL project are fine, an unknown object in a graph of objects is not. A cycle fails through
 * `onCycle` with the keys around it, e.g. ["a", "b", "a"].
 */
export function dependencyOrder<T>(
    items: readonly T[],
    node: { key: (item: T) => string; dependsOn: (item: T) => readonly string[] },
    errors: { onCycle: (cycle: string[], item: T) => Error; onUnknown?: (item: T, dependency: string) => Error },
): T[] {
    const byKey = new Map(items.map(item => [node.key(item), item]));
    const sorted: T[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (item: T, trail: string[]) => {
        const key = node.key(item);
        if (state.get(key) === "done") return;
        if (state.get(key) === "visiting") throw errors.onCycle([...trail.slice(trail.indexOf(key)), key], item);
        state.set(key, "visiting");
        for (const dependency of node.dependsOn(item)) {
            const upstream = byKey.get(dependency);
            if (upstream) visit(upstream, [...trail, key]);
            else if (errors.onUnknown) throw errors.onUnknown(item, dependency);
        }
        state.set(key, "done");
        sorted.push(item);
    };
    for (const item of items) visit(item, []);
    return sorted;
}
