// The API as a `npm run local` component: creates its table, serves the template's API
// Gateway (SigV4 with the environment's credentials), keeps its webhook token across restarts.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { expect, inject, test } from "vitest";
import { apiComponent, LOCAL_TABLE_NAME } from "../../local/api/component";
import { testDynamoDbClient } from "../support/clients";
import { lakeportTemplateDir } from "../support/lakeport-env";
import { signedFetch } from "../support/signed-fetch";

test("starts, creates the state table, keeps its webhook token across restarts", async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "lakeport-api-component-"));
  const credentials = { accessKeyId: "AKIDLOCALCOMPONENT", secretAccessKey: "component-secret" };
  const ctx = {
    dataDir,
    port: 0,
    endpoints: { region: "us-east-1", ...credentials, dynamodb: inject("dynamoDbEndpoint") },
    log: () => {},
  };
  const component = apiComponent(await lakeportTemplateDir());
  try {
    const first = await component.start(ctx);
    const { api, webhookToken } = first.endpoints;
    expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(webhookToken).toBeTruthy();
    // Signed with the environment's credentials: served.
    const doc = await signedFetch(`${api}/api/v1/openapi.json`, { credentials });
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe("3.1.0");
    // Unsigned, or signed with other credentials: API Gateway's 403s.
    const unsigned = await fetch(`${api}/api/v1/openapi.json`);
    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toEqual({ message: "Missing Authentication Token" });
    const other = await signedFetch(`${api}/api/v1/openapi.json`);
    expect(other.status).toBe(403);
    expect(await other.json()).toEqual({
      message: "The security token included in the request is invalid.",
    });
    const table = await testDynamoDbClient().send(
      new DescribeTableCommand({ TableName: LOCAL_TABLE_NAME }),
    );
    expect(table.Table?.TableStatus).toBe("ACTIVE");
    await first.stop();
    const second = await component.start(ctx);
    expect(second.endpoints.webhookToken).toBe(webhookToken);
    await second.stop();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
