import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { SqlObjectDefinition } from "../lib/ddl";
import { SqlConnection, SqlObject } from "../lib/sqlObject";
import { dependencyOrder } from "../lib/graph";

export interface SqlObjectGraphArgs {
    connection: pulumi.Input<SqlConnection>;
    objects: SqlObjectDefinition[];
    /** Values of secret objects, by key. */
    secrets?: Record<string, pulumi.Input<string>>;
    /**
     * By object key, the identity of what it reads from outside the database (a source: its topic's
     * epoch). When one changes, that object and everything downstream of it are rebuilt.
     */
    externalIdentities?: Record<string, pulumi.Input<string>>;
}

export interface PlannedSqlObject {
    definition: SqlObjectDefinition;
    /** Changes whenever any object upstream changes, forcing this one to be rebuilt too. */
    upstreamSql: string;
}

/**
 * Orders the objects so each comes after what it depends on and fingerprints everything upstream
 * of each: change one view's SQL and it and everything downstream get a new fingerprint, so
 * preview lists exactly those objects as replaced.
 */
export function planSqlObjects(objects: SqlObjectDefinition[]): PlannedSqlObject[] {
    const keys = new Set<string>();
    for (const object of objects) {
        if (keys.has(object.key)) throw new Error(`SQL object "${object.key}" is defined twice`);
        keys.add(object.key);
    }
    const ordered = dependencyOrder(objects, { key: object => object.key, dependsOn: object => [...object.dependsOn].sort() }, {
        onCycle: cycle => new Error(`SQL objects form a cycle: ${cycle.join(" -> ")}`),
        onUnknown: (object, dependency) => new Error(`SQL object "${object.key}" depends on unknown object "${dependency}"`),
    });
    const fingerprints = new Map<string, string>();
    return ordered.map((object): PlannedSqlObject => {
        const upstreamHash = createHash("sha256");
        for (const dependency of [...object.dependsOn].sort()) upstreamHash.update(`${dependency}=${fingerprints.get(dependency)}\n`);
        const upstreamSql = upstreamHash.digest("hex").slice(0, 16);
        const own = createHash("sha256").update(object.create).update((object.searchPath ?? []).join(",")).update(upstreamSql);
        fingerprints.set(object.key, own.digest("hex").slice(0, 16));
        return { definition: object, upstreamSql };
    });
}

/** One identity for several: empty while all of them are, else a hash that changes with any of them. */
function combinedIdentity(parts: pulumi.Input<string>[]): pulumi.Output<string> {
    return pulumi.all(parts).apply(values =>
        values.every(value => value === "") ? "" : createHash("sha256").update(values.join("\n")).digest("hex").slice(0, 16));
}

/**
 * A set of SQL objects created in dependency order and dropped in reverse. What they all wait for
 * (the database, the topics its sources read) goes in this component's `dependsOn`.
 */
export class SqlObjectGraph extends pulumi.ComponentResource {
    readonly objects: Record<string, SqlObject>;

    constructor(name: string, args: SqlObjectGraphArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jaffle-shop-streaming:index:SqlObjectGraph", name, {}, opts);
        this.objects = {};
        const identities: Record<string, pulumi.Output<string>> = {};
        for (const { definition, upstreamSql } of planSqlObjects(args.objects)) {
            const secret = args.secrets?.[definition.key];
            if (definition.kind === "secret" && secret === undefined) {
                throw new Error(`SQL secret "${definition.key}" has no value`);
            }
            const inputs = definition.dependsOn.map(key => this.objects[key]);
            identities[definition.key] = combinedIdentity([
                args.externalIdentities?.[definition.key] ?? "",
                ...definition.dependsOn.map(key => identities[key]),
            ]);
            // Named after the component; `aliases` keeps the stacks that named them by key alone.
            this.objects[definition.key] = new SqlObject(`${name}-${definition.key}`, {
                connection: args.connection,
                kind: definition.kind,
                schema: definition.schema,
                name: definition.name,
                create: definition.create,
                searchPath: definition.searchPath,
                // Derived from the inputs' ids so the engine records a property dependency on them:
                // when an input is dropped to be replaced, the engine first drops this object too
                // (a view cannot outlive what it reads).
                upstreamSql: pulumi.all(inputs.map(input => input.id)).apply(() => upstreamSql),
                externalIdentity: identities[definition.key],
                secret,
                deployedBy: definition.deployedBy,
            }, { parent: this, dependsOn: inputs, aliases: [{ name: definition.key }] });
        }
        this.registerOutputs({ objects: Object.keys(this.objects) });
    }
}
