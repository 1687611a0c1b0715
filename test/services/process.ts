import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";

/**
 * Runs a command to completion and resolves (never rejects) with its exit code and combined
 * output, so service start-up can report exactly what a tool said; killed after timeoutMs.
 */
export function runProcess(
    command: string,
    args: string[],
    options: { cwd?: string; timeoutMs: number },
): Promise<{ code: number | null; output: string }> {
    return new Promise(resolve => {
        let output = "";
        const proc = spawn(command, args, { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
        const timer = setTimeout(() => {
            output += `\n(timed out after ${options.timeoutMs} ms)`;
            proc.kill("SIGKILL");
        }, options.timeoutMs);
        proc.stdout.on("data", d => (output += d));
        proc.stderr.on("data", d => (output += d));
        proc.on("error", err => {
            clearTimeout(timer);
            resolve({ code: null, output: `could not run ${command}: ${err.message}` });
        });
        proc.on("close", code => {
            clearTimeout(timer);
            resolve({ code, output: output.trim() });
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

/** The last lines of a service's log, for an error message. */
export function tailOf(file: string, lines: number): string {
    try {
        const text = fs.readFileSync(file, "utf8");
        return text.split("\n").slice(-lines - 1).join("\n") || "(empty)";
    } catch (err) {
        return `(no log: ${err instanceof Error ? err.message : String(err)})`;
    }
}
