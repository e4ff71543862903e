// DynamoDB calls whose answer never comes, against DynamoDB Local behind a proxy that loses
// answers: a silent connection fails after the client's timeout and the call is sent again;
// a webhook delivery whose claim was written but whose answer was lost is still published.
import { randomUUID } from "node:crypto";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { NodeHttpHandler } from "@smithy/node-http-handler";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { deliveryKey } from "../../lambdas/api/handlers/webhook";
import { createDynamoDbClient, DYNAMODB_TIMEOUTS } from "../../lambdas/shared/aws/clients";
import { documentClient } from "../../lambdas/shared/dynamodb/document-client";
import { keys } from "../../lambdas/shared/dynamodb/table";
import { createStateTable } from "../../local/dynamodb/create-table";
import { type AnswerLosingProxy, startAnswerLosingProxy } from "../support/answer-losing-proxy";
import { FAKE_WEBHOOK_TOKEN, type FakeApi, startApiWithFakes } from "../support/api-harness";

const credentials = { accessKeyId: "local", secretAccessKey: "local" };
let proxy: AnswerLosingProxy;
beforeAll(async () => {
  proxy = await startAnswerLosingProxy(inject("dynamoDbEndpoint"));
});
afterAll(() => proxy.stop());

test("the clients' DynamoDB calls have a connection and a request timeout that throws", async () => {
  // README (Connecting lakeFS): 3 s without a connection, 10 s without an answer.
  expect(DYNAMODB_TIMEOUTS).toEqual({ connectionMs: 3_000, requestMs: 10_000 });
  const ddb = createDynamoDbClient({ endpoint: proxy.endpoint, region: "us-east-1", credentials });
  await ddb.send(new ListTablesCommand({ Limit: 1 }));
  // The handler's settings, as resolved for its first request.
  const handler = ddb.config.requestHandler as NodeHttpHandler;
  expect(handler.httpHandlerConfigs()).toMatchObject({
    connectionTimeout: DYNAMODB_TIMEOUTS.connectionMs,
    requestTimeout: DYNAMODB_TIMEOUTS.requestMs,
    throwOnRequestTimeout: true,
  });
  ddb.destroy();
});

test.each([
  ["never passed on", "stall"],
  ["done, its answer withheld", "hang"],
] as const)("a call %s fails after the request timeout and is sent again", async (_, mode) => {
  const ddb = createDynamoDbClient({
    endpoint: proxy.endpoint,
    region: "us-east-1",
    credentials,
    dynamoDbTimeouts: { connectionMs: 1_000, requestMs: 400 },
  });
  const doc = documentClient(ddb);
  const table = `lost-answer-${randomUUID().slice(0, 8)}`;
  await createStateTable(ddb, table);
  const key = { pk: `item-${mode}`, sk: "x" };
  const marker = randomUUID();
  proxy.lose({ operation: "PutItem", bodyIncludes: marker, mode, times: 1 });
  const before = proxy.received("PutItem");
  const started = Date.now();
  await doc.send(new PutCommand({ TableName: table, Item: { ...key, marker } }));
  expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  expect(proxy.received("PutItem") - before).toBe(2);
  const read = await doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
  expect(read.Item?.marker).toBe(marker);
  ddb.destroy();
});

test("a webhook delivery whose claim was written but whose answer was lost is published, once", async () => {
  let fake: FakeApi | undefined;
  try {
    fake = await startApiWithFakes({ dynamoDbEndpoint: proxy.endpoint });
    const payload = {
      event_type: "post-commit" as const,
      event_time: "2026-12-05T00:00:00Z",
      action_name: "lakeport",
      hook_id: "lakeport_export",
      repository_id: "repo-lost-answer",
      branch_id: "main",
      source_ref: "main",
      commit_id: "c-lost-answer",
      commit_message: "add data",
      committer: "admin",
      commit_metadata: {},
    };
    const deliver = async () => {
      const res = await fetch(`${fake!.base}/webhooks/lakefs`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-lakeport-token": FAKE_WEBHOOK_TOKEN },
        body: JSON.stringify(payload),
      });
      return { status: res.status, body: await res.json() };
    };
    // The claim's put reaches DynamoDB and is done; its answer never comes back (the
    // connection closes), so the SDK sends it again and the second attempt finds the record.
    const claimKey = keys.webhookDelivery(deliveryKey(payload)).pk;
    proxy.lose({ operation: "PutItem", bodyIncludes: claimKey, mode: "drop", times: 1 });
    const puts = proxy.received("PutItem");
    expect(await deliver()).toEqual({ status: 202, body: { published: true, duplicate: false } });
    expect(proxy.received("PutItem") - puts).toBe(2);
    const published = () =>
      fake!.events.events.filter(
        (e) => (e.detail as { commit_id?: string }).commit_id === "c-lost-answer",
      );
    expect(published()).toHaveLength(1);
    // lakeFS delivering it again is a repeat.
    expect(await deliver()).toEqual({ status: 200, body: { published: false, duplicate: true } });
    expect(published()).toHaveLength(1);
  } finally {
    await fake?.stop();
  }
});
