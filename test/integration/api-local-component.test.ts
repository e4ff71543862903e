// The API as a `npm run local` component: creates its table, serves with a token kept across
// restarts.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { expect, inject, test } from "vitest";
import { apiComponent, LOCAL_TABLE_NAME } from "../../local/api/component";
import { testDynamoDbClient } from "../support/clients";

test("starts, creates the state table, keeps its tokens across restarts", async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "lakeport-api-component-"));
  const ctx = {
    dataDir,
    port: 0,
    endpoints: {
      region: "us-east-1",
      accessKeyId: "local",
      secretAccessKey: "local",
      dynamodb: inject("dynamoDbEndpoint"),
    },
    log: () => {},
  };
  try {
    const first = await apiComponent.start(ctx);
    const { api, apiToken, webhookToken } = first.endpoints;
    expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(webhookToken).toBeTruthy();
    const doc = await fetch(`${api}/api/v1/openapi.json`, {
      headers: { authorization: `Bearer ${apiToken}` },
    });
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe("3.1.0");
    expect((await fetch(`${api}/api/v1/openapi.json`)).status).toBe(401);
    const table = await testDynamoDbClient().send(
      new DescribeTableCommand({ TableName: LOCAL_TABLE_NAME }),
    );
    expect(table.Table?.TableStatus).toBe("ACTIVE");
    await first.stop();
    const second = await apiComponent.start(ctx);
    expect(second.endpoints.apiToken).toBe(apiToken);
    await second.stop();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
