/**
 * Checks a locally bridged provider's generated schema against the published Node.js SDK that
 * talks to it: the SDK is pre-generated, so every resource token, input property and nested input
 * type it sends must exist in the schema under the same name.
 *
 *   tsx providers/check-schema.ts <schema.json> <node_modules/@pulumi/NAME> [native token ...]
 *
 * Tokens named after the SDK directory are the SDK's native (not bridged) resources, which the
 * bridge does not have. Exits 1, listing every mismatch, when the two disagree.
 */
import * as fs from "node:fs";
import * as path from "node:path";

interface Schema {
    name: string;
    resources: Record<string, { inputProperties?: Record<string, unknown> }>;
    types: Record<string, { properties?: Record<string, unknown> }>;
}

/** Property names of `export interface <name> { ... }` in a .d.ts file. */
function interfaceProperties(source: string, name: string): string[] | undefined {
    const start = source.indexOf(`export interface ${name} {`);
    if (start < 0) return undefined;
    const body = source.slice(start, source.indexOf("\n}", start));
    return [...body.matchAll(/^ {4}(\w+)\??:/gm)].map(m => m[1]);
}

function main(schemaFile: string, sdkDir: string, nativeTokens: string[]): string[] {
    const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8")) as Schema;
    const problems: string[] = [];
    let checked = 0;

    for (const file of fs.readdirSync(sdkDir).filter(f => f.endsWith(".js"))) {
        const token = /__pulumiType = '([^']+:[^']+:[^']+)'/.exec(fs.readFileSync(path.join(sdkDir, file), "utf8"))?.[1];
        if (!token || nativeTokens.includes(token)) continue;
        const resource = schema.resources[token];
        if (!resource) {
            problems.push(`resource ${token} (SDK ${file}) is not in the schema`);
            continue;
        }
        const className = token.split(":")[2];
        const declared = interfaceProperties(fs.readFileSync(path.join(sdkDir, file.replace(/\.js$/, ".d.ts")), "utf8"), `${className}Args`) ?? [];
        for (const property of declared) {
            if (!(property in (resource.inputProperties ?? {}))) problems.push(`${token}: input "${property}" is not in the schema`);
        }
        checked++;
    }

    const inputTypes = fs.readFileSync(path.join(sdkDir, "types", "input.d.ts"), "utf8");
    for (const [token, type] of Object.entries(schema.types)) {
        const typeName = token.split(":")[2];
        const declared = interfaceProperties(inputTypes, typeName);
        if (!declared) continue;
        for (const property of declared) {
            if (!(property in (type.properties ?? {}))) problems.push(`type ${token}: property "${property}" is not in the schema`);
        }
        checked++;
    }
    if (checked === 0) problems.push(`no SDK resource or type of ${sdkDir} was found in ${schemaFile}`);
    return problems;
}

const [schemaFile, sdkDir, ...nativeTokens] = process.argv.slice(2);
if (!schemaFile || !sdkDir) {
    console.error("usage: tsx providers/check-schema.ts <schema.json> <sdk dir> [native token ...]");
    process.exit(2);
}
const problems = main(schemaFile, sdkDir, nativeTokens);
if (problems.length > 0) {
    console.error(`${schemaFile} does not match the SDK in ${sdkDir}:\n  ${problems.join("\n  ")}`);
    process.exit(1);
}
console.error(`${path.basename(sdkDir)}: the generated schema has every token and property the SDK uses`);
