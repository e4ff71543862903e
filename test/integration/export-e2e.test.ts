// Continuous export end to end on the embedded environment: the ExportWorkflow construct
// synthesized (esbuild bundles) and deployed on the local cloud (Step Functions runner with
// distributed maps, EventBridge rules, Lambda runtime), the lakeFS development server whose
// `_lakefs_actions` webhook calls the local API server's receiver, which publishes on the
// Lakeport bus. Commits are made on lakeFS; configuration, run, repair and status go through the
// `lakeport` CLI or the API. Nothing of the workflow is called directly.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
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
import * as cdkS3 from "aws-cdk-lib/aws-s3";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ExportWorkflow } from "../../infra/constructs/export";
import { Storage } from "../../infra/constructs/storage";
import { depsFromEnv } from "../../lambdas/api/deps";
import { createExportHandler } from "../../lambdas/api/handlers/export";
import { createWebhookHandler } from "../../lambdas/api/handlers/webhook";
import { compileDirectorySelector } from "../../lambdas/export/domain/markers";
import { parseStatusLine } from "../../lambdas/export/domain/status";
import { createSfnClient } from "../../lambdas/shared/aws/clients";
import { LakeFsClient } from "../../lambdas/shared/lakefs/client";
import { type ApiServerHandle, startApiServer } from "../../local/api/server";
import { type LocalCloudHandle, startLocalCloud } from "../../local/cloud";
import { type LakeFsDevServerHandle, startLakeFsDevServer } from "../../local/lakefs/server";
import { lakeportActionYaml, WEBHOOK_TOKEN_ACTION_VARIABLE } from "../../local/lakeport-action";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/server";
import { apiClient } from "../support/api-harness";
import { TEST_REGION, testS3Admin, testS3Client, uniqueName } from "../support/clients";
import { lakeportRestApi } from "../support/lakeport-env";
import { stackOutdir } from "../support/stack-outdir";

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
let stores: Awaited<ReturnType<typeof depsFromEnv>>["stores"];
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
          AWS_ACCESS_KEY_ID: api.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: api.credentials.secretAccessKey,
          AWS_REGION: api.region,
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
    storageBuckets: [cdkS3.Bucket.fromBucketName(stack, "Namespaces", nsBucket)],
    exportBuckets: [cdkS3.Bucket.fromBucketName(stack, "Out", outBucket)],
    maxConcurrency: 4,
    logRetention: logs.RetentionDays.ONE_DAY,
    export: { multipartThresholdBytes: MULTIPART_THRESHOLD, shardsPerBatch: 2 },
  });
  app.synth();
}

// ---- lakeFS helpers ----------------------------------------------------------------------------

/** The documented action file: the token is a lakeFS secret reference, not in the file. */
const ACTION = (url: string) => lakeportActionYaml(url, { name: "lakeport" });

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

/**
 * Stages every path on the branch with lakeFS's link call (staging/backing), all pointing at
 * one physical object: a large branch without uploading its objects. Plain keep-alive HTTP, 16
 * requests in flight: the export is under test here, and this client costs a third of the
 * CPU of LakeFsClient's (fetch), which matters for 10 000 calls.
 */
async function linkAll(repo: string, branch: string, paths: string[], body: object) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const auth = `Basic ${Buffer.from(`${KEYS.accessKeyId}:${KEYS.secretAccessKey}`).toString("base64")}`;
  const json = JSON.stringify(body);
  const link = (p: string) =>
    new Promise<void>((resolve, reject) => {
      const url = `${lakefsServer.apiUrl}/repositories/${encodeURIComponent(repo)}/branches/${encodeURIComponent(branch)}/staging/backing?path=${encodeURIComponent(p)}`;
      const req = http.request(
        url,
        {
          method: "PUT",
          agent,
          headers: { authorization: auth, "content-type": "application/json" },
        },
        (res) => {
          let text = "";
          res.on("data", (d) => {
            text += d;
          });
          res.on("end", () =>
            res.statusCode === 200
              ? resolve()
              : reject(new Error(`link ${p}: ${res.statusCode} ${text}`)),
          );
        },
      );
      req.on("error", reject);
      req.end(json);
    });
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < paths.length) await link(paths[next++]!);
      }),
    );
  } finally {
    agent.destroy();
  }
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
  const r = await lakeport(args);
  // Not --wait: the test waits with settled() (the CLI's wait can race the state read with
  // DescribeExecution right when an export ends).
  expect(r.stderr, r.stdout).toBe("");
  expect(r.code, r.stderr).toBe(0);
  return r;
}

// biome-ignore lint/suspicious/noExplicitAny: API bodies are inspected loosely
async function exportStatus(repo: string, branch: string): Promise<any> {
  const r = await call("GET", `${branchPath(repo, branch)}/export-status`);
  expect(r.status).toBe(200);
  return r.body;
}

/**
 * Executions of the export state machine for this repository and branch: ListExecutions, then
 * DescribeExecution (input, start and stop dates) of those named like the branch's exports.
 */
async function executionsOf(repo: string, branch: string) {
  const out: {
    name: string;
    status: string;
    start: number;
    stop: number;
    commitId: string;
  }[] = [];
  const slug = (x: string) => x.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 20);
  const namePrefix = `${slug(repo)}-${slug(branch)}-`;
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, nextToken }));
    for (const e of page.executions ?? []) {
      if (!e.name?.startsWith(namePrefix)) continue;
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
      const input = JSON.parse(d.input ?? "{}");
      if (input.repository !== repo || input.branch !== branch) continue;
      out.push({
        name: d.name!,
        status: d.status!,
        start: d.startDate!.getTime(),
        stop: d.stopDate?.getTime() ?? Number.POSITIVE_INFINITY,
        commitId: input.commitId,
      });
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return out.sort((a, b) => a.start - b.start);
}

/**
 * A failed export whose copy batch did not report makes its repair wait for the copy
 * function's timeout (settling.ts): the crashed batches here ended, so the test lets the
 * settling time pass at once.
 */
async function settleFailedExport(repo: string, branch: string) {
  const s = await stores.exports.getState(repo, branch);
  expect(s?.state).toBe("export-failed");
  expect(Date.parse(s!.settlesAt!)).toBeGreaterThan(Date.now() + 15 * 60_000);
  const ok = await stores.exports.compareAndSetState(repo, branch, s!.version, {
    ...s!,
    settlesAt: new Date(Date.now() - 1_000).toISOString(),
    version: s!.version + 1,
  });
  expect(ok).toBe(true);
}

/**
 * `settled` without the API (whose status route asks lakeFS whether the branch exists): the
 * export state in DynamoDB and the executions, for tests counting the export's lakeFS calls.
 */
async function settledWithoutLakeFs(repo: string, branch: string, ref: string) {
  const deadline = Date.now() + 60_000;
  for (let delay = 20; ; delay = Math.min(250, delay * 2)) {
    const s = await stores.exports.getState(repo, branch);
    const running = (await executionsOf(repo, branch)).some((e) => e.status === "RUNNING");
    if (s && s.state !== "in-progress" && !running && s.commitId === ref) return s;
    if (Date.now() > deadline) throw new Error(`export of ${repo}@${branch} did not settle`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/**
 * Waits until no export of the branch runs (state not in-progress, no RUNNING execution) and,
 * with `ref`, the export state has reached that commit (events reach the trigger asynchronously).
 */
async function settled(repo: string, branch: string, ref?: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  // Quick at first, then a few times a second: each look is an API call, a lakeFS call and a
  // listing of the executions, which a 50 ms loop made the file's largest cost.
  for (let delay = 20; ; delay = Math.min(250, delay * 2)) {
    const s = await exportStatus(repo, branch);
    const running = (await executionsOf(repo, branch)).some((e) => e.status === "RUNNING");
    if (s.state !== "in-progress" && !running && (!ref || s.currentRef === ref)) return s;
    if (Date.now() > deadline)
      throw new Error(`export of ${repo}@${branch} did not settle: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, delay));
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

/**
 * The export path equals the branch head: keys, bytes, content type, user metadata (lakeFS's
 * `_lakefs_actions/` is never exported). With `regexes`, the markers too: exactly the selected
 * directories holding at least one exported object.
 */
async function expectMirror(repo: string, ref: string, prefix: string, regexes?: string[]) {
  const expected: string[] = [];
  for await (const page of lakefs.listObjects(repo, ref, { amount: 1000, userMetadata: true })) {
    for (const o of page.results) {
      if (o.path_type !== "object" || o.path.startsWith("_lakefs_actions/")) continue;
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
  const all = (await listAll(outBucket, `${prefix}/`)).map((k) => k.slice(prefix.length + 1));
  const exported = all.filter((k) => !k.endsWith("_lakefs_success"));
  expect(exported).toEqual(expected.sort());
  if (regexes) {
    const selector = compileDirectorySelector(regexes);
    const dirs = new Set(expected.flatMap((p) => selector.selectedDirectoriesOf(p)));
    expect(all.filter((k) => k.endsWith("_lakefs_success")).sort()).toEqual(
      [...dirs].map((d) => `${d}_lakefs_success`).sort(),
    );
  }
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
    // lakeFS's own environment: where action files' {{ ENV.LAKEFSACTION_... }} come from.
    actionEnv: { values: { [WEBHOOK_TOKEN_ACTION_VARIABLE]: WEBHOOK_TOKEN } },
  });
  lakefs = new LakeFsClient({ endpoint: lakefsServer.endpoint, credentials: KEYS });
  outdir = await stackOutdir("export-e2e-stack");
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
  workBucket = res.find(
    (r) => r.type === "AWS::S3::Bucket" && /Work/.test(r.logicalId),
  )!.physicalId;
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
    // As the construct sets it: the deployment's exportBuckets.
    EXPORT_BUCKETS: outBucket,
  };
  const deps = await depsFromEnv(env);
  stores = deps.stores;
  api = await startApiServer({
    restApi: await lakeportRestApi(),
    handlers: {
      export: createExportHandler(() => deps),
      webhook: createWebhookHandler(() => deps),
    },
  });
  call = apiClient({ base: `${api.endpoint}/api/v1` });
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
    expect(lines.map((l) => l.path)).toEqual(["data/a.csv", "data/c.csv", "feat/new.txt"]);
  }, 120_000);

  it("writes exactly the expected _lakefs_success markers (table of cases)", async () => {
    const repo = await createRepo("markers");
    const cases: {
      name: string;
      regex: string[];
      files: string[];
      deny?: string;
      markers: string[];
    }[] = [
      { name: "no-regex", regex: [], files: ["a/b.txt"], markers: [] },
      {
        name: "prefix",
        regex: ["^logs/"],
        files: ["logs/a.txt", "logs/2021/b.txt", "other/c.txt"],
        markers: ["logs/", "logs/2021/"],
      },
      {
        name: "anchored",
        regex: ["^logs/$"],
        files: ["logs/a.txt", "logs/2021/b.txt"],
        markers: ["logs/"],
      },
      {
        name: "unanchored",
        regex: ["2021"],
        files: ["data/2021/x/1.txt", "data/2020/2.txt", "y2021/3.txt"],
        markers: ["data/2021/", "data/2021/x/", "y2021/"],
      },
      { name: "root-only", regex: ["^$"], files: ["r.txt", "a/b.txt"], markers: [""] },
      {
        name: "everything",
        regex: [".*"],
        files: ["a/b.txt", "c.txt"],
        // _lakefs_actions/ is lakeFS configuration: not exported, no marker
        markers: ["", "a/"],
      },
      {
        name: "nesting",
        regex: ["^a/b/"],
        files: ["a/b/c/d/e.txt", "a/f.txt"],
        markers: ["a/b/", "a/b/c/", "a/b/c/d/"],
      },
      {
        name: "depths",
        regex: ["x/$"],
        files: ["x/1.txt", "a/x/2.txt", "a/y/3.txt", "x/z/4.txt"],
        markers: ["a/x/", "x/"],
      },
      {
        name: "several",
        regex: ["^p/$", "^q/r/$"],
        files: ["p/1.txt", "q/r/2.txt", "q/3.txt"],
        markers: ["p/", "q/r/"],
      },
      {
        name: "partitions",
        regex: ["dt="],
        files: [
          "table/dt=2021-01-01/part-0.parquet",
          "table/dt=2021-01-02/part-0.parquet",
          "table/_meta.json",
        ],
        markers: ["table/dt=2021-01-01/", "table/dt=2021-01-02/"],
      },
      {
        name: "failed-copy",
        regex: ["^f/"],
        files: ["f/ok/1.txt", "f/bad/2.txt", "f/3.txt"],
        deny: "f/bad/",
        markers: ["f/ok/"],
      },
      {
        name: "unicode",
        regex: ["é/$"],
        files: ["données/é/1.txt", "é/2.txt", "e/3.txt"],
        markers: ["données/é/", "é/"],
      },
    ];
    const prefixOf = (name: string) => `markers-${repo}/${name}`;
    const rules: string[] = [];
    for (const c of cases) {
      await lakefs.createBranch(repo, c.name, "main");
      await commitChanges(repo, c.name, { put: Object.fromEntries(c.files.map((f) => [f, f])) });
      if (c.deny) {
        rules.push(
          (await admin.deny({ bucket: outBucket, prefix: `${prefixOf(c.name)}/${c.deny}` })).id,
        );
      }
    }
    try {
      // Enabling each export exports its head at once; all run side by side.
      await Promise.all(
        cases.map((c) => setExport(repo, c.name, { prefix: prefixOf(c.name), regex: c.regex })),
      );
      for (const c of cases) {
        const s = await settled(repo, c.name, await headOf(repo, c.name));
        expect(s.state, c.name).toBe(c.deny ? "export-failed" : "exported-successfully");
        const got = (await listAll(outBucket, `${prefixOf(c.name)}/`))
          .filter((k) => k.endsWith("_lakefs_success"))
          .map((k) => k.slice(prefixOf(c.name).length + 1, -"_lakefs_success".length))
          .sort();
        expect(got, c.name).toEqual([...c.markers].sort());
      }
    } finally {
      for (const id of rules) await admin.removeDenyRule(id);
    }
  }, 120_000);

  it("5 commits in quick succession: no overlapping executions, the last head exported, intermediate ones skipped", async () => {
    const repo = await createRepo("rapid");
    const prefix = `rapid-${repo}`;
    await setExport(repo, "main", { prefix });
    await settled(repo, "main", await headOf(repo, "main"));
    const heads: string[] = [];
    for (let i = 0; i < 5; i++) {
      heads.push(
        await commitChanges(repo, "main", { put: { [`r/${i}.txt`]: `r${i}` } }, `rapid ${i}`),
      );
    }
    const last = heads.at(-1)!;
    const s = await settled(repo, "main", last);
    expect(s).toMatchObject({ state: "exported-successfully", lastExportedCommit: last });
    const execs = await executionsOf(repo, "main");
    for (let i = 1; i < execs.length; i++) {
      expect(
        execs[i]!.start,
        `${execs[i]!.name} starts after ${execs[i - 1]!.name} stopped`,
      ).toBeGreaterThanOrEqual(execs[i - 1]!.stop);
    }
    expect(execs.every((e) => e.status === "SUCCEEDED")).toBe(true);
    expect(execs.at(-1)!.commitId).toBe(last);
    const exported = new Set(execs.map((e) => e.commitId));
    const skipped = heads.filter((h) => !exported.has(h));
    expect(skipped.length).toBeGreaterThan(0);
    const statusFiles = (await listAll(outBucket, `status/${prefix}/`)).filter(
      (k) => !/\.(status|manifest)/.test(k),
    );
    expect(statusFiles).toEqual(
      [...exported].map((c) => `status/${prefix}/${repo}-main-${c}`).sort(),
    );
    for (const h of skipped)
      expect(statusFiles).not.toContain(`status/${prefix}/${repo}-main-${h}`);
    await expectMirror(repo, "main", prefix);
  }, 120_000);

  it("destination not writable: export-failed with the count, reason in export status; repair, set --continuous=false, run", async () => {
    const repo = await createRepo("fail");
    const prefix = `fail-${repo}`;
    const first = await commitChanges(repo, "main", { put: { "a/1.txt": "1", "a/2.txt": "2" } });
    const rule = await admin.deny({ bucket: outBucket, prefix: `${prefix}/` });
    try {
      await setExport(repo, "main", { prefix });
      const s = await settled(repo, "main", first);
      expect(s.state).toBe("export-failed");
      expect(s.errorMessage).toContain("AccessDenied");
      // 2 objects could not be copied (the webhook action is not exported).
      expect(await statusLineOf(prefix, repo, "main", first)).toEqual({
        status: "export-failed",
        signalledErrors: 2,
      });
      const st = await lakeport(["export", "status", `lakefs://${repo}@main`]);
      expect(st.stdout).toContain("export-failed");
      expect(st.stdout).toContain("AccessDenied");
    } finally {
      await admin.removeDenyRule(rule.id);
    }
    // Failed: a commit does not export until a person repairs.
    const second = await commitChanges(repo, "main", { put: { "a/3.txt": "3" } });
    await new Promise((r) => setTimeout(r, 500));
    expect(await settled(repo, "main")).toMatchObject({
      state: "export-failed",
      currentRef: first,
    });
    const repair = await lakeport(["export", "repair", `lakefs://${repo}@main`]);
    expect(repair.code, repair.stderr + repair.stdout).toBe(0);
    await settled(repo, "main", second);
    expect(await statusLineOf(prefix, repo, "main", second)).toEqual({
      status: "export-repaired",
      signalledErrors: 0,
    });
    await expectMirror(repo, "main", prefix);
    const third = await commitChanges(repo, "main", { del: ["a/1.txt"] });
    await settled(repo, "main", third);
    expect(await statusLineOf(prefix, repo, "main", third)).toEqual({
      status: "exported-successfully",
      signalledErrors: 0,
    });
    await expectMirror(repo, "main", prefix);

    // One-time export: set --continuous=false exports once; commits do not export; run does.
    await lakefs.createBranch(repo, "once", "main");
    const onceHead = await commitChanges(repo, "once", { put: { "o/1.txt": "once" } });
    await setExport(repo, "once", { prefix: `${prefix}-once`, continuous: false });
    expect(await settled(repo, "once", onceHead)).toMatchObject({ state: "exported-successfully" });
    await expectMirror(repo, "once", `${prefix}-once`);
    const later = await commitChanges(repo, "once", { put: { "o/2.txt": "later" } });
    await new Promise((r) => setTimeout(r, 500));
    expect(await settled(repo, "once")).toMatchObject({ currentRef: onceHead });
    const run = await lakeport(["export", "run", `lakefs://${repo}@once`]);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(await settled(repo, "once", later)).toMatchObject({ state: "exported-successfully" });
    await expectMirror(repo, "once", `${prefix}-once`);
  }, 120_000);

  it("a crash in a copy batch and in the finish step: not left in-progress, a rerun loses nothing", async () => {
    const repo = await createRepo("crash");
    const prefix = `crash-${repo}`;
    await commitChanges(repo, "main", { put: { "c/1.txt": "1", "c/2.txt": "2" } });
    await setExport(repo, "main", { prefix });
    await settled(repo, "main", await headOf(repo, "main"));

    cloud.runtime.injectFault({ function: /CopyFunction/, invocation: "next", kind: "crash" });
    const h1 = await commitChanges(repo, "main", { put: { "c/3.txt": "3" }, del: ["c/1.txt"] });
    let s = await settled(repo, "main", h1);
    expect(s.state).toBe("export-failed");
    expect(s.errorMessage).toContain("did not complete");
    // The batch did not report: the repair waits for its invocation (409 naming until when).
    const early = await lakeport(["export", "repair", `lakefs://${repo}@main`]);
    expect(early.code, early.stderr + early.stdout).not.toBe(0);
    expect(early.stderr + early.stdout).toContain("left a copy batch unreported");
    await settleFailedExport(repo, "main");
    const r1 = await lakeport(["export", "repair", `lakefs://${repo}@main`]);
    expect(r1.code, r1.stderr + r1.stdout).toBe(0);
    expect(await settled(repo, "main", h1)).toMatchObject({ lastExportedCommit: h1 });
    await expectMirror(repo, "main", prefix);

    // A successful export runs no Lambda after its status step: a finish crash cannot fail it.
    cloud.runtime.injectFault({ function: /FinishFunction/, invocation: "next", kind: "crash" });
    try {
      const h2 = await commitChanges(repo, "main", { put: { "c/4.txt": "4" } });
      expect(await settled(repo, "main", h2)).toMatchObject({
        state: "exported-successfully",
        lastExportedCommit: h2,
      });
      await expectMirror(repo, "main", prefix);

      // A failed one's Finish explains it; crashing there still ends it failed, with the reason.
      cloud.runtime.injectFault({ function: /CopyFunction/, invocation: "next", kind: "crash" });
      const h3 = await commitChanges(repo, "main", { put: { "c/5.txt": "5" } });
      s = await settled(repo, "main", h3);
      // The watchdog saw the failed execution: export-failed with the reason.
      expect(s.state).toBe("export-failed");
      expect(s.errorMessage).toContain("FAILED");
      await settleFailedExport(repo, "main");
      const r2 = await lakeport(["export", "repair", `lakefs://${repo}@main`]);
      expect(r2.code, r2.stderr + r2.stdout).toBe(0);
      expect(await settled(repo, "main", h3)).toMatchObject({ lastExportedCommit: h3 });
      await expectMirror(repo, "main", prefix);
    } finally {
      cloud.runtime.clearFaults();
    }
  }, 120_000);

  it("copies objects above the multipart threshold with UploadPartCopy", async () => {
    const repo = await createRepo("multipart");
    const prefix = `multipart-${repo}`;
    const big = "0123456789abcdef".repeat(320); // 5 120 bytes: 5 parts of 1 024
    await commitChanges(repo, "main", {
      put: { "big.bin": { content: big, contentType: "application/x-big", metadata: { k: "v" } } },
    });
    await admin.resetRequestCounts({ bucket: outBucket });
    await setExport(repo, "main", { prefix });
    await settled(repo, "main", await headOf(repo, "main"));
    const counts = await admin.requestCounts({ bucket: outBucket });
    expect(counts.byOperation.UploadPartCopy, JSON.stringify(counts)).toBe(5);
    expect(counts.byOperation.CompleteMultipartUpload).toBe(1);
    await expectMirror(repo, "main", prefix);
  }, 120_000);

  it("repair after a partial failure brings every path the failed export touched back to the head: byte for byte, markers included, nothing stale", async () => {
    const repo = await createRepo("reconcile");
    const prefix = `reconcile-${repo}`;
    const regex = ["^[abn]/$"];
    await commitChanges(repo, "main", {
      put: { "a/1.txt": "a1", "a/2.txt": "a2", "b/1.txt": "b1" },
    });
    await setExport(repo, "main", { prefix, regex });
    await settled(repo, "main", await headOf(repo, "main"));
    await expectMirror(repo, "main", prefix, regex);

    // The failed export: nothing can be put into b/ (its marker can be deleted); a/ and n/ are
    // written, with their markers, and b/ loses the first export's.
    const rule = await admin.deny({ bucket: outBucket, prefix: `${prefix}/b/`, access: "put" });
    let failedHead: string;
    try {
      failedHead = await commitChanges(repo, "main", {
        put: {
          "a/1.txt": { content: "a1-v2", contentType: "text/plain", metadata: { v: "2" } },
          "a/4.txt": "a4",
          "n/x.txt": "nx",
          "b/3.txt": "b3",
        },
      });
      expect((await settled(repo, "main", failedHead)).state).toBe("export-failed");
      expect(await text(outBucket, `${prefix}/a/4.txt`)).toBe("a4");
      expect(await listAll(outBucket, `${prefix}/n/`)).toEqual([
        `${prefix}/n/_lakefs_success`,
        `${prefix}/n/x.txt`,
      ]);
      expect(await listAll(outBucket, `${prefix}/b/`)).toEqual([`${prefix}/b/1.txt`]);
    } finally {
      await admin.removeDenyRule(rule.id);
    }
    // While failed, a commit deletes what the failed export had copied: a/4.txt and all of n/.
    const head = await commitChanges(repo, "main", { del: ["a/4.txt", "n/x.txt"] });
    await new Promise((r) => setTimeout(r, 300));
    expect(await settled(repo, "main")).toMatchObject({
      state: "export-failed",
      currentRef: failedHead,
    });
    const repair = await lakeport(["export", "repair", `lakefs://${repo}@main`]);
    expect(repair.code, repair.stderr + repair.stdout).toBe(0);
    expect(await settled(repo, "main", head)).toMatchObject({
      state: "export-repaired",
      lastExportedCommit: head,
      // The diff since the last success plus what the failed export touched, not a listing.
      mode: "incremental",
    });
    await expectMirror(repo, "main", prefix, regex);
    expect(await listAll(outBucket, `${prefix}/n/`)).toEqual([]);
    expect(await statusLineOf(prefix, repo, "main", head)).toEqual({
      status: "export-repaired",
      signalledErrors: 0,
    });
  }, 120_000);

  it("repair --full restores an export damaged from outside, copying only what differs", async () => {
    const repo = await createRepo("damaged");
    const prefix = `damaged-${repo}`;
    const regex = ["^t/"];
    await commitChanges(repo, "main", {
      put: Object.fromEntries(
        Array.from({ length: 12 }, (_, i) => [`t/${i % 3}/f${i}.txt`, `${i}`]),
      ),
    });
    await setExport(repo, "main", { prefix, regex });
    const head = await headOf(repo, "main");
    await settled(repo, "main", head);
    // Damage: changed bytes, an extra object, a lost marker, lakeFS configuration.
    const put = (key: string, body: string) =>
      s3.send(new PutObjectCommand({ Bucket: outBucket, Key: `${prefix}/${key}`, Body: body }));
    await put("t/0/f0.txt", "tampered");
    await put("t/9/extra.txt", "extra");
    await put("_lakefs_actions/lakeport.yaml", "X-Lakeport-Token: secret");
    await s3.send(
      new DeleteObjectCommand({ Bucket: outBucket, Key: `${prefix}/t/1/_lakefs_success` }),
    );
    // Not failed: a plain repair has nothing to do; --full reconciles anyway.
    const plain = await lakeport(["export", "repair", `lakefs://${repo}@main`]);
    expect(plain.code).toBe(3);
    expect(plain.stderr).toContain("nothing to repair");
    await admin.resetRequestCounts({ bucket: outBucket });
    const full = await lakeport(["export", "repair", `lakefs://${repo}@main`, "--full"]);
    expect(full.code, full.stderr + full.stdout).toBe(0);
    expect(full.stdout).toContain("full reconciliation of the export path");
    expect(await settled(repo, "main", head)).toMatchObject({
      state: "export-repaired",
      mode: "full-compare",
    });
    await expectMirror(repo, "main", prefix, regex);
    // Only the damaged object was copied again.
    const counts = await admin.requestCounts({ bucket: outBucket });
    expect(counts.byOperation.CopyObject ?? 0, JSON.stringify(counts.byOperation)).toBe(1);
    expect(await statusLineOf(prefix, repo, "main", head)).toEqual({
      status: "export-repaired",
      signalledErrors: 0,
    });
  }, 120_000);

  it("changing the export path or the marker expressions: the next export is a full one to the new configuration; the old path is left as it is", async () => {
    const repo = await createRepo("reconfig");
    const one = `reconfig-${repo}/one`;
    const two = `reconfig-${repo}/two`;
    await commitChanges(repo, "main", {
      put: Object.fromEntries(
        Array.from({ length: 40 }, (_, i) => [`d${i % 4}/f${i}.txt`, `v${i}`]),
      ),
    });
    await setExport(repo, "main", { prefix: one, regex: ["^d[01]/$"] });
    await settled(repo, "main", await headOf(repo, "main"));
    const head = await commitChanges(repo, "main", {
      put: { "d0/f0.txt": "changed" },
      del: ["d3/f3.txt"],
    });
    await settled(repo, "main", head);
    await expectMirror(repo, "main", one, ["^d[01]/$"]);
    const oldKeys = await listAll(outBucket, `${one}/`);

    // A new path: stored, then a full export there; the CLI says the old path stays.
    const moved = await setExport(repo, "main", { prefix: two, regex: ["^d[01]/$"] });
    const lines = moved.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^configuration stored \(version 2, continuous\)$/);
    expect(lines[1]).toContain(`s3://${outBucket}/${one} is left as it is`);
    expect(lines[2]).toMatch(/^export \S+ started: .* -> .*, full export$/);
    expect(await settled(repo, "main", head)).toMatchObject({
      state: "exported-successfully",
      lastExportedCommit: head,
      configVersion: 2,
      exportedConfigVersion: 2,
      mode: "full-copy",
    });
    await expectMirror(repo, "main", two, ["^d[01]/$"]);
    expect(await listAll(outBucket, `${one}/`)).toEqual(oldKeys);
    const index = JSON.parse(
      await text(outBucket, `status/${two}/${repo}-main-${head}.manifest.json`),
    );
    expect(index.entries).toBe(39);

    // Other marker expressions at the same path: stale markers go, the new ones come.
    const remarked = await setExport(repo, "main", { prefix: two, regex: ["^d[23]/$"] });
    expect(remarked.stdout).toContain("the marker expressions changed");
    expect(await settled(repo, "main", head)).toMatchObject({
      exportedConfigVersion: 3,
      mode: "full-copy",
    });
    await expectMirror(repo, "main", two, ["^d[23]/$"]);

    // The same configuration again changes nothing; the next commit is incremental.
    const same = await setExport(repo, "main", { prefix: two, regex: ["^d[23]/$"] });
    expect(same.stdout).toContain("already up to date");
    const next = await commitChanges(repo, "main", { put: { "d2/new.txt": "new" } });
    expect(await settled(repo, "main", next)).toMatchObject({
      mode: "incremental",
      exportedConfigVersion: 3,
    });
    await expectMirror(repo, "main", two, ["^d[23]/$"]);
  }, 120_000);

  it("a commit that empties a directory: no objects and no marker remain there", async () => {
    const repo = await createRepo("emptied");
    const prefix = `emptied-${repo}`;
    const regex = ["^logs/$", "^logs/[^/]+/$"];
    await commitChanges(repo, "main", {
      put: { "logs/d1/a.log": "a", "logs/d1/b.log": "b", "logs/d2/c.log": "c", "top.txt": "t" },
    });
    await setExport(repo, "main", { prefix, regex });
    await settled(repo, "main", await headOf(repo, "main"));
    expect(await listAll(outBucket, `${prefix}/logs/d1/`)).toContain(
      `${prefix}/logs/d1/_lakefs_success`,
    );
    const h1 = await commitChanges(repo, "main", { del: ["logs/d1/a.log", "logs/d1/b.log"] });
    await settled(repo, "main", h1);
    expect(await listAll(outBucket, `${prefix}/logs/d1/`)).toEqual([]);
    await expectMirror(repo, "main", prefix, regex);
    // Emptying the parent too removes its marker as well.
    const h2 = await commitChanges(repo, "main", { del: ["logs/d2/c.log"] });
    await settled(repo, "main", h2);
    expect(await listAll(outBucket, `${prefix}/logs/`)).toEqual([]);
    await expectMirror(repo, "main", prefix, regex);
  }, 120_000);

  it("bad export and status paths: 400 naming the field (or the setting), nothing stored", async () => {
    const repo = await createRepo("badpath");
    // Another repository whose storage namespace lives in the export bucket.
    const other = uniqueName("otherrepo");
    const otherNs = `s3://${outBucket}/lakefs/${other}`;
    await lakefs.createRepository({
      name: other,
      storage_namespace: otherNs,
      default_branch: "main",
    });
    const cfg = `${branchPath(repo, "main")}/continuous-export`;
    const good = { exportPath: `s3://${outBucket}/badpath-${repo}`, isContinuous: false };
    // Another branch's export.
    await lakefs.createBranch(repo, "side", "main");
    const side = `s3://${outBucket}/badpath-${repo}-side`;
    expect(
      (
        await call("PUT", `${branchPath(repo, "side")}/continuous-export`, {
          exportPath: side,
          exportStatusPath: `${side}-status`,
        })
      ).status,
    ).toBe(200);
    expect((await call("PUT", cfg, good)).status).toBe(200);
    const before = await call("GET", cfg);
    const executionsBefore = (await executionsOf(repo, "main")).length;
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        "a .. segment",
        { exportPath: `s3://${outBucket}/x/../y` },
        /^exportPath: must not contain \. or \.\. path segments$/,
      ],
      [
        "a . segment",
        { exportPath: `s3://${outBucket}/./y` },
        /^exportPath: must not contain \. or \.\. path segments$/,
      ],
      [
        "an empty segment",
        { exportPath: `s3://${outBucket}/x//y` },
        /^exportPath: must not contain an empty path segment$/,
      ],
      [
        "an IP address bucket",
        { exportPath: "s3://192.168.1.1/x" },
        /^exportPath: bucket "192\.168\.1\.1" must not be formatted as an IP address$/,
      ],
      [
        "adjacent dots in the bucket",
        { exportPath: "s3://a..b/x" },
        /^exportPath: bucket "a\.\.b" must not contain two adjacent dots$/,
      ],
      [
        "a query",
        { exportPath: `s3://${outBucket}/x?versionId=3` },
        /^exportPath: must not contain \? or #/,
      ],
      [
        "a fragment",
        { exportPath: `s3://${outBucket}/x#y` },
        /^exportPath: must not contain \? or #/,
      ],
      [
        "another repository's storage namespace",
        { exportPath: `${otherNs}/exported` },
        new RegExp(
          `^exportPath: ${otherNs}/exported overlaps the storage namespace ${otherNs} of repository "${other}"$`,
        ),
      ],
      [
        "a parent of another repository's namespace",
        { exportPath: `s3://${outBucket}/lakefs/` },
        new RegExp(
          `^exportPath: s3://${outBucket}/lakefs overlaps the storage namespace ${otherNs}`,
        ),
      ],
      [
        "a status path in another repository's namespace",
        { exportPath: `s3://${outBucket}/ok`, exportStatusPath: `${otherNs}/status` },
        /^exportStatusPath: .* overlaps the storage namespace/,
      ],
      [
        "inside another branch's export path",
        { exportPath: `${side}/nested` },
        new RegExp(
          `^exportPath: ${side}/nested overlaps the export path ${side} of lakefs://${repo}@side`,
        ),
      ],
      [
        "another branch's status path",
        { exportPath: `${side}-status` },
        /^exportPath: .* overlaps the status path .* of lakefs:\/\/.*@side/,
      ],
      [
        "status files in another branch's export path",
        { exportPath: `s3://${outBucket}/ok`, exportStatusPath: `${side}/status` },
        /^exportStatusPath: .* overlaps the export path .* of lakefs:\/\/.*@side/,
      ],
      [
        "a bucket outside exportBuckets",
        { exportPath: "s3://not-an-export-bucket/x" },
        /^exportPath: bucket "not-an-export-bucket" is not in this deployment's exportBuckets setting .*LAKEPORT_EXPORT_BUCKETS/,
      ],
      [
        "a status bucket outside exportBuckets",
        { exportPath: `s3://${outBucket}/ok`, exportStatusPath: "s3://not-an-export-bucket/s" },
        /^exportStatusPath: bucket "not-an-export-bucket" is not in this deployment's exportBuckets/,
      ],
      [
        "status files inside the export path",
        { exportPath: `s3://${outBucket}/ok`, exportStatusPath: `s3://${outBucket}/ok/_status` },
        /^exportStatusPath: .* overlaps exportPath/,
      ],
    ];
    for (const [name, body, message] of cases) {
      const r = await call("PUT", cfg, { isContinuous: true, ...body });
      expect(r.status, name).toBe(400);
      expect(r.body.message, name).toMatch(message);
    }
    expect(await call("GET", cfg)).toEqual(before);
    expect((await executionsOf(repo, "main")).length).toBe(executionsBefore);
    // The CLI checks the path's form itself, before any request: a usage error naming the flag.
    const r = await lakeport([
      "export",
      "set",
      `lakefs://${repo}@main`,
      "--path",
      "s3://a..b/x",
      "--continuous=false",
    ]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /^lakeport: --path: "s3:\/\/a\.\.b\/x" is not a valid S3 location: bucket "a\.\.b"/,
    );
    // One whose form is good but the API refuses (another branch's path): the API's message,
    // with the API error code.
    const refused = await lakeport([
      "export",
      "set",
      `lakefs://${repo}@main`,
      "--path",
      `${side}/nested`,
      "--continuous=false",
    ]);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain(`exportPath: ${side}/nested overlaps the export path ${side}`);
    expect(await call("GET", cfg)).toEqual(before);
  }, 120_000);

  it("bursts of commits: no two executions of a branch overlap (20 bursts, executions from the Step Functions endpoint)", async () => {
    const repo = await createRepo("burst");
    const prefix = `burst-${repo}`;
    await setExport(repo, "main", { prefix, status: false });
    await settled(repo, "main", await headOf(repo, "main"));
    for (let b = 0; b < 20; b++) {
      for (let i = 0; i < 3; i++) {
        await commitChanges(repo, "main", { put: { [`b${b}/${i}.txt`]: `${b}.${i}` } });
      }
      await settled(repo, "main", await headOf(repo, "main"));
    }
    const execs = await executionsOf(repo, "main");
    expect(execs.length).toBeGreaterThan(20);
    for (let i = 1; i < execs.length; i++) {
      expect(
        execs[i]!.start,
        `${execs[i]!.name} started before ${execs[i - 1]!.name} stopped`,
      ).toBeGreaterThanOrEqual(execs[i - 1]!.stop);
    }
    expect(execs.every((e) => e.status === "SUCCEEDED")).toBe(true);
    await expectMirror(repo, "main", prefix);
  }, 300_000);

  it("the lakeFS dev server fails an action run whose secret variable is not set, as lakeFS does: no webhook is called", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "lakeport-export-nosecret-"));
    const bare = await startLakeFsDevServer({
      dataDir: dir,
      s3: {
        endpoint: inject("s3Endpoint"),
        region: TEST_REGION,
        credentials: LOCAL_S3_CREDENTIALS,
      },
      credentials: KEYS,
      actionEnv: { values: {} },
    });
    try {
      const client = new LakeFsClient({ endpoint: bare.endpoint, credentials: KEYS });
      const repo = uniqueName("nosecret");
      await client.createRepository({
        name: repo,
        storage_namespace: `s3://${nsBucket}/${repo}`,
        default_branch: "main",
      });
      await client.uploadObject(repo, "main", "_lakefs_actions/lakeport.yaml", {
        content: ACTION(`${api.endpoint}/api/v1/webhooks/lakefs`),
      });
      await client.commit(repo, "main", { message: "webhook action" });
      await bare.hooksSettled();
      const runs = bare.hookRuns();
      expect(runs).toHaveLength(1);
      expect(runs[0]?.error).toMatch(/LAKEFSACTION_LAKEPORT_TOKEN not found/);
      expect(runs[0]?.status).toBeUndefined();
    } finally {
      await bare.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a first data commit of 2 500 objects after the export began: planned from the commit's listing (one diff page), the path mirrors the commit; an exported object in the earlier commit keeps the diff", async () => {
    const srcKey = "linked/first-commit/shared.bin";
    await s3.send(new PutObjectCommand({ Bucket: nsBucket, Key: srcKey, Body: "first" }));
    const link = {
      staging: { physical_address: `s3://${nsBucket}/${srcKey}` },
      checksum: createHash("md5").update("first").digest("hex"),
      size_bytes: 5,
    };
    const paths = Array.from({ length: 2_500 }, (_, i) => `d/f${String(i).padStart(5, "0")}.bin`);
    // The export of the repository's first commit (the webhook action only) exports nothing;
    // in `earlier`, it exported zz/old.csv, which the big commit deletes.
    for (const earlier of [false, true]) {
      const repo = await createRepo(earlier ? "first-old" : "first");
      const prefix = `first-${repo}`;
      if (earlier) await commitChanges(repo, "main", { put: { "zz/old.csv": "old" } });
      await setExport(repo, "main", { prefix });
      await settled(repo, "main", await headOf(repo, "main"));
      await linkAll(repo, "main", paths, link);
      if (earlier) await lakefs.deleteObject(repo, "main", "zz/old.csv");
      lakefsServer.resetStats();
      const c = await lakefs.commit(repo, "main", { message: "2 500 objects" });
      await lakefsServer.hooksSettled();
      const done = await settled(repo, "main", c.id, 180_000);
      const calls = lakefsServer.stats().byOperation;
      expect(await statusLineOf(prefix, repo, "main", c.id)).toEqual({
        status: "exported-successfully",
        signalledErrors: 0,
      });
      const exported = (await listAll(outBucket, `${prefix}/`)).map((k) =>
        k.slice(prefix.length + 1),
      );
      expect(exported).toEqual(paths);
      expect(await text(outBucket, `${prefix}/d/f02499.bin`)).toBe("first");
      expect(calls.diffRefs, JSON.stringify(calls)).toBe(earlier ? 3 : 1);
      // The manifest is the commit's. From a commit that exported nothing, the plan's tasks are
      // the whole commit: manifest groups wrote it beside the copies, as for a full export.
      const index = JSON.parse(
        await text(outBucket, `status/${prefix}/${repo}-main-${c.id}.manifest.json`),
      );
      const manifestPaths: string[] = [];
      for (const part of index.parts) {
        for (const l of (await text(outBucket, part.key)).split("\n").filter(Boolean))
          manifestPaths.push(JSON.parse(l).path);
      }
      expect(index.entries).toBe(paths.length);
      expect(manifestPaths).toEqual(paths);
      const groups = await listAll(workBucket, `exports/${done.exportId}/manifest/`);
      expect(groups.length).toBe(earlier ? 0 : 1);
    }
  }, 300_000);

  it("an incremental export of 1 change in a 10 000-object branch: < 50 S3 requests, < 20 lakeFS calls", async () => {
    const repo = await createRepo("big");
    const prefix = `big-${repo}`;
    const srcKey = `linked/${repo}/shared.bin`;
    await s3.send(new PutObjectCommand({ Bucket: nsBucket, Key: srcKey, Body: "shared" }));
    const checksum = createHash("md5").update("shared").digest("hex");
    const paths = Array.from(
      { length: 10_000 },
      (_, i) => `d${String(i % 100).padStart(2, "0")}/f${String(i).padStart(5, "0")}.bin`,
    );
    await linkAll(repo, "main", paths, {
      staging: { physical_address: `s3://${nsBucket}/${srcKey}` },
      checksum,
      size_bytes: 6,
    });
    const full = await lakefs.commit(repo, "main", { message: "10 000 objects" });
    await lakefsServer.hooksSettled();
    await setExport(repo, "main", { prefix });
    await settled(repo, "main", full.id, 180_000);
    expect((await listAll(outBucket, `${prefix}/`)).length).toBe(10_000);

    await lakefs.uploadObject(repo, "main", "d07/f00007.bin", { content: "changed" });
    for (const b of [outBucket, workBucket, nsBucket])
      await admin.resetRequestCounts({ bucket: b });
    lakefsServer.resetStats();
    const c = await lakefs.commit(repo, "main", { message: "one change" });
    await lakefsServer.hooksSettled();
    await settledWithoutLakeFs(repo, "main", c.id);
    let s3Requests = 0;
    for (const b of [outBucket, workBucket, nsBucket])
      s3Requests += (await admin.requestCounts({ bucket: b })).total;
    const lakeFsCalls = lakefsServer.stats();
    expect(s3Requests).toBeLessThan(50);
    expect(lakeFsCalls.requests, JSON.stringify(lakeFsCalls.byOperation)).toBeLessThan(20);
    expect(await text(outBucket, `${prefix}/d07/f00007.bin`)).toBe("changed");
    expect(await statusLineOf(prefix, repo, "main", c.id)).toEqual({
      status: "exported-successfully",
      signalledErrors: 0,
    });
  }, 300_000);
});
