import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";

/** A resource as the mocked engine saw it, plus the options the program gave it. */
export interface DeclaredResource {
    type: string;
    name: string;
    /** The name without its parent's name in front (children are named `${parent}-...`). */
    localName: string;
    inputs: Record<string, any>;
    parent?: string;
    /** Names of the resources in its dependsOn option. */
    dependsOn: string[];
}

export interface ProgramRun {
    resources: DeclaredResource[];
    outputs: Record<string, unknown>;
    /** Names of the outputs that are Pulumi secrets (stored encrypted, shown as [secret]). */
    secretOutputs: string[];
    /** The one resource with this name or local name (and type, where local names repeat across types). */
    byName(name: string, type?: string): DeclaredResource;
    ofType(type: string): DeclaredResource[];
    /**
     * Whether the engine creates `later` only once `earlier` is done, as the real engine orders
     * them: through dependsOn, through parents (a child waits for its parent, which waits for its
     * own dependsOn), and waiting for a component means waiting for everything under it.
     */
    createdAfter(later: string, earlier: string): boolean;
    /** Resources (components too) whose name does not start with their parent's. */
    misnamedChildren(): string[];
}

export interface RunOptions {
    stack?: string;
    /** Keys without namespace, e.g. { portBase: "20000" }. */
    config?: Record<string, string>;
    secretKeys?: string[];
    preview?: boolean;
}

const project = "jaffle-shop-streaming";

/**
 * Runs index.ts under Pulumi's mocks for one stack and returns what it declared. Mocks are set
 * before the program is imported (else getStack() is silently "stack"), and dependsOn, which
 * mocks never see, is captured by a stack transformation that reads the real resource options.
 */
export async function runProgram(options: RunOptions = {}): Promise<ProgramRun> {
    const stack = options.stack ?? "dev";
    const config = Object.fromEntries(Object.entries(options.config ?? {}).map(([k, v]) => [`${project}:${k}`, v]));
    pulumi.runtime.setAllConfig(config, (options.secretKeys ?? []).map(k => `${project}:${k}`));

    const resources: DeclaredResource[] = [];
    const names = new Map<pulumi.Resource, string>();
    const options_ = new Map<string, { parent?: string; dependsOn: string[] }>();
    await pulumi.runtime.setMocks(
        {
            newResource: args => {
                resources.push({ type: args.type, name: args.name, localName: args.name, inputs: args.inputs, dependsOn: [] });
                return { id: `${args.name}-id`, state: { ...args.inputs, ...mockOutputs(args) } };
            },
            call: args => args.inputs,
        },
        project,
        stack,
        options.preview ?? false,
    );
    vi.resetModules();
    let program: Record<string, unknown> = {};
    let programError: unknown;
    await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation(args => {
            names.set(args.resource, args.name);
            const dependsOn = ([] as unknown[]).concat(args.opts.dependsOn ?? []) as pulumi.Resource[];
            options_.set(`${args.type}::${args.name}`, {
                parent: args.opts.parent ? names.get(args.opts.parent) : undefined,
                dependsOn: dependsOn.map(r => names.get(r) ?? "<unknown>"),
            });
            return undefined;
        });
        try {
            program = { ...(await import("../../index")).default };
        } catch (err) {
            // Rethrown below: thrown from here it would also surface as unhandled stack rejections.
            programError = err;
        }
        return program;
    });
    if (programError) throw programError;
    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    for (const [key, value] of Object.entries(program)) {
        outputs[key] = pulumi.Output.isInstance(value) ? await resolve(value) : value;
        if (pulumi.Output.isInstance(value) && (await pulumi.isSecret(value))) secretOutputs.push(key);
    }
    // Let the last registrations (children created inside applies) land.
    await new Promise(r => setTimeout(r, 50));
    for (const resource of resources) {
        Object.assign(resource, options_.get(`${resource.type}::${resource.name}`) ?? {});
        if (resource.parent && resource.name.startsWith(`${resource.parent}-`)) resource.localName = resource.name.slice(resource.parent.length + 1);
    }
    // Every registered resource, components included, by name: what createdAfter walks.
    const graph = new Map([...options_].map(([key, options]) => [key.slice(key.indexOf("::") + 2), options]));
    const descendants = (name: string): string[] =>
        [...graph].filter(([, node]) => node.parent === name).flatMap(([child]) => [child, ...descendants(child)]);
    return {
        resources,
        outputs,
        secretOutputs,
        byName(name, type) {
            const found = resources.filter(r => (r.name === name || r.localName === name) && (type === undefined || r.type === type));
            if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}`);
            return found[0];
        },
        ofType(type) {
            return resources.filter(r => r.type === type);
        },
        createdAfter(later, earlier) {
            if (!graph.has(later) || !graph.has(earlier)) throw new Error(`unknown resource ${graph.has(later) ? earlier : later}`);
            const awaited = new Set<string>();
            const pending = [later];
            while (pending.length > 0) {
                const node = graph.get(pending.pop()!);
                for (const next of [...(node?.dependsOn ?? []), ...(node?.parent ? [node.parent] : [])]) {
                    const waitedFor = node?.parent === next ? [next] : [next, ...descendants(next)];
                    for (const name of waitedFor.filter(name => !awaited.has(name))) {
                        awaited.add(name);
                        pending.push(name);
                    }
                }
            }
            return awaited.has(earlier);
        },
        misnamedChildren() {
            return [...graph].filter(([name, node]) => node.parent && !name.startsWith(`${node.parent}-`)).map(([name]) => name);
        },
    };
}

function mockOutputs(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
    if (args.type === "docker:index/remoteImage:RemoteImage") return { imageId: `sha256:${args.name}` };
    // A generated password is only known after create; the mock's stands in, unique per resource.
    if (args.type === "random:index/randomPassword:RandomPassword") return { result: `generated-${args.name}` };
    if (args.type === "pulumi-nodejs:dynamic/jaffle-shop-streaming:Seeding") {
        return { sent: 0, epochs: { raw_customers: "epoch-c", raw_orders: "epoch-o", raw_payments: "epoch-p" } };
    }
    return {};
}

export function resolve<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise(resolve => output.apply(value => { resolve(value); return value; }));
}
