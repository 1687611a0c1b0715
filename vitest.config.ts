import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        globalSetup: ["test/global-setup.ts"],
        testTimeout: 120_000,
        hookTimeout: 300_000,
        // Pulumi's runtime keeps per-process state (mocks, stack), so every file gets its own process.
        pool: "forks",
        reporters: ["default"],
    },
});
