import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "vitest";
import { ConfigMap, EngineEvent, LocalWorkspace, OpType, Stack } from "@pulumi/pulumi/automation";

const repo = path.resolve(__dirname, "..", "..");

/**
 * The real Pulumi engine on a throwaway file backend. The CLI, the Node.js language host and the
 * kafka and docker plugins come from PATH and PULUMI_HOME (scripts/pulumi-engine.sh puts them
 * there); nothing can be downloaded here, so automatic plugin downloads are off. `dockerHost` is the
 * Docker engine the docker provider talks to.
 */
export function engineEnv(dockerHost?: string): Record<string, string> {
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-state-"));
    return {
        PULUMI_BACKEND_URL: `file://${backend}`,
        PULUMI_CONFIG_PASSPHRASE: "engine-tests",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PATH: process.env.PATH ?? "",
        ...(dockerHost ? { DOCKER_HOST: dockerHost } : {}),
    };
}

/**
 * A private copy of a Pulumi project (so stack config files never land in the work tree), with
 * the repository's node_modules linked in.
 */
export function copyProject(entries: string[], projectDir = "."): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-project-"));
    for (const entry of entries) {
        fs.cpSync(path.join(repo, entry), path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"));
    return path.join(dir, projectDir);
}

/** Resources in the stack's state besides the stack itself (which even a failed update records). */
export async function resourceCount(stack: Stack): Promise<number> {
    const state = await stack.exportStack();
    return (state.deployment.resources ?? []).filter((r: { type: string }) => r.type !== "pulumi:pulumi:Stack").length;
}

export async function newStack(
    workDir: string,
    stackName: string,
    env: Record<string, string>,
    config: Record<string, string>,
    secrets: Record<string, string> = {},
): Promise<Stack> {
    const stack = await LocalWorkspace.createStack({ stackName, workDir }, { envVars: env });
    const project = (await stack.workspace.projectSettings()).name;
    const values: ConfigMap = {};
    for (const [key, value] of Object.entries(config)) values[`${project}:${key}`] = { value };
    for (const [key, value] of Object.entries(secrets)) values[`${project}:${key}`] = { value, secret: true };
    await stack.setAllConfig(values);
    return stack;
}

/**
 * Checks that aliases carry a stack over a renaming: its state is rewritten as the older program
 * left it (every `current` in URNs, parents and dependencies becomes `old`); then the preview
 * shows nothing created, deleted or replaced, and an up changes nothing but the names back.
 */
export async function expectOldNamesAdopted(stack: Stack, names: { current: string; old: string }): Promise<void> {
    const state = await stack.exportStack();
    const current = JSON.stringify(state.deployment);
    expect(current).toContain(names.current);
    await stack.importStack({ ...state, deployment: JSON.parse(current.split(names.current).join(names.old)) });

    const preview = new StepLog();
    await stack.preview({ onEvent: preview.onEvent });
    expect([...preview.names("create"), ...preview.names("delete"), ...preview.names("replace")]).toEqual([]);
    const up = await stack.up();
    expect(Object.keys(up.summary.resourceChanges ?? {})).toEqual(["same"]);
    expect(urns((await stack.exportStack()).deployment)).toEqual(urns(state.deployment));
}

function urns(deployment: { resources?: { urn: string }[] }): string[] {
    return (deployment.resources ?? []).map(r => r.urn).sort();
}

/** Resource operations reported by the engine, as "op type name". */
export class StepLog {
    readonly steps: { op: OpType; type: string; name: string }[] = [];
    readonly onEvent = (event: EngineEvent) => {
        const metadata = event.resourcePreEvent?.metadata;
        if (metadata) {
            this.steps.push({ op: metadata.op, type: metadata.type, name: metadata.urn.split("::").pop() ?? "" });
        }
    };

    names(op: OpType, type?: string): string[] {
        return this.steps
            .filter(s => s.op === op && (type === undefined || s.type === type))
            .map(s => s.name)
            .sort();
    }
}

/**
 * A stack's state as the version before the source schema wrote it: its SQL objects' rebuild
 * triggers under their old names, and that version's provider code, serialized as Pulumi keeps it
 * in the state (the engine deletes removed objects with it). The code is in test/fixtures/, from
 * running that version's test program.
 */
export function asPreviousVersion(deployment: { resources?: Record<string, any>[] }): { resources?: Record<string, any>[] } {
    const previous = JSON.parse(JSON.stringify(deployment).replace(/"upstreamSql":/g, '"upstream":').replace(/"externalIdentity":/g, '"identity":'));
    const provider = fs.readFileSync(path.join(repo, "test", "fixtures", "sql-object-provider-before-source-schema.js"), "utf8");
    for (const resource of previous.resources.filter((r: { type: string }) => r.type === "pulumi-nodejs:dynamic/jaffle-shop-streaming:SqlObject")) {
        expect(resource.outputs.upstream).toBeDefined();
        resource.inputs.__provider = resource.outputs.__provider = provider;
    }
    return previous;
}
