import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const repo = path.resolve(__dirname, "..");

/**
 * The layers, bottom up: lib/ (the shared vocabulary: datasets, Kafka settings, SQL) under
 * producer/ (what writes events and rows), watch/ (what reads the failure views) and components/
 * (the Pulumi components); the commands in cli/ over producer/ and watch/, index.ts over
 * components/. Test kit, benchmark and tests sit on top. A dynamic provider loads its producer
 * code by path at run time (a serialized closure cannot import it), which is not an import.
 */
const allowed: Record<string, string[]> = {
    lib: ["lib"],
    producer: ["lib", "producer"],
    watch: ["lib", "watch"],
    cli: ["lib", "producer", "watch", "cli"],
    components: ["lib", "components"],
    "index.ts": ["lib", "components", "producer"],
    scripts: ["lib", "scripts"],
    providers: ["providers"],
    testkit: ["lib", "producer", "testkit"],
    bench: ["lib", "producer", "cli", "testkit", "bench"],
    test: ["lib", "producer", "watch", "cli", "components", "testkit", "test", "scripts", "index.ts"],
};

function layerOf(file: string): string {
    return file.split(path.sep)[0];
}

/** Relative static imports (`import ... from "./x"`, `export ... from "../y"`) of every tracked TypeScript file. */
function importEdges(): { from: string; to: string }[] {
    const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts"], { cwd: repo, encoding: "utf8" })
        .split("\n")
        .filter(file => file && fs.existsSync(path.join(repo, file)) && !file.startsWith("node_modules/"));
    return files.flatMap(file => {
        const source = fs.readFileSync(path.join(repo, file), "utf8");
        return [...source.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+"(\.{1,2}\/[^"]+)"/gm)].map(([, target]) => ({
            from: file,
            to: path.relative(repo, path.resolve(repo, path.dirname(file), target)),
        }));
    });
}

describe("the import graph", () => {
    it("points only down the layers", () => {
        const edges = importEdges();
        expect(edges.length).toBeGreaterThan(100);
        const upward = edges
            .filter(({ from, to }) => layerOf(from) in allowed && !allowed[layerOf(from)].includes(layerOf(to)))
            .map(({ from, to }) => `${from} -> ${to}`);
        expect(upward).toEqual([]);
    });

    it("knows every layer", () => {
        const unknown = [...new Set(importEdges().map(({ from }) => layerOf(from)))].filter(layer => !(layer in allowed));
        expect(unknown).toEqual([]);
    });
});
