import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
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
