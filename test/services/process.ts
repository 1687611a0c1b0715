import { spawn } from "node:child_process";

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
