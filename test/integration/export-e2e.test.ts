// Continuous export end to end on the embedded environment: the ExportWorkflow construct
// synthesized (esbuild bundles) and deployed on the local cloud (Step Functions runner with
// distributed maps, EventBridge rules, Lambda runtime), the lakeFS development server whose
// `_lakefs_actions` webhook calls the local API server's receiver, which publishes on the
// Lakeport bus. Commits are made on lakeFS; configuration, run, repair and status go through the
// `lakeport` CLI or the API. Nothing of the workflow is called directly.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  type SFNClient,
} from "@aws-sdk/client-sfn";
import { App, Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ExportWorkflow } from "../../infra/constructs/export";
import { Storage } from "../../infra/constructs/storage";
import { depsFromEnv } from "../../lambdas/api/deps";
import { createExportHandler } from "../../lambdas/api/handlers/export";
import { createWebhookHandler } from "../../lambdas/api/handlers/webhook";
import { parseStatusLine } from "../../lambdas/export/domain/status";
import { LakeFsClient } from "../../lambdas/lakefs/client";
import { createSfnClient } from "../../lambdas/shared/aws/clients";
import { apiClient } from "../../local/api/harness";
import { type ApiServerHandle, startApiServer } from "../../local/api/server";
import { type LocalCloudHandle, startLocalCloud } from "../../local/cloud";
import { type LakeFsDevServerHandle, startLakeFsDevServer } from "../../local/lakefs/server";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/server";
import { TEST_REGION, testS3Admin, testS3Client, uniqueName } from "../support/clients";

const KEYS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "export-e2e-secret" };
const WEBHOOK_TOKEN = "export-e2e-hook-token";
const STACK = "ExportE2e";
const MULTIPART_THRESHOLD = 2048;
const s3 = testS3Client();
const admin = testS3Admin();
const bin = path.resolve(__dirname, "../../cli/bin.mjs");

let outdir: string;
let dataDir: string;
let lakefsServer: LakeFsDevServerHandle;
let lakefs: LakeFsClient;
let cloud: LocalCloudHandle;
let api: ApiServerHandle;
let sfn: SFNClient;
let call: ReturnType<typeof apiClient>;
let stateMachineArn: string;
let workBucket: string;
const nsBucket = uniqueName("exp-ns");
const outBucket = uniqueName("exp-out");

function lakeport(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        env: {
          ...process.env,
          LAKEPORT_ENDPOINT: api.endpoint,
          LAKEPORT_TOKEN: api.apiToken,
          LAKEPORT_POLL_MS: "50",
        },
      },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}

function synth(dir: string, lakeFsEndpoint: string) {
  const app = new App({ outdir: dir, context: { "aws:cdk:enable-asset-metadata": true } });
  const stack = new Stack(app, STACK, { env: { region: TEST_REGION } });
  const storage = new Storage(stack, "Storage");
  new ExportWorkflow(stack, "Export", {
    table: storage.table,
    workBucket: storage.workBucket,
    eventBus: new events.EventBus(stack, "Bus"),
    lakeFsEndpoint,
    lakeFsSecret: secrets.Secret.fromSecretCompleteArn(
      stack,
      "LakeFs",
      `arn:aws:secretsmanager:${TEST_REGION}:000000000000:secret:lakefs-AbCdEf`,
    ),
    storageBuckets: [nsBucket],
    exportBuckets: [outBucket],
    maxConcurrency: 4,
    logRetention: logs.RetentionDays.ONE_DAY,
    export: { multipartThresholdBytes: MULTIPART_THRESHOLD, shardsPerBatch: 2 },
  });
  app.synth();
}

// ---- lakeFS helpers ----------------------------------------------------------------------------

const ACTION = (url: string) =>
  [
    "name: lakeport",
    "on:",
    "  post-commit:",
    "  post-merge:",
    "hooks:",
    "  - id: lakeport_export",
    "    type: webhook",
    "    properties:",
    `      url: ${url}`,
    "      headers:",
    `        X-Lakeport-Token: ${WEBHOOK_TOKEN}`,
  ].join("\n");

/** A repository whose main branch has the webhook action committed. */
async function createRepo(prefix: string): Promise<string> {
  const repo = uniqueName(prefix);
  await lakefs.createRepository({
    name: repo,
    storage_namespace: `s3://${nsBucket}/${repo}`,
    default_branch: "main",
  });
  await lakefs.uploadObject(repo, "main", "_lakefs_actions/lakeport.yaml", {
    content: ACTION(`${api.endpoint}/api/v1/webhooks/lakefs`),
    contentType: "application/yaml",
  });
  await lakefs.commit(repo, "main", { message: "webhook action" });
  await lakefsServer.hooksSettled();
  return repo;
}

interface Change {
  put?: Record<
    string,
    string | { content: string; contentType?: string; metadata?: Record<string, string> }
  >;
  del?: string[];
}

async function commitChanges(repo: string, branch: string, change: Change, message = "change") {
  for (const [p, v] of Object.entries(change.put ?? {})) {
    const o = typeof v === "string" ? { content: v } : v;
    await lakefs.uploadObject(repo, branch, p, {
      content: o.content,
      ...(o.contentType ? { contentType: o.contentType } : {}),
      ...(o.metadata ? { metadata: o.metadata } : {}),
    });
  }
  for (const p of change.del ?? []) await lakefs.deleteObject(repo, branch, p);
  const c = await lakefs.commit(repo, branch, { message });
  await lakefsServer.hooksSettled();
  return c.id;
}

async function headOf(repo: string, branch: string) {
  return (await lakefs.getBranch(repo, branch)).commit_id;
}

// ---- export helpers ----------------------------------------------------------------------------

const branchPath = (repo: string, branch: string) => `/repositories/${repo}/branches/${branch}`;

async function setExport(
  repo: string,
  branch: string,
  cfg: { prefix: string; regex?: string[]; continuous?: boolean; status?: boolean },
) {
  const args = [
    "export",
    "set",
    `lakefs://${repo}@${branch}`,
    "--path",
    `s3://${outBucket}/${cfg.prefix}`,
    "--continuous",
    String(cfg.continuous ?? true),
  ];
  if (cfg.status !== false) args.push("--status-path", `s3://${outBucket}/status/${cfg.prefix}`);
  for (const r of cfg.regex ?? []) args.push("--prefix-regex", r);
  if (cfg.continuous === false) args.push("--wait");
  const r = await lakeport(args);
  expect(r.stderr, r.stdout).toBe("");
  expect(r.code).toBe(0);
  return r;
}

// biome-ignore lint/suspicious/noExplicitAny: API bodies are inspected loosely
async function exportStatus(repo: string, branch: string): Promise<any> {
  const r = await call("GET", `${branchPath(repo, branch)}/export-status`);
  expect(r.status).toBe(200);
  return r.body;
}

/** Executions of the export state machine for this repository and branch. */
async function executionsOf(repo: string, branch: string) {
  const out: {
    name: string;
    status: string;
    start: number;
    stop: number;
    toCommit: string;
  }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, nextToken }));
    for (const e of page.executions ?? []) {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
      const input = JSON.parse(d.input ?? "{}");
      if (input.repository !== repo || input.branch !== branch) continue;
      out.push({
        name: d.name!,
        status: d.status!,
        start: d.startDate!.getTime(),
        stop: d.stopDate?.getTime() ?? Number.POSITIVE_INFINITY,
        toCommit: input.toCommit,
      });
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return out.sort((a, b) => a.start - b.start);
}

/**
 * Waits until no export of the branch runs (state not in-progress, no RUNNING execution) and,
 * with `ref`, the export state has reached that commit (events reach the trigger asynchronously).
 */
async function settled(repo: string, branch: string, ref?: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await exportStatus(repo, branch);
    const running = (await executionsOf(repo, branch)).some((e) => e.status === "RUNNING");
    if (s.state !== "in-progress" && !running && (!ref || s.currentRef === ref)) return s;
    if (Date.now() > deadline)
      throw new Error(`export of ${repo}@${branch} did not settle: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function listAll(bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const c of out.Contents ?? []) keys.push(c.Key!);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

async function text(bucket: string, key: string): Promise<string> {
  const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return o.Body!.transformToString("utf8");
}

/** The export path equals the branch head: keys, bytes, content type, user metadata. */
async function expectMirror(repo: string, ref: string, prefix: string) {
  const expected: string[] = [];
  for await (const page of lakefs.listObjects(repo, ref, { amount: 1000, userMetadata: true })) {
    for (const o of page.results) {
      if (o.path_type !== "object") continue;
      expected.push(o.path);
      const key = `${prefix}/${o.path}`;
      const got = await s3.send(new GetObjectCommand({ Bucket: outBucket, Key: key }));
      const body = await got.Body!.transformToString("utf8");
      const src = await lakefs.getObject(repo, ref, o.path);
      expect(body, key).toBe(new TextDecoder().decode(src.body));
      expect(got.ContentType, key).toBe(o.content_type ?? "application/octet-stream");
      const meta = Object.fromEntries(
        Object.entries(o.metadata ?? {}).map(([k, v]) => [
          k.replace(/^x-amz-meta-/i, "").toLowerCase(),
          v,
        ]),
      );
      expect(got.Metadata ?? {}, key).toEqual(meta);
    }
  }
  const exported = (await listAll(outBucket, `${prefix}/`))
    .map((k) => k.slice(prefix.length + 1))
    .filter((k) => !k.endsWith("_lakefs_success"));
  expect(exported).toEqual(expected.sort());
}

async function statusLineOf(prefix: string, repo: string, branch: string, commit: string) {
  return parseStatusLine(await text(outBucket, `status/${prefix}/${repo}-${branch}-${commit}`));
}

beforeAll(async () => {
  for (const b of [nsBucket, outBucket]) await s3.send(new CreateBucketCommand({ Bucket: b }));
  dataDir = mkdtempSync(path.join(os.tmpdir(), "lakeport-export-lakefs-"));
  lakefsServer = await startLakeFsDevServer({
    dataDir,
    s3: { endpoint: inject("s3Endpoint"), region: TEST_REGION, credentials: LOCAL_S3_CREDENTIALS },
    credentials: KEYS,
  });
  lakefs = new LakeFsClient({ endpoint: lakefsServer.endpoint, credentials: KEYS });
  outdir = mkdtempSync(path.join(os.tmpdir(), "lakeport-export-cdk-"));
  synth(outdir, lakefsServer.endpoint);
  cloud = await startLocalCloud({
    assemblyDir: outdir,
    stackName: STACK,
    s3: { endpoint: inject("s3Endpoint"), credentials: LOCAL_S3_CREDENTIALS, region: TEST_REGION },
    dynamodbEndpoint: inject("dynamoDbEndpoint"),
    lambdaEnv: {
      LAKEFS_ACCESS_KEY_ID: KEYS.accessKeyId,
      LAKEFS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
      // Several parts per multipart copy even for small objects.
      MULTIPART_PART_SIZE_BYTES: "1024",
    },
    runnerOptions: { retryDelayScale: 0.001 },
  });
  const res = cloud.deployment.resources;
  const table = res.find((r) => r.type === "AWS::DynamoDB::Table")!;
  const machine = res.find((r) => r.type === "AWS::StepFunctions::StateMachine")!;
  const bus = res.find((r) => r.type === "AWS::Events::EventBus")!;
  workBucket = res.find((r) => r.type === "AWS::S3::Bucket")!.physicalId;
  stateMachineArn = machine.arn ?? machine.physicalId;
  const env = {
    TABLE_NAME: table.physicalId,
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: inject("dynamoDbEndpoint"),
    AWS_ENDPOINT_URL_SFN: cloud.endpoints.stepfunctions,
    AWS_ENDPOINT_URL_EVENTBRIDGE: cloud.endpoints.eventbridge,
    EVENT_BUS_NAME: bus.physicalId,
    LAKEFS_ENDPOINT: lakefsServer.endpoint,
    LAKEFS_ACCESS_KEY_ID: KEYS.accessKeyId,
    LAKEFS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
    WEBHOOK_TOKEN,
    EXPORT_STATE_MACHINE_ARN: stateMachineArn,
  };
  const deps = await depsFromEnv(env);
  api = await startApiServer({
    handlers: {
      export: createExportHandler(() => deps),
      webhook: createWebhookHandler(() => deps),
    },
  });
  call = apiClient({ base: `${api.endpoint}/api/v1`, api });
  sfn = createSfnClient({
    endpoint: cloud.endpoints.stepfunctions,
    region: TEST_REGION,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
}, 180_000);

afterAll(async () => {
  await admin.clearDenyRules({ bucket: outBucket }).catch(() => undefined);
  await api?.stop();
  await cloud?.stop();
  await lakefsServer?.stop();
  for (const d of [outdir, dataDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe("continuous export end to end", () => {
  it("mirrors the branch head after a first export, adds, changes, deletes and a merge", async () => {
    const repo = await createRepo("mirror");
    await commitChanges(repo, "main", {
      put: {
        "data/a.csv": { content: "a,1\n", contentType: "text/csv", metadata: { owner: "ann" } },
        "data/b.json": { content: '{"b":1}', contentType: "application/json" },
        "deep/x/y/z.txt": "zzz",
        "top.txt": "top",
      },
    });
    // Enabling a continuous export exports the current head at once.
    await setExport(repo, "main", { prefix: `mirror-${repo}` });
    let s = await settled(repo, "main");
    const prefix = `mirror-${repo}`;
    expect(s).toMatchObject({
      state: "exported-successfully",
      currentRef: await headOf(repo, "main"),
    });
    await expectMirror(repo, "main", prefix);

    const steps: Change[] = [
      { put: { "data/c.csv": { content: "c", contentType: "text/csv", metadata: { Team: "x" } } } },
      {
        put: {
          "data/a.csv": { content: "a,2\n", contentType: "text/plain", metadata: { owner: "bob" } },
        },
      },
      { del: ["deep/x/y/z.txt", "top.txt"] },
    ];
    for (const step of steps) {
      const head = await commitChanges(repo, "main", step);
      s = await settled(repo, "main", head);
      expect(s).toMatchObject({ state: "exported-successfully", currentRef: head });
      await expectMirror(repo, "main", prefix);
      expect(await statusLineOf(prefix, repo, "main", head)).toEqual({
        status: "exported-successfully",
        signalledErrors: 0,
      });
    }
    await lakefs.createBranch(repo, "feature", "main");
    await commitChanges(repo, "feature", { put: { "feat/new.txt": "new" }, del: ["data/b.json"] });
    await lakefs.merge(repo, "feature", "main", { message: "merge feature" });
    await lakefsServer.hooksSettled();
    const head = await headOf(repo, "main");
    s = await settled(repo, "main", head);
    expect(s).toMatchObject({ state: "exported-successfully", currentRef: head });
    await expectMirror(repo, "main", prefix);
    // The JSON status document and the manifest beside the status line.
    const doc = JSON.parse(
      await text(outBucket, `status/${prefix}/${repo}-main-${head}.status.json`),
    );
    expect(doc).toMatchObject({
      commitId: head,
      status: "exported-successfully",
      signalledErrors: 0,
    });
    const index = JSON.parse(
      await text(outBucket, `status/${prefix}/${repo}-main-${head}.manifest.json`),
    );
    const lines: { path: string; key: string }[] = [];
    for (const part of index.parts) {
      for (const l of (await text(outBucket, part.key)).split("\n").filter(Boolean))
        lines.push(JSON.parse(l));
    }
    expect(lines.map((l) => l.path)).toEqual([
      "_lakefs_actions/lakeport.yaml",
      "data/a.csv",
      "data/c.csv",
      "feat/new.txt",
    ]);
  }, 120_000);
});
