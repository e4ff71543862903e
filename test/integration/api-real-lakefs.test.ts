// The API with the real lakeFS client against the lakeFS development server (objects in the
// embedded S3) and DynamoDB Local; Step Functions and EventBridge are fakes at their ports.
// Includes lakeFS's own post-commit webhook calling the API's receiver.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { type ApiDeps, depsFromEnv } from "../../lambdas/api/deps";
import { createExportHandler } from "../../lambdas/api/handlers/export";
import { createGcHandler } from "../../lambdas/api/handlers/gc";
import { createWebhookHandler } from "../../lambdas/api/handlers/webhook";
import { createDynamoDbClient } from "../../lambdas/shared/aws/clients";
import { LakeFsClient } from "../../lambdas/shared/lakefs/client";
import { type ApiServerHandle, startApiServer } from "../../local/api/server";
import { createStateTable } from "../../local/dynamodb/create-table";
import { type LakeFsDevServerHandle, startLakeFsDevServer } from "../../local/lakefs/server";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/server";
import { FakeEventPublisher, FakeWorkflowStarter } from "../support/api-fakes";
import { apiClient } from "../support/api-harness";
import { TEST_REGION, testS3Client, uniqueName } from "../support/clients";
import { lakeportRestApi } from "../support/lakeport-env";

const KEYS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "dev-secret" };
const WEBHOOK_TOKEN = "real-lakefs-hook-token";
let dataDir: string;
let lakefsServer: LakeFsDevServerHandle;
let lakefs: LakeFsClient;
let api: ApiServerHandle;
let deps: ApiDeps;
let call: ReturnType<typeof apiClient>;
const workflows = new FakeWorkflowStarter();
const events = new FakeEventPublisher();
let bucket: string;
let repo: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "lakeport-api-lakefs-"));
  bucket = uniqueName("lakefs-data");
  await testS3Client().send(new CreateBucketCommand({ Bucket: bucket }));
  lakefsServer = await startLakeFsDevServer({
    dataDir,
    s3: { endpoint: inject("s3Endpoint"), region: TEST_REGION, credentials: LOCAL_S3_CREDENTIALS },
    credentials: KEYS,
  });
  lakefs = new LakeFsClient({ endpoint: lakefsServer.endpoint, credentials: KEYS });
  const tableName = uniqueName("lakeport-state");
  await createStateTable(
    createDynamoDbClient({
      endpoint: inject("dynamoDbEndpoint"),
      region: TEST_REGION,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    }),
    tableName,
  );
  // The handlers' own composition root, from an environment as the Lambda would get it.
  const fromEnv = await depsFromEnv({
    TABLE_NAME: tableName,
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: inject("dynamoDbEndpoint"),
    LAKEFS_ENDPOINT: lakefsServer.endpoint,
    LAKEFS_ACCESS_KEY_ID: KEYS.accessKeyId,
    LAKEFS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
    WEBHOOK_TOKEN,
    EXPORT_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:000000000000:stateMachine:export",
    GC_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:000000000000:stateMachine:gc",
  });
  deps = { ...fromEnv, workflows, events };
  api = await startApiServer({
    restApi: await lakeportRestApi(),
    handlers: {
      export: createExportHandler(() => deps),
      gc: createGcHandler(() => deps),
      webhook: createWebhookHandler(() => deps),
    },
  });
  call = apiClient({ base: `${api.endpoint}/api/v1` });
  repo = uniqueName("repo");
  await lakefs.createRepository({
    name: repo,
    storage_namespace: `s3://${bucket}/${repo}`,
    default_branch: "main",
  });
});

afterAll(async () => {
  await api?.stop();
  await lakefsServer?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test("configuration checks repository, branch and namespace against lakeFS", async () => {
  const cfg = `/repositories/${repo}/branches/main/continuous-export`;
  expect(
    await call("PUT", `/repositories/${repo}/branches/nope/continuous-export`, {
      exportPath: "s3://out-bucket/x",
    }),
  ).toEqual({
    status: 404,
    body: { message: `branch "nope" not found in repository "${repo}"` },
  });
  expect(
    await call("PUT", `/repositories/no-such-repo-x/branches/main/continuous-export`, {
      exportPath: "s3://out-bucket/x",
    }),
  ).toEqual({
    status: 404,
    body: { message: 'repository "no-such-repo-x" not found' },
  });
  const inside = await call("PUT", cfg, { exportPath: `s3://${bucket}/${repo}/export` });
  expect(inside.status).toBe(400);
  expect(inside.body.message).toContain(`overlaps the storage namespace s3://${bucket}/${repo}`);
  expect((await call("PUT", cfg, { exportPath: `s3://${bucket}/elsewhere` })).status).toBe(200);
});

test("export-hook exports the real branch head", async () => {
  await lakefs.uploadObject(repo, "main", "a/b.txt", { content: "hello" });
  const commit = await lakefs.commit(repo, "main", { message: "data" });
  const run = await call("POST", `/repositories/${repo}/branches/main/export-hook`);
  expect(run.status).toBe(202);
  expect(run.body.toCommit).toBe(commit.id);
  expect(workflows.started.at(-1)?.input).toMatchObject({
    repository: repo,
    commitId: commit.id,
    storageNamespace: `s3://${bucket}/${repo}`,
  });
});

test("lakeFS's post-commit webhook reaches the receiver and is published once", async () => {
  await lakefs.uploadObject(repo, "main", "_lakefs_actions/lakeport.yaml", {
    content: [
      "name: lakeport",
      "on:",
      "  post-commit:",
      "    branches: [main]",
      "hooks:",
      "  - id: lakeport_export",
      "    type: webhook",
      "    properties:",
      `      url: ${api.endpoint}/api/v1/webhooks/lakefs`,
      "      headers:",
      `        X-Lakeport-Token: ${WEBHOOK_TOKEN}`,
    ].join("\n"),
  });
  const commit = await lakefs.commit(repo, "main", { message: "add action" });
  await lakefsServer.hooksSettled();
  const published = events.events.filter(
    (e) => (e.detail as { commit_id: string }).commit_id === commit.id,
  );
  expect(published).toHaveLength(1);
  expect(published[0]).toMatchObject({
    source: "lakeport.lakefs",
    detailType: "post-commit",
    detail: {
      repository_id: repo,
      branch_id: "main",
      hook_id: "lakeport_export",
      event_type: "post-commit",
    },
  });
});
