import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const repo = path.join(__dirname, "..", "..");

/** A command of cli running as a child process, as a user runs it, with its output so far. */
export interface CliRun {
    child: ChildProcessWithoutNullStreams;
    readonly stdout: string;
    readonly stderr: string;
    /** Resolves once `pattern` appears on the stream; throws if the command exits first or timeoutMs pass. */
    waitFor(stream: "stdout" | "stderr", pattern: string | RegExp, timeoutMs?: number): Promise<void>;
    /** Its exit code; kills it and throws if it runs longer than timeoutMs. */
    exitCode(timeoutMs: number): Promise<number>;
}

/** `npm run <command> -- ARGS`: cli/<command>.ts under tsx. */
export function startCli(command: string, args: string[]): CliRun {
    const child = spawn(process.execPath, ["--import", "tsx", `cli/${command}.ts`, ...args], { cwd: repo, stdio: "pipe" });
    child.stdin.end();
    const output = { stdout: "", stderr: "" };
    child.stdout.on("data", d => (output.stdout += d));
    child.stderr.on("data", d => (output.stderr += d));
    const exited = new Promise<number | null>(resolve => child.on("exit", code => resolve(code)));
    const matches = (text: string, pattern: string | RegExp) => (typeof pattern === "string" ? text.includes(pattern) : pattern.test(text));
    return {
        child,
        get stdout() {
            return output.stdout;
        },
        get stderr() {
            return output.stderr;
        },
        waitFor: async (stream, pattern, timeoutMs = 30_000) => {
            const deadline = Date.now() + timeoutMs;
            while (!matches(output[stream], pattern)) {
                if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
                    const why = Date.now() > deadline ? `not within ${timeoutMs / 1000} s` : `it exited (${child.exitCode ?? child.signalCode}) first`;
                    throw new Error(`${command}: no ${pattern} on ${stream}, ${why}\n--- stdout ---\n${output.stdout}\n--- stderr ---\n${output.stderr}`);
                }
                await sleep(100);
            }
        },
        exitCode: async timeoutMs => {
            const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
            try {
                const code = await exited;
                if (code === null) throw new Error(`${command} ran longer than ${timeoutMs / 1000} s\n--- stderr ---\n${output.stderr}`);
                return code;
            } finally {
                clearTimeout(timer);
            }
        },
    };
}
