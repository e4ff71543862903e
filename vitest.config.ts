import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Two test files at a time: Vitest's default on two cores is one (cores - 1), and most of a
    // file's time is spent waiting on its servers (S3, DynamoDB, lakeFS, the state machines).
    maxWorkers: 2,
    env: {
      // Node 20 is what these machines have; the SDK's notice about Node 22 is known.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      // Code run in the test process (API handlers, steps, retries) logs nothing unless asked
      // (POWERTOOLS_LOG_LEVEL=INFO npx vitest ...); deployed functions keep their LOG_LEVEL.
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? "SILENT",
    },
  },
});
