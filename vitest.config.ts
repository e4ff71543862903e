import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/file-tmpdir.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // A worker process runs file after file with its modules loaded once (the AWS SDK, CDK,
    // the local cloud): importing them again for every file cost some 3 s of CPU a file.
    // Each file still gets its own servers, TMPDIR and lakeFS; state that outlives a file in
    // the process (the Lambdas' logger level, the credentials cache, CDK's bundle step) is
    // either keyed by what it was made for or reset by the test that needs it.
    isolate: false,
    // Three test files at a time on two cores (Vitest's default is cores - 1): a file's CPU
    // comes in bursts (a deployment, an export, a GC run) between waits on its servers, and a
    // third file fills the gaps. Measured on two cores, whole suite: 2 files 14 min 29 s,
    // 3 files 13 min 17 s, 4 files 13 min 7 s, the same CPU time (about 25 min) in each.
    maxWorkers: 3,
    env: {
      // Node 20 is what these machines have; the SDK's notice about Node 22 is known.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      // Code run in the test process (API handlers, steps, retries) logs nothing unless asked
      // (POWERTOOLS_LOG_LEVEL=INFO npx vitest ...); deployed functions keep their LOG_LEVEL.
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? "SILENT",
    },
  },
});
