import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";

/** A resource as the mocked engine saw it, plus the options the program gave it. */
export interface DeclaredResource {
    type: string;
    name: string;
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
    /** The one resource with this name (and type, where names repeat across types). */
    byName(name: string, type?: string): DeclaredResource;
    ofType(type: string): DeclaredResource[];
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
                resources.push({ type: args.type, name: args.name, inputs: args.inputs, dependsOn: [] });
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
    }
    return {
        resources,
        outputs,
        secretOutputs,
        byName(name, type) {
            const found = resources.filter(r => r.name === name && (type === undefined || r.type === type));
            if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}`);
            return found[0];
        },
        ofType(type) {
            return resources.filter(r => r.type === type);
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
