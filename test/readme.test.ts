import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { configReference } from "../scripts/config-reference";

describe("README", () => {
    it("carries the configuration reference generated from lib/config.ts", () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
        expect(readme).toContain(configReference());
    });
});
