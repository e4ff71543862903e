// One embedded S3 and one DynamoDB Local for the whole test run, on free ports. Tests create
// their own buckets and tables with unique names, so they never see each other's data.
// Also the one synthesis of the real Lakeport app per run (test/support/lakeport-env.ts
// deploys it): started in the background, cached across runs in node_modules/.cache (skipped
// when infra/, lambdas/ and the lock file did not change), waited for only by the tests that
// deploy it.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { javaAvailable, startDynamoDbServer } from "../../local/dynamodb/server";
import { PROJECT_ROOT, synthesizeLakeport } from "../../local/lakeport-assembly";
import { startS3Server } from "../../local/s3/server";

declare module "vitest" {
  export interface ProvidedContext {
    s3Endpoint: string;
    dynamoDbEndpoint: string;
    /** Cloud assembly of the real Lakeport app (see test/support/lakeport-env.ts). */
    lakeportAssemblyDir: string;
    /** When this run started (ms): an assembly checked after it needs no new check. */
    testRunStartedAt: number;
  }
}

export const JAVA_MISSING =
  "Java is missing: the test suite runs AWS's DynamoDB Local, which needs Java 11+ (apt-get install openjdk-17-jre-headless)";

/** Where the test runs keep the synthesized app between runs. */
export const TEST_ASSEMBLY_DIR =
  process.env.LAKEPORT_TEST_ASSEMBLY_DIR ??
  path.join(PROJECT_ROOT, "node_modules/.cache/lakeport/test-assembly");

/**
 * Test files named on the command line (`vitest run test/unit/x`): the tests that deploy the
 * app synthesize it when they start (once per run, see lakeport-env.ts), so a focused run
 * of other tests does not pay for it. A whole-suite run starts it at once, in the background.
 */
function filtered(): boolean {
  return process.argv.slice(2).some((a) => !a.startsWith("-") && a !== "run" && a !== "watch");
}

export default async function setup(project: TestProject) {
  if (!javaAvailable()) {
    // One line and out: a thrown error would bury the reason under vitest's stack trace.
    console.error(JAVA_MISSING);
    process.exit(1);
  }
  // Background synthesis; lakeport-env.ts waits for it through the directory's lock (and
  // synthesizes itself, showing the error, when it failed).
  const startedAt = Date.now() - 1000;
  const synthesis = filtered()
    ? Promise.resolve()
    : synthesizeLakeport(
        TEST_ASSEMBLY_DIR,
        {},
        {
          log: (m) => console.log(`[lakeport assembly] ${m}`),
        },
      ).then(
        () => undefined,
        (err: Error) => {
          console.error(`[lakeport assembly] ${err.message}`);
        },
      );
  const dir = await mkdtemp(path.join(os.tmpdir(), "lakeport-test-"));
  const [s3, ddb] = await Promise.all([
    startS3Server({ directory: path.join(dir, "s3") }),
    startDynamoDbServer({}),
  ]);
  project.provide("s3Endpoint", s3.endpoint);
  project.provide("dynamoDbEndpoint", ddb.endpoint);
  project.provide("lakeportAssemblyDir", TEST_ASSEMBLY_DIR);
  project.provide("testRunStartedAt", startedAt);
  return async () => {
    await synthesis;
    await Promise.all([s3.stop(), ddb.stop()]);
    await rm(dir, { recursive: true, force: true });
  };
}
