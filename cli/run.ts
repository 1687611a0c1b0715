/** What the command line got wrong: reported with the usage, exit code 2. */
export class UsageError extends Error {}

/**
 * Runs a command's main function: usage errors (including node:util parseArgs' own, which name
 * the flag) print the usage and exit 2, other errors print their message and exit 1.
 */
export function runCli(usage: string, main: () => Promise<void>): void {
    main().then(
        () => undefined,
        (err: Error & { code?: unknown }) => {
            if (err instanceof UsageError || String(err.code).startsWith("ERR_PARSE_ARGS")) {
                process.stderr.write(`error: ${err.message}\n\n${usage}\n`);
                process.exitCode = 2;
            } else {
                process.stderr.write(`error: ${err.message}\n`);
                process.exitCode = 1;
            }
        },
    );
}

/** A whole number flag within bounds, or a UsageError naming the flag. */
export function integerFlag(flag: string, value: string | undefined, bounds: { min: number; max?: number }): number | undefined {
    if (value === undefined) return undefined;
    const number = Number(value);
    const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
    if (!/^\d+$/.test(value.trim()) || number < bounds.min || number > max) {
        throw new UsageError(`--${flag} must be a whole number from ${bounds.min} to ${max}, not "${value}"`);
    }
    return number;
}
