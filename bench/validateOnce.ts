import { validateSeeds } from "../producer/seeds";

/** The benchmark's validation child: checks every row of the seed files in the directory given, as `pulumi preview` does. */
function main(): void {
    const started = performance.now();
    const rows = validateSeeds(process.argv[2]);
    console.log(JSON.stringify({ rows, elapsedMs: performance.now() - started }));
}

main();
