import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { cacheDir } from "../lib/cacheDir";
import { KAFKA_VERSION, kafkaLibsDir } from "../testkit/services/kafka";
import { runProcess } from "../testkit/services/process";

const repo = path.resolve(__dirname, "..");

/** Every shell script in the repository: tracked files named *.sh, .ci/run, and the test images' programs. */
function shellScripts(): string[] {
    const tracked = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: repo, encoding: "utf8" })
        .split("\n")
        .filter(Boolean);
    return tracked.filter(file => file.endsWith(".sh") || file === ".ci/run" || /^test\/images\/[^/]+\/rootfs\/usr\/local\/bin\//.test(file));
}

describe("shell scripts", () => {
    it("pass ShellCheck", async () => {
        const scripts = shellScripts();
        expect(scripts).toEqual(expect.arrayContaining(["scripts/pulumi-engine.sh", "scripts/test.sh", ".ci/run"]));
        const result = await runProcess("shellcheck", ["--severity=info", ...scripts], { cwd: repo, timeoutMs: 60_000 });
        expect(result.output, `shellcheck ${scripts.join(" ")}`).toBe("");
        expect(result.code).toBe(0);
    });
});

describe("scripts/common.sh", () => {
    /** What the scripts compute, for this environment. */
    function scriptValues(env: Record<string, string | undefined>): Record<string, string> {
        const output = execFileSync("bash", ["-c", 'source scripts/common.sh && printf "%s\\n" "$jss_cache_dir" "$kafka_version" "$kafka_libs"'], {
            cwd: repo,
            env: Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined)),
            encoding: "utf8",
        });
        const [cache, version, libs] = output.split("\n");
        return { cache, version, libs };
    }

    it.each([
        {},
        { HOME: "/home/dev" },
        { HOME: "/home/dev", XDG_CACHE_HOME: "/var/cache/dev" },
        { HOME: "/home/dev", XDG_CACHE_HOME: "/var/cache/dev", JSS_CACHE_DIR: "/srv/jss" },
    ])("agrees with the TypeScript side on the cache directory and the Kafka jars: %j", env => {
        const values = scriptValues({ PATH: process.env.PATH, ...env });
        expect(values.cache).toBe(cacheDir(env));
        expect(values.version).toBe(KAFKA_VERSION);
        expect(values.libs).toBe(kafkaLibsDir(env));
    });
});
