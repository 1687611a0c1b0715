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

/**
 * Ports below the kernel's ephemeral range: a port picked inside it can be taken, between the
 * pick and the bind, by any outgoing connection or listen(0) on the machine (the engine's plugins,
 * Kafka clients), which is how a stack's portBase was once found "in use" by the test itself.
 */
function unclaimedPortRange(): { low: number; high: number } {
    const low = 10_000;
    let ephemeralLow = 32_768;
    try {
        ephemeralLow = Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || ephemeralLow;
    } catch {
        // Not Linux: keep the IANA/Linux default.
    }
    if (ephemeralLow - low < 1_000) throw new Error(`the ephemeral port range starts at ${ephemeralLow}: too few ports below it for test services`);
    return { low, high: ephemeralLow };
}

/** Ports handed out by this process, so two picks made before either is bound never collide. */
const handedOut = new Set<number>();

function isFree(port: number): Promise<boolean> {
    return new Promise<boolean>(resolve => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
}

/** A base port with `count` consecutive free ports on 127.0.0.1 (a stack's portBase), tried at random. */
export async function freePortBlock(count: number): Promise<number> {
    const { low, high } = unclaimedPortRange();
    for (let attempt = 0; attempt < 200; attempt++) {
        const base = low + Math.floor(Math.random() * (high - low - count));
        const block = Array.from({ length: count }, (_, i) => base + i);
        if (block.some(port => handedOut.has(port))) continue;
        let free = true;
        for (const port of block) if (!(free = await isFree(port))) break;
        if (!free) continue;
        for (const port of block) handedOut.add(port);
        return base;
    }
    throw new Error(`no ${count} consecutive free ports found on 127.0.0.1 in ${low}-${high - 1} in 200 tries`);
}

/** Distinct free TCP ports on 127.0.0.1, outside the ephemeral range. */
export async function freePorts(count: number): Promise<number[]> {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freePortBlock(1));
    return ports;
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

