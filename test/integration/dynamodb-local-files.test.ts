// The embedded DynamoDB Local writes nothing into the directory it is started from (the
// project) nor into its data directory: with telemetry off it writes no
// dynamodb-local-metadata.json (an installation id, "telemetryEnabled": "true" otherwise).
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { expect, test } from "vitest";
import { createDynamoDbClient } from "../../lambdas/shared/aws/clients";
import { startDynamoDbServer } from "../../local/dynamodb/server";

test("DynamoDB Local runs with telemetry off and writes no metadata file", async () => {
  const metadata = path.join(process.cwd(), "dynamodb-local-metadata.json");
  expect(existsSync(metadata)).toBe(false);
  const dir = await mkdtemp(path.join(os.tmpdir(), "lakeport-ddb-files-"));
  for (const directory of [undefined, dir]) {
    const server = await startDynamoDbServer(directory ? { directory } : {});
    try {
      const ddb = createDynamoDbClient({
        endpoint: server.endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
      });
      await ddb.send(new ListTablesCommand({}));
    } finally {
      await server.stop();
    }
    expect(existsSync(metadata), `started with ${directory ?? "no directory"}`).toBe(false);
  }
  // With telemetry off it keeps no installation id, in its data directory either.
  expect(await readdir(dir)).not.toContain("dynamodb-local-metadata.json");
  await rm(dir, { recursive: true, force: true });
});
