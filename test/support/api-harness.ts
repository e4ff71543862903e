// Starts the local API server (the API Gateway of the synthesized app's template) on a fresh
// table in a given DynamoDB (Local) with fakes at the lakeFS, Step Functions and EventBridge
// ports. Used by the API and CLI integration tests; requests are SigV4-signed.
import { randomUUID } from "node:crypto";
import type { ApiDeps } from "../../lambdas/api/deps";
import { createExportHandler } from "../../lambdas/api/handlers/export";
import { createGcHandler } from "../../lambdas/api/handlers/gc";
import { createMetaHandler } from "../../lambdas/api/handlers/meta";
import { createWebhookHandler } from "../../lambdas/api/handlers/webhook";
import { createStateStores } from "../../lambdas/api/state-stores";
import { createDynamoDbClient } from "../../lambdas/shared/aws/clients";
import { type ApiServerHandle, startApiServer } from "../../local/api/server";
import { createStateTable } from "../../local/dynamodb/create-table";
import { FakeEventPublisher, FakeLakeFs, FakeWorkflowStarter } from "./api-fakes";
import { lakeportRestApi } from "./lakeport-env";
import { signedJson } from "./signed-fetch";

export const FAKE_EXPORT_SM = "arn:aws:states:us-east-1:000000000000:stateMachine:lakeport-export";
export const FAKE_GC_SM = "arn:aws:states:us-east-1:000000000000:stateMachine:lakeport-gc";
export const FAKE_WEBHOOK_TOKEN = "webhook-secret-for-tests";

export interface FakeApi {
  api: ApiServerHandle;
  /** `${endpoint}/api/v1` */
  base: string;
  deps: ApiDeps;
  lakefs: FakeLakeFs;
  workflows: FakeWorkflowStarter;
  events: FakeEventPublisher;
  tableName: string;
  stop(): Promise<void>;
}

export async function startApiWithFakes(opts: { dynamoDbEndpoint: string }): Promise<FakeApi> {
  const ddb = createDynamoDbClient({
    endpoint: opts.dynamoDbEndpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const tableName = `lakeport-api-${randomUUID().slice(0, 8)}`;
  await createStateTable(ddb, tableName);
  const lakefs = new FakeLakeFs();
  const workflows = new FakeWorkflowStarter();
  const events = new FakeEventPublisher();
  const deps: ApiDeps = {
    stores: createStateStores(ddb, tableName),
    lakefs: lakefs.asLakeFsApi(),
    workflows,
    events,
    exportStateMachineArn: FAKE_EXPORT_SM,
    gcStateMachineArn: FAKE_GC_SM,
    exportBuckets: "any",
    workBucket: "lakeport-work",
    webhookToken: async () => FAKE_WEBHOOK_TOKEN,
    now: () => new Date(),
  };
  const api = await startApiServer({
    restApi: await lakeportRestApi(),
    handlers: {
      export: createExportHandler(() => deps),
      gc: createGcHandler(() => deps),
      webhook: createWebhookHandler(() => deps),
      meta: createMetaHandler(),
    },
  });
  return {
    api,
    base: `${api.endpoint}/api/v1`,
    deps,
    lakefs,
    workflows,
    events,
    tableName,
    stop: async () => {
      await api.stop();
      ddb.destroy();
    },
  };
}

/** A SigV4-signed request with JSON; returns status and parsed body. */
export function apiClient(fake: Pick<FakeApi, "base">) {
  return async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected loosely
  ): Promise<{ status: number; body: any }> => {
    const r = await signedJson(`${fake.base}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined
        ? { body: typeof body === "string" ? body : JSON.stringify(body) }
        : {}),
    });
    return { status: r.status, body: r.body };
  };
}
