import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { withTimeout } from "../../producer/send";

/**
 * Runs a command to completion and resolves (never rejects) with its exit code and combined
 * output, so service start-up can report exactly what a tool said; killed after timeoutMs.
 */
export function runProcess(
    command: string,
    args: string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number; input?: string },
): Promise<{ code: number | null; output: string; stdout: string }> {
    return new Promise(resolve => {
        let output = "";
        let stdout = "";
        const proc = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
        proc.stdin?.end(options.input);
        const timer = setTimeout(() => {
            output += `\n(timed out after ${options.timeoutMs} ms)`;
            proc.kill("SIGKILL");
        }, options.timeoutMs);
        proc.stdout!.on("data", d => {
            output += d;
            stdout += d;
        });
        proc.stderr!.on("data", d => (output += d));
        proc.on("error", err => {
            clearTimeout(timer);
            resolve({ code: null, output: `could not run ${command}: ${err.message}`, stdout });
        });
        proc.on("close", code => {
            clearTimeout(timer);
            resolve({ code, output: output.trim(), stdout });
        });
    });
}

/** Distinct free TCP ports on 127.0.0.1 (held open together, so they differ, then released). */
export async function freePorts(count: number): Promise<number[]> {
    const servers: net.Server[] = [];
    try {
        const ports: number[] = [];
        for (let i = 0; i < count; i++) {
            const server = net.createServer();
            servers.push(server);
            await new Promise<void>((resolve, reject) => {
                server.once("error", reject);
                server.listen(0, "127.0.0.1", () => resolve());
            });
            ports.push((server.address() as net.AddressInfo).port);
        }
        return ports;
    } finally {
        await Promise.all(servers.map(s => new Promise<void>(resolve => s.close(() => resolve()))));
    }
}

/** A base port with `count` consecutive free ports on 127.0.0.1 (a stack's portBase), tried at random. */
export async function freePortBlock(count: number): Promise<number> {
    const isFree = (port: number) =>
        new Promise<boolean>(resolve => {
            const server = net.createServer();
            server.once("error", () => resolve(false));
            server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
        });
    for (let attempt = 0; attempt < 200; attempt++) {
        const base = 20_000 + Math.floor(Math.random() * 30_000);
        let free = true;
        for (let port = base; port < base + count && free; port++) free = await isFree(port);
        if (free) return base;
    }
    throw new Error(`no ${count} consecutive free ports found on 127.0.0.1 in 200 tries`);
}

/** The last lines of a service's log, for an error message. */
export function tailOf(file: string, lines: number): string {
    try {
        const text = fs.readFileSync(file, "utf8");
        return text.split("\n").slice(-lines - 1).join("\n") || "(empty)";
    } catch (err) {
        return `(no log: ${err instanceof Error ? err.message : String(err)})`;
    }
}

/** Stops a child process: SIGTERM, then SIGKILL after graceMs. */
export async function terminate(child: ChildProcess | undefined, hasExited: () => boolean, graceMs: number): Promise<void> {
    if (!child || child.pid === undefined || hasExited()) return;
    const exit = new Promise<void>(resolve => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const graceful = await withTimeout(exit, graceMs, `no exit within ${graceMs} ms`).then(
        () => true,
        () => false,
    );
    if (!graceful && !hasExited()) {
        child.kill("SIGKILL");
        await withTimeout(exit, 5_000, "no exit within 5000 ms after SIGKILL").catch(() => undefined);
    }
}

