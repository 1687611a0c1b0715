import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "pg";
import { quoteIdent } from "../../lib/quote";
import { freePorts, runProcess, tailOf } from "./process";

/**
 * A throwaway PostgreSQL cluster on loopback for the tests: initdb in a temporary directory, trust
 * authentication for local connections only, a free 127.0.0.1 port, the Unix socket in the same
 * directory. The server binaries come from the distribution (scripts/test-services.sh installs
 * them). PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` OS user.
 */
export interface PostgresServer {
    /** postgres://USER@127.0.0.1:PORT/DATABASE (no password: trust auth on loopback). */
    url: string;
    host: "127.0.0.1";
    port: number;
    user: string;
    database: string;
    /**
     * Stops the server the way an administrator would (pg_ctl stop -m fast: clients are disconnected
     * with an error), then starts it again on the same port with the same data.
     */
    restart(): Promise<void>;
    /**
     * Freezes the server and every backend (SIGSTOP to the postmaster and its children), as a
     * host that stops answering; resume() thaws them. Connections stay open, unanswered.
     */
    pause(): void;
    resume(): void;
    stop(): Promise<void>;
}

export interface StartPostgresOptions {
    /** The database created for the tests. Default "jaffle". */
    database?: string;
    /** The server's bin directory (initdb, pg_ctl). Default: $JSS_PG_BINDIR, else the newest /usr/lib/postgresql/N/bin. */
    binDir?: string;
    /** How long start-up may take. Default 60 s. */
    timeoutMs?: number;
    /** Extra server settings for postgresql.conf, e.g. { wal_level: "logical" }. Default none. */
    settings?: Record<string, string>;
}

const USER = "postgres";
const OS_USER = "postgres"; // who owns and runs the cluster when we are root

/** A PostgreSQL server the tests use but did not start; stop() leaves it running. */
export type SuppliedPostgres = Pick<PostgresServer, "url" | "stop">;

/**
 * A PostgreSQL server that already runs on loopback (e.g. a developer's, JSS_TEST_POSTGRES_URL),
 * as a user that may create databases; checked by a query within `timeoutMs`. Only 127.0.0.1
 * is accepted, so the tests never dial another machine.
 */
export async function suppliedPostgres(url: string, timeoutMs = 15_000): Promise<SuppliedPostgres> {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        throw new Error(`PostgreSQL URL "${url}" is not a URL, e.g. postgres://postgres@127.0.0.1:5432/jaffle`);
    }
    if (parsed.hostname !== "127.0.0.1") throw new Error(`PostgreSQL URL: the tests only dial 127.0.0.1, not "${parsed.hostname}"`);
    // libpq-style parameters that would send the client elsewhere.
    const redirect = ["host", "hostaddr"].find(parameter => parsed.searchParams.has(parameter));
    if (redirect) throw new Error(`PostgreSQL URL: the tests only dial 127.0.0.1; leave out "${redirect}=" from the URL`);
    const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
    try {
        await client.connect();
        const { rows: [role] } = await client.query("select rolcreatedb or rolsuper as may_create from pg_roles where rolname = current_user");
        if (!role?.may_create) throw new Error(`user "${decodeURIComponent(parsed.username)}" may not create databases (the tests create their own)`);
    } catch (err) {
        throw new Error(`PostgreSQL at ${new URL(url).host} (supplied): ${(err as Error).message}`);
    } finally {
        await client.end().catch(() => undefined);
    }
    return { url, stop: async () => undefined };
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresServer> {
    const binDir = opts.binDir ?? findBinDir();
    const database = opts.database ?? "jaffle";
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    const asRoot = process.getuid?.() === 0;

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jss-pg-"));
    const dataDir = path.join(dir, "data");
    const logFile = path.join(dir, "postgres.log");
    const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });

    if (asRoot) {
        let uid: number, gid: number;
        try {
            uid = Number(execFileSync("id", ["-u", OS_USER], { encoding: "utf8" }).trim());
            gid = Number(execFileSync("id", ["-g", OS_USER], { encoding: "utf8" }).trim());
        } catch {
            removeDir();
            throw new Error(
                `PostgreSQL: running as root, but there is no '${OS_USER}' OS user to own the cluster ` +
                    "(PostgreSQL refuses to run as root; the Debian postgresql package creates that user).",
            );
        }
        fs.chownSync(dir, uid, gid);
    }
    fs.chmodSync(dir, 0o700);

    /** Runs a server binary, as the postgres OS user when we are root. */
    const command = (bin: string, args: string[]): [string, string[]] =>
        asRoot ? ["runuser", ["-u", OS_USER, "--", path.join(binDir, bin), ...args]] : [path.join(binDir, bin), args];
    const pgCtl = (args: string[]) => command("pg_ctl", ["-D", dataDir, ...args]);

    let started = false;
    const stopNowSync = () => {
        if (started) {
            const [cmd, args] = pgCtl(["stop", "-m", "immediate", "-w", "-t", "30"]);
            spawnSync(cmd, args, { cwd: dir, stdio: "ignore", timeout: 30_000 });
            started = false;
        }
    };
    // If the test process goes away without stop(), take the cluster with it.
    const onExit = () => {
        stopNowSync();
        removeDir();
    };
    process.once("exit", onExit);

    /** Stops the cluster if it runs and removes every trace of it. */
    const teardown = async () => {
        if (started) {
            const [cmd, args] = pgCtl(["stop", "-m", "immediate", "-w", "-t", "30"]);
            await runProcess(cmd, args, { cwd: dir, timeoutMs: 35_000 });
            started = false;
        }
        process.removeListener("exit", onExit);
        removeDir();
    };

    const fail = async (message: string, cause?: unknown): Promise<never> => {
        const tail = tailOf(logFile, 40);
        await teardown();
        const why = cause instanceof Error ? `: ${cause.message}` : cause ? `: ${String(cause)}` : "";
        throw new Error(`PostgreSQL (${binDir}): ${message}${why}\n--- tail of ${logFile} ---\n${tail}`);
    };

    try {
        const [initCmd, initArgs] = command("initdb", [
            "-D", dataDir,
            "-U", USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        ]);
        const init = await runProcess(initCmd, initArgs, { cwd: dir, timeoutMs: Math.max(deadline - Date.now(), 1_000) });
        if (init.code !== 0) return await fail(`initdb failed (exit ${init.code}):\n${init.output}`);

        // Trust, but only on the Unix socket (in our private directory) and loopback.
        fs.writeFileSync(
            path.join(dataDir, "pg_hba.conf"),
            ["local all all trust", "host all all 127.0.0.1/32 trust", "host all all ::1/128 trust", ""].join("\n"),
        );
        fs.appendFileSync(
            path.join(dataDir, "postgresql.conf"),
            [
                "",
                "# jaffle-shop-streaming tests: a throwaway cluster on loopback",
                "listen_addresses = '127.0.0.1'",
                `unix_socket_directories = '${dir}'`,
                "max_connections = 200",
                "fsync = off",
                "synchronous_commit = off",
                "full_page_writes = off",
                "timezone = 'UTC'",
                ...Object.entries(opts.settings ?? {}).map(([key, value]) => `${key} = '${value.replace(/'/g, "''")}'`),
                "",
            ].join("\n"),
        );

        // The port is free when picked but could be taken before the server binds it: retry.
        let port = 0;
        for (let attempt = 1; ; attempt++) {
            [port] = await freePorts(1);
            const [cmd, args] = pgCtl(["-l", logFile, "-o", `-p ${port}`, "-w", "-t", String(Math.max(Math.ceil((deadline - Date.now()) / 1000), 5)), "start"]);
            const start = await runProcess(cmd, args, { cwd: dir, timeoutMs: Math.max(deadline - Date.now(), 5_000) + 5_000 });
            if (start.code === 0) {
                started = true;
                break;
            }
            const portTaken = /could not bind|Address already in use/i.test(tailOf(logFile, 20));
            if (!portTaken || attempt >= 3 || Date.now() > deadline) {
                return await fail(`pg_ctl start failed (exit ${start.code}):\n${start.output}`);
            }
        }

        // Ready: a TCP connection on 127.0.0.1 answers a query. Then the tests' database.
        let lastError: unknown;
        for (;;) {
            const client = new Client({ host: "127.0.0.1", port, user: USER, database: "postgres", connectionTimeoutMillis: 2_000 });
            try {
                await client.connect();
                await client.query("select 1");
                await client.query(`create database ${quoteIdent(database)}`);
                break;
            } catch (err) {
                lastError = err;
                if (Date.now() > deadline) return await fail(`not ready on 127.0.0.1:${port} within ${timeoutMs / 1000} s`, lastError);
                await sleep(200);
            } finally {
                await client.end().catch(() => undefined);
            }
        }

        const restart = async () => {
            const [stopCmd, stopArgs] = pgCtl(["stop", "-m", "fast", "-w", "-t", "30"]);
            const down = await runProcess(stopCmd, stopArgs, { cwd: dir, timeoutMs: 35_000 });
            if (down.code !== 0) throw new Error(`PostgreSQL: pg_ctl stop for a restart failed (exit ${down.code}):\n${down.output}`);
            started = false;
            const [startCmd, startArgs] = pgCtl(["-l", logFile, "-o", `-p ${port}`, "-w", "-t", "60", "start"]);
            const up = await runProcess(startCmd, startArgs, { cwd: dir, timeoutMs: 65_000 });
            if (up.code !== 0) {
                throw new Error(`PostgreSQL: pg_ctl start after a restart failed (exit ${up.code}):\n${up.output}\n` +
                    `--- tail of ${logFile} ---\n${tailOf(logFile, 20)}`);
            }
            started = true;
        };

        /** The postmaster (first line of postmaster.pid) and its children, as they are now. */
        const serverProcesses = (): number[] => {
            const postmaster = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
            const children = spawnSync("pgrep", ["-P", String(postmaster)], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).map(Number);
            return [postmaster, ...children];
        };
        const signal = (name: NodeJS.Signals) => {
            for (const pid of serverProcesses()) process.kill(pid, name);
        };

        let stopped: Promise<void> | undefined;
        return {
            url: `postgres://${encodeURIComponent(USER)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
            host: "127.0.0.1",
            port,
            user: USER,
            database,
            restart,
            // The postmaster first: stopped, it forks no child the list would miss.
            pause: () => signal("SIGSTOP"),
            resume: () => signal("SIGCONT"),
            stop: () => (stopped ??= teardown()),
        };
    } catch (err) {
        if (err instanceof Error && err.message.startsWith("PostgreSQL (")) throw err;
        return await fail("failed to start", err);
    }
}

function findBinDir(): string {
    const fromEnv = process.env.JSS_PG_BINDIR;
    if (fromEnv) return fromEnv;
    const root = "/usr/lib/postgresql";
    const versions = fs.existsSync(root)
        ? fs
              .readdirSync(root)
              .filter(v => fs.existsSync(path.join(root, v, "bin", "initdb")) && fs.existsSync(path.join(root, v, "bin", "pg_ctl")))
              .sort((a, b) => Number(b) - Number(a))
        : [];
    if (versions.length === 0) {
        throw new Error(
            "PostgreSQL: no server binaries (/usr/lib/postgresql/*/bin/initdb). " +
                "Run `bash scripts/test-services.sh` first (npm test does), or set JSS_PG_BINDIR.",
        );
    }
    return path.join(root, versions[0], "bin");
}

