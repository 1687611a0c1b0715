import * as pulumi from "@pulumi/pulumi";
import { DeployedObject, DeployStatements, deployStatements, ModelsDeploymentPlan, modelsDeploymentPlan } from "./deployment";
import { CatalogQuery } from "./sqlKinds";
import { createHash } from "node:crypto";
import { isNewServer, SqlConnection, SqlObject, withSql } from "./sqlObject";
import { relationKey, SqlProject } from "./sqlProject";

/**
 * The models, failure views and their indexes as one resource, changed by blue/green deploys
 * (lib/deployment.ts): its inputs are every object's statement, so `pulumi preview --diff` shows
 * which models changed and how, and `plan` says what the update will do. A deploy that fails
 * before the swap drops its staging schemas and leaves production as it was; the state then still
 * holds the previous objects. Dynamic providers are serialized closures: everything is required
 * or defined inside the methods.
 */

export interface ModelsDeploymentInputs extends ModelsDeploymentPlan {
    connection: SqlConnection;
    stack: string;
    /**
     * blueGreen: this resource builds the models by deploys. replace: each model's own resource
     * builds it, and this one does nothing (kept, so switching never drops anything).
     */
    mode: "blueGreen" | "replace";
    /**
     * Changes when anything the models read is rebuilt (a source whose topic was recreated): the
     * models go with it and are deployed anew, since a relation can't be dropped under them.
     */
    upstream: string;
    /** Names an earlier layout left in the production schemas: swapped out and dropped with the old models. */
    earlierLayout: string[];
    /** Materialize's cluster of the materialized views and indexes: checked for replicas while waiting. */
    cluster?: string;
    readiness: { timeoutSeconds: number; maxLagSeconds: number; pollMs: number };
}

const modelsDeploymentProvider: pulumi.dynamic.ResourceProvider<ModelsDeploymentInputs, ModelsDeploymentInputs> = {
    async diff(_id, olds, news) {
        const newServer = isNewServer(olds.connection, news.connection);
        const changed = (key: keyof ModelsDeploymentInputs) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]);
        const keys = ["objects", "swapSchemas", "searchPath", "stack", "cluster", "readiness", "connection", "plan", "mode", "upstream", "earlierLayout"] as const;
        const rebuilt = news.mode === "blueGreen" && olds.mode === "blueGreen" && olds.upstream !== news.upstream;
        const replaces = [...(newServer ? ["connection"] : []), ...(rebuilt ? ["upstream"] : [])];
        return { changes: replaces.length > 0 || keys.some(changed), replaces, deleteBeforeReplace: true };
    },

    async create(inputs) {
        if (inputs.mode === "blueGreen") await withSql(inputs.connection, undefined, client => deploy(client, inputs, []));
        return { id: `${inputs.stack}:models`, outs: inputs };
    },

    async update(_id, olds, news) {
        // Nothing to build when only how it is done changed (readiness settings, the plan's words),
        // or when the models' own resources build them.
        const rebuild = news.mode === "blueGreen" &&
            (olds.mode !== "blueGreen" || (["objects", "swapSchemas", "searchPath"] as const).some(key => JSON.stringify(olds[key]) !== JSON.stringify(news[key])));
        if (rebuild) await withSql(news.connection, undefined, client => deploy(client, news, olds.objects));
        return { outs: news };
    },

    async delete(_id, props) {
        if (props.mode !== "blueGreen") return;
        await withSql(props.connection, undefined, async client => {
            const statements = statementsOf(props);
            await refuseForeignObjects(client, props, statements.objects, props.objects);
            for (const statement of statements.destroy) await client.query(statement);
        });
    },
};

function statementsOf(inputs: ModelsDeploymentInputs): DeployStatements {
    return deployStatements(inputs.connection.dialect, { ...inputs, maxLagSeconds: inputs.readiness.maxLagSeconds });
}

/**
 * Stops, before any change, when the production or staging schemas hold something that is
 * neither one of `known` nor the earlier layout's: a deploy swaps them out and drops them, and
 * would take it along.
 */
async function refuseForeignObjects(client: import("pg").Client, inputs: ModelsDeploymentInputs, query: CatalogQuery, known: DeployedObject[]): Promise<void> {
    const ours = new Set([...known.map(object => object.name), ...inputs.earlierLayout]);
    const rows = (await client.query(query.text, query.values)).rows as { schema: string; name: string }[];
    const foreign = rows.filter(row => !ours.has(row.name)).map(row => `${row.schema}.${row.name}`);
    if (foreign.length > 0) {
        throw new Error(
            `${foreign.join(", ")}: not made by this stack's models, in a schema that a deploy swaps out and drops ` +
                `(${inputs.swapSchemas.join(", ")} and their staging schemas): move it elsewhere, or set modelChanges to replace; nothing was changed`,
        );
    }
}

/**
 * Builds in staging, waits until ready, swaps, drops what was swapped out. A leftover staging
 * schema of an earlier deploy (only our objects in it) is dropped first; a failure before the
 * swap drops the staging schemas and leaves production as it was.
 */
async function deploy(client: import("pg").Client, inputs: ModelsDeploymentInputs, previous: DeployedObject[]): Promise<void> {
    const statements = statementsOf(inputs);
    await refuseForeignObjects(client, inputs, statements.objects, [...previous, ...inputs.objects]);
    const dropStaging = async () => {
        for (const statement of statements.dropStaging) await client.query(statement);
    };
    try {
        await dropStaging();
        for (const statement of statements.build) await client.query(statement);
        await awaitReady(client, inputs, statements);
        for (const statement of statements.swap) await client.query(statement);
    } catch (err) {
        // Out of a failed swap's transaction first, so the drops can run.
        await client.query("ROLLBACK").catch(() => undefined);
        await dropStaging().catch(() => undefined);
        throw err;
    }
    // What was swapped out goes; should this fail, the next deploy drops the leftover.
    await dropStaging().catch(() => undefined);
}

/**
 * Polls until nothing in the staging schemas is pending, or the timeout: then it names what was
 * not ready. A cluster that can't get ready (no replica, replicas killed for memory) fails at once.
 * JSS_DEPLOY_NOT_READY (for tests) names objects to report as never ready ("*": all).
 */
async function awaitReady(client: import("pg").Client, inputs: ModelsDeploymentInputs, statements: DeployStatements): Promise<void> {
    const injected = (process.env.JSS_DEPLOY_NOT_READY ?? "").split(",").filter(Boolean);
    const deadline = Date.now() + inputs.readiness.timeoutSeconds * 1000;
    for (;;) {
        const problems = statements.clusterProblems;
        const found = problems ? ((await client.query(problems.text, problems.values)).rows as { problem: string }[]) : [];
        if (found.length > 0) throw new Error(`the deploy can't get ready: ${found.map(row => row.problem).join("; ")}; production is unchanged`);
        const query = statements.pending;
        const pending = query ? ((await client.query(query.text, query.values)).rows as { name: string; why: string }[]) : [];
        for (const object of inputs.objects) {
            if (injected.includes("*") || injected.includes(object.key)) pending.push({ name: object.key, why: "not ready (injected)" });
        }
        if (pending.length === 0) return;
        if (Date.now() >= deadline) {
            throw new Error(
                `the deploy was not ready after ${inputs.readiness.timeoutSeconds} s: ${pending.length} object(s) pending, e.g. ` +
                    `${pending.slice(0, 5).map(p => `${p.name} (${p.why})`).join(", ")}; production is unchanged`,
            );
        }
        await new Promise(resolve => setTimeout(resolve, Math.min(inputs.readiness.pollMs, Math.max(deadline - Date.now(), 0))));
    }
}

export class ModelsDeployment extends pulumi.dynamic.Resource {
    declare readonly objects: pulumi.Output<DeployedObject[]>;

    constructor(name: string, args: { [K in keyof ModelsDeploymentInputs]: pulumi.Input<ModelsDeploymentInputs[K]> }, opts?: pulumi.CustomResourceOptions) {
        super(modelsDeploymentProvider, name, { ...args, connection: pulumi.output(args.connection) }, opts, "jaffle-shop-streaming", "ModelsDeployment");
    }
}

export interface DeployModelsArgs {
    connection: pulumi.Input<SqlConnection>;
    stack: string;
    mode: ModelsDeploymentInputs["mode"];
    project: SqlProject;
    sourceSchema: string;
    cluster?: string;
    readiness: ModelsDeploymentInputs["readiness"];
    /** The graph of the source side (and the models' own resources): the deployment comes after it. */
    objects: Record<string, SqlObject>;
    earlierLayout?: string[];
}

/**
 * The deployment of a project's models beside its SQL object graph. Its `upstream` is derived from
 * the datasets' relations in the source schema, so when one is rebuilt the engine drops the
 * models first (a relation can't be dropped under them) and deploys them anew.
 */
export function deployModels(name: string, args: DeployModelsArgs, opts: pulumi.CustomResourceOptions): ModelsDeployment {
    const datasets = args.project.sources.map(source => args.objects[relationKey({ schema: args.sourceSchema, name: source })]);
    const upstream = pulumi.all(datasets.map(dataset => pulumi.all([dataset.id, dataset.upstreamSql, dataset.externalIdentity])))
        .apply(parts => createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 16));
    return new ModelsDeployment(name, {
        connection: args.connection,
        stack: args.stack,
        mode: args.mode,
        upstream,
        earlierLayout: args.earlierLayout ?? [],
        ...modelsDeploymentPlan(args.project, { sourceSchema: args.sourceSchema, cluster: args.cluster }),
        cluster: args.cluster,
        readiness: args.readiness,
    }, { ...opts, dependsOn: Object.values(args.objects) });
}
