/**
 * What a copy of the Pulumi program needs to run elsewhere (the engine tests, the preview
 * benchmark): the project files and everything the program reads at run time.
 */
export const programFiles = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "components", "lib", "producer", "sql", "seeds"];
