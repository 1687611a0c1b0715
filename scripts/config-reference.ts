/**
 * Prints the README's configuration reference from the one declaration of the config keys
 * (lib/config.ts), so the two cannot drift: `tsx scripts/config-reference.ts`.
 */
import { configKeys } from "../lib/config";

export function configReference(): string {
    const rows = Object.entries(configKeys).map(([key, spec]) => {
        const range = "range" in spec ? ` ${spec.range[0]}-${spec.range[1]}` : "";
        const kind = { secret: "secret string", hostPorts: "host:port list" }[spec.kind as string] ?? `${spec.kind}${range}`;
        const modes = spec.modes.length === 2 ? "both" : spec.modes[0];
        const choices = "choices" in spec ? ` (${spec.choices.join(" / ")})` : "";
        return `| \`${key}\` | ${kind}${choices} | ${modes} | ${spec.description} |`;
    });
    return ["| key | type | mode | meaning |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

if (require.main === module) {
    console.log(configReference());
}
