import { ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stackLabel } from "../../lib/containers";
import { runProcess, tailOf, terminate } from "./process";

const repo = path.resolve(__dirname, "..", "..");


/**
 * A Docker engine for the local-mode tests: the one already running (DOCKER_HOST, else the default
 * socket) if it answers, else a dockerd of our own (vfs storage; data-root, exec-root, pidfile and
 * socket in a temporary directory), stopped and removed afterwards. On it, the test images that
 * stand in for Redpanda's and Materialize's (scripts/test-images.sh).
 */
export interface DockerEngine {
    /** DOCKER_HOST for the docker CLI and the docker provider, e.g. unix:///tmp/jss-docker-x/docker.sock. */
    host: string;
    /** Stands in for redpandaImage / materializeImage. */
    images: { broker: string; materialize: string };
    /** Starts every stack name the tests create, unique to this run. */
    prefix: string;
    /** Removes what carries this run's prefix; stops our own daemon and removes its files. */
    stop(): Promise<void>;
}

/** Runs the docker CLI against `host`; `input` goes to its standard input (e.g. a Dockerfile for `build -`). */
export async function docker(host: string, args: string[], timeoutMs = 60_000, input?: string): Promise<string> {
    const result = await runProcess("docker", args, { env: { ...process.env, DOCKER_HOST: host }, timeoutMs, input });
    if (result.code !== 0) throw new Error(`docker ${args.join(" ")} (DOCKER_HOST=${host}) failed (exit ${result.code}): ${result.output}`);
    return result.stdout.trim();
}

async function answers(host: string): Promise<boolean> {
    return docker(host, ["version", "--format", "{{.Server.Version}}"], 15_000).then(() => true, () => false);
}

export async function startDocker(): Promise<DockerEngine> {
    const prefix = `t${randomBytes(3).toString("hex")}`;
    const existing = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
    let own: { child: ChildProcess; dir: string; exited: () => boolean } | undefined;
    let host = existing;
    if (!(await answers(existing))) {
        own = await startDaemon();
        host = `unix://${path.join(own.dir, "docker.sock")}`;
    }
    const sweep = () => removeLabelled(host, prefix);
    const stop = async () => {
        if (!own) return sweep();
        await terminate(own.child, own.exited, 30_000);
        fs.rmSync(own.dir, { recursive: true, force: true });
    };
    try {
        const built = await runProcess("bash", [path.join(repo, "scripts", "test-images.sh")], {
            env: { ...process.env, DOCKER_HOST: host },
            timeoutMs: 15 * 60_000,
        });
        const image = (name: string) => new RegExp(`^${name}=(\\S+)$`, "m").exec(built.stdout)?.[1];
        const broker = image("broker");
        const materialize = image("materialize");
        if (built.code !== 0 || !broker || !materialize) {
            throw new Error(`scripts/test-images.sh failed (exit ${built.code}):\n${built.output}`);
        }
        return { host, images: { broker, materialize }, prefix, stop };
    } catch (err) {
        await stop().catch(() => undefined);
        throw err;
    }
}

async function startDaemon(): Promise<{ child: ChildProcess; dir: string; exited: () => boolean }> {
    const dockerd = ["/usr/sbin/dockerd", "/usr/bin/dockerd"].find(f => fs.existsSync(f));
    if (!dockerd) {
        throw new Error("no Docker daemon answers and there is no dockerd to start: run `bash scripts/test-services.sh` (npm test does), or set DOCKER_HOST");
    }
    // Short: the daemon's sockets live under it, and Unix socket paths are limited to 108 bytes.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jss-docker-"));
    const logFile = path.join(dir, "dockerd.log");
    const out = fs.openSync(logFile, "a");
    let exited = false;
    const child = spawn(dockerd, [
        "--storage-driver=vfs",
        `--data-root=${dir}/data`,
        `--exec-root=${dir}/exec`,
        `--pidfile=${dir}/docker.pid`,
        `--host=unix://${dir}/docker.sock`,
    ], { stdio: ["ignore", out, out] });
    fs.closeSync(out);
    child.on("exit", () => (exited = true));
    const host = `unix://${dir}/docker.sock`;
    const deadline = Date.now() + 60_000;
    for (let attempt = 0; attempt < 240 && Date.now() < deadline; attempt++) {
        if (exited) break;
        if (await answers(host)) return { child, dir, exited: () => exited };
        await sleep(250);
    }
    const tail = tailOf(logFile, 30);
    await terminate(child, () => exited, 10_000);
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`dockerd did not answer on ${host} within 60 s${exited ? " (it exited)" : ""}:\n${tail}`);
}

/** Containers, networks and volumes whose stack label starts with `jaffle-<prefix>`. */
export async function labelled(host: string, prefix: string): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
    const list = async (command: string[], nameField: string) =>
        (await docker(host, [...command, "--filter", `label=${stackLabel}`, "--format", `{{${nameField}}}\t{{.Label "${stackLabel}"}}`]))
            .split("\n")
            .filter(Boolean)
            .map(line => line.split("\t"))
            .filter(([, stack]) => stack.startsWith(`jaffle-${prefix}`))
            .map(([name]) => name)
            .sort();
    return {
        containers: await list(["ps", "-a"], ".Names"),
        networks: await list(["network", "ls"], ".Name"),
        volumes: await list(["volume", "ls"], ".Name"),
    };
}

async function removeLabelled(host: string, prefix: string): Promise<void> {
    const { containers, networks, volumes } = await labelled(host, prefix);
    if (containers.length > 0) await docker(host, ["rm", "-f", "-v", ...containers]);
    if (networks.length > 0) await docker(host, ["network", "rm", ...networks]);
    if (volumes.length > 0) await docker(host, ["volume", "rm", "-f", ...volumes]);
}
