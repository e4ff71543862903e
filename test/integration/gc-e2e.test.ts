// Garbage collection end to end: the GC construct synthesized (esbuild bundles of the GC
// Lambdas) and deployed on the local cloud, the lakeFS development server with a repository
// of dated commits, branches with different retention, a merge, a tag, staged entries and an
// object linked from outside the namespace; runs started with the `lakeport` CLI through the
// local API server (real handlers, Step Functions endpoint of the local cloud).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { App, Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as logs from "aws-cdk-lib/aws-logs";
import * as cdkS3 from "aws-cdk-lib/aws-s3";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import { parquetReadObjects } from "hyparquet";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { GcWorkflow } from "../../infra/constructs/gc";
import { Storage } from "../../infra/constructs/storage";
import { depsFromEnv } from "../../lambdas/api/deps";
import { createGcHandler } from "../../lambdas/api/handlers/gc";
import { parseCommitsCsv } from "../../lambdas/gc/domain/reports";
import { LakeFsClient } from "../../lambdas/shared/lakefs/client";
import { type ApiServerHandle, startApiServer } from "../../local/api/server";
import { type LocalCloudHandle, startLocalCloud } from "../../local/cloud";
import { type LakeFsDevServerHandle, startLakeFsDevServer } from "../../local/lakefs/server";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/server";
import { TEST_REGION, testS3Client, uniqueName } from "../support/clients";
import { lakeportRestApi } from "../support/lakeport-env";
import { signedJson } from "../support/signed-fetch";
import { stackOutdir } from "../support/stack-outdir";

const KEYS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "gc-e2e-secret" };
const DAY = 86_400;
const s3 = testS3Client();
const bin = path.resolve(__dirname, "../../cli/bin.mjs");

let outdir: string;
let dataDir: string;
let lakefsServer: LakeFsDevServerHandle;
let lakefs: LakeFsClient;
let cloud: LocalCloudHandle;
let api: ApiServerHandle;
let copyMachineArn: string;
const nsBucket = uniqueName("gc-ns");
const extBucket = uniqueName("gc-ext");
const backupBucket = uniqueName("gc-backup");
const repo = uniqueName("gcrepo");
const namespace = `s3://${nsBucket}/repos/${repo}`;

/** Everything the scenario wrote: path@commit -> {content, address}. */
interface Written {
  ref: string;
  path: string;
  content: string;
  address: string;
}
const written: Record<string, Written> = {};
const commits: Record<string, string> = {};

function lakeport(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        env: {
          ...process.env,
          LAKEPORT_ENDPOINT: api.endpoint,
          LAKEPORT_POLL_MS: "100",
          AWS_ENDPOINT_URL_S3: inject("s3Endpoint"),
          AWS_REGION: TEST_REGION,
          AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
          LAKEPORT_S3_FORCE_PATH_STYLE: "true",
          AWS_ENDPOINT_URL_SFN: cloud.endpoints.stepfunctions,
        },
      },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}

async function upload(branch: string, p: string, content: string, label: string) {
  const stats = await lakefs.uploadObject(repo, branch, p, { content });
  written[label] = { ref: branch, path: p, content, address: stats.physical_address };
}

async function commit(branch: string, label: string, daysAgo: number) {
  const now = Math.floor(Date.now() / 1000);
  const c = await lakefs.commit(repo, branch, { message: label, date: now - daysAgo * DAY });
  commits[label] = c.id;
  return c.id;
}

function synth(dir: string, lakeFsEndpoint: string) {
  const app = new App({ outdir: dir, context: { "aws:cdk:enable-asset-metadata": true } });
  const stack = new Stack(app, "GcE2e", { env: { region: TEST_REGION } });
  const storage = new Storage(stack, "Storage");
  new GcWorkflow(stack, "Gc", {
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
    exportBuckets: [cdkS3.Bucket.fromBucketName(stack, "Backup", backupBucket)],
    maxConcurrency: 4,
    logRetention: logs.RetentionDays.ONE_DAY,
    maxMarkAgeHours: 24,
  });
  app.synth();
}

/** The scenario of the "Done when" list; see the expectations in the tests. */
async function buildRepository() {
  await lakefs.createRepository({ name: repo, storage_namespace: namespace });
  // main, 20 days ago: a, b, keep, old, and ext linked from outside the namespace.
  await upload("main", "a.txt", "A0 first a", "A0");
  await upload("main", "b.txt", "B0 b, later only staged", "B0");
  await upload("main", "keep.txt", "K0 kept forever", "K0");
  await upload("main", "old.txt", "O0 old, deleted soon", "O0");
  const extKey = "imported/ext.bin";
  await s3.send(new PutObjectCommand({ Bucket: extBucket, Key: extKey, Body: "EXT outside" }));
  await lakefs.linkPhysicalAddress(repo, "main", "ext.txt", {
    physicalAddress: `s3://${extBucket}/${extKey}`,
    checksum: createHash("md5").update("EXT outside").digest("hex"),
    sizeBytes: 11,
  });
  written.EXT = {
    ref: "main",
    path: "ext.txt",
    content: "EXT outside",
    address: `s3://${extBucket}/${extKey}`,
  };
  await commit("main", "c0", 20);
  // 15 days ago: a changes, b, old and ext deleted; tag v1 (default retention).
  await upload("main", "a.txt", "A1 second a", "A1");
  for (const p of ["b.txt", "old.txt", "ext.txt"]) await lakefs.deleteObject(repo, "main", p);
  await commit("main", "c1", 15);
  await lakefs.createTag(repo, "v1", commits.c1!);
  await lakefs.createBranch(repo, "dev", commits.c1!);
  await upload("main", "a.txt", "A2 third a", "A2");
  await commit("main", "c2", 10);
  await lakefs.createBranch(repo, "feature", commits.c2!);
  await upload("main", "a.txt", "A3 fourth a", "A3");
  await commit("main", "c3", 6);
  // dev (kept 3 days): d1 expired, d2 its head.
  await upload("dev", "d.txt", "D1 first d", "D1");
  await commit("dev", "d1", 10);
  await upload("dev", "d.txt", "D2 second d", "D2");
  await commit("dev", "d2", 5);
  // feature: merged into main, then deleted; its commit is expired, its object merged.
  await upload("feature", "f.txt", "F1 feature file", "F1");
  await commit("feature", "f1", 8);
  commits.m = await lakefs.merge(repo, "feature", "main", { message: "merge feature" });
  await lakefs.deleteBranch(repo, "feature");
  // twin: the same content at the same path on a branch and on main. lakeFS's merge writes the
  // source's entry when both sides hold the same identity (size, ETag, metadata, content
  // type), so main then reads the branch's object, and no diff of main shows the change. The
  // branch is deleted; its commit t1 expires.
  await lakefs.createBranch(repo, "twin", commits.m!);
  await upload("twin", "same.txt", "SAME on both sides", "T1");
  await commit("twin", "t1", 9);
  await upload("main", "same.txt", "SAME on both sides", "T0");
  await commit("main", "c4", 1);
  commits.m2 = await lakefs.merge(repo, "twin", "main", { message: "merge twin" });
  await lakefs.deleteBranch(repo, "twin");
  // main moves on: only the kept commit m2 still references twin's object.
  await upload("main", "same.txt", "NEW on main", "T2");
  await commit("main", "c5", 0);
  // Staged on main: a new object, and a link to B0 (otherwise only referenced by c0).
  await upload("main", "s.txt", "S staged only", "S");
  await lakefs.linkPhysicalAddress(repo, "main", "b-again.txt", {
    physicalAddress: written.B0!.address,
    checksum: createHash("md5").update(written.B0!.content).digest("hex"),
    sizeBytes: written.B0!.content.length,
  });
}

/** Namespace keys (relative) of the addresses only expired commits reference. */
const expectedMarked = () =>
  ["A0", "O0", "D1"].map((l) => written[l]!.address.slice(`${namespace}/`.length)).sort();

/** Where each object can be read through lakeFS: [ref, path, label]. */
const readable: [string, string, string][] = [
  ["c0", "b.txt", "B0"],
  ["c0", "keep.txt", "K0"],
  ["c0", "ext.txt", "EXT"],
  ["c1", "a.txt", "A1"],
  ["c2", "a.txt", "A2"],
  ["c3", "a.txt", "A3"],
  ["d2", "d.txt", "D2"],
  ["f1", "f.txt", "F1"],
  ["m", "f.txt", "F1"],
  ["c4", "same.txt", "T0"],
  ["t1", "same.txt", "T1"],
  ["m2", "same.txt", "T1"],
  ["main", "same.txt", "T2"],
  ["main", "s.txt", "S"],
  ["main", "b-again.txt", "B0"],
];
const swept: [string, string, string][] = [
  ["c0", "a.txt", "A0"],
  ["c0", "old.txt", "O0"],
  ["d1", "d.txt", "D1"],
];
const refOf = (label: string) => commits[label] ?? label;

async function readThroughLakeFs(ref: string, p: string): Promise<string | number> {
  try {
    const o = await lakefs.getObject(repo, refOf(ref), p);
    return new TextDecoder().decode(o.body);
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}

async function expectSwept() {
  for (const [ref, p] of swept) expect(await readThroughLakeFs(ref, p), `${ref}:${p}`).toBe(410);
}
async function expectReadable(list: [string, string, string][]) {
  for (const [ref, p, label] of list) {
    expect(await readThroughLakeFs(ref, p), `${ref}:${p}`).toBe(written[label]!.content);
  }
}

async function text(bucket: string, key: string): Promise<string> {
  const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return o.Body!.transformToString("utf8");
}
async function keysUnder(bucket: string, prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((c) => c.Key!).sort();
}
async function parquetAddresses(bucket: string, prefix: string): Promise<string[]> {
  const all: string[] = [];
  for (const key of await keysUnder(bucket, prefix)) {
    const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = await o.Body!.transformToByteArray();
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const rows = await parquetReadObjects({ file: file as ArrayBuffer });
    for (const r of rows) all.push(String(r.address));
  }
  return all.sort();
}
const nsKey = (rel: string) => `repos/${repo}/${rel}`;

async function runGc(args: string[]) {
  const r = await lakeport(["gc", "run", `lakefs://${repo}`, "--wait", "--json", ...args]);
  const json = r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  return { ...r, run: json };
}

beforeAll(async () => {
  for (const b of [nsBucket, extBucket, backupBucket]) {
    await s3.send(new CreateBucketCommand({ Bucket: b }));
  }
  dataDir = mkdtempSync(path.join(os.tmpdir(), "lakeport-gc-lakefs-"));
  lakefsServer = await startLakeFsDevServer({
    dataDir,
    s3: { endpoint: inject("s3Endpoint"), region: TEST_REGION, credentials: LOCAL_S3_CREDENTIALS },
    credentials: KEYS,
  });
  lakefs = new LakeFsClient({ endpoint: lakefsServer.endpoint, credentials: KEYS });
  outdir = await stackOutdir("gc-e2e-stack");
  synth(outdir, lakefsServer.endpoint);
  cloud = await startLocalCloud({
    assemblyDir: outdir,
    stackName: "GcE2e",
    s3: { endpoint: inject("s3Endpoint"), credentials: LOCAL_S3_CREDENTIALS, region: TEST_REGION },
    dynamodbEndpoint: inject("dynamoDbEndpoint"),
    lambdaEnv: {
      LAKEFS_ACCESS_KEY_ID: KEYS.accessKeyId,
      LAKEFS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
      // Several mark partitions (and sweep parts) even for this small repository.
      GC_ADDRESSES_PER_PARTITION: "400000",
    },
    runnerOptions: { retryDelayScale: 0.001 },
  });
  const table = cloud.deployment.resources.find((r) => r.type === "AWS::DynamoDB::Table")!;
  const machine = cloud.deployment.resources.find((r) => r.logicalId.startsWith("GcStateMachine"))!;
  const copyMachine = cloud.deployment.resources.find((r) =>
    r.logicalId.startsWith("GcCopyStateMachine"),
  )!;
  copyMachineArn = copyMachine.arn ?? copyMachine.physicalId;
  const deps = await depsFromEnv({
    TABLE_NAME: table.physicalId,
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: inject("dynamoDbEndpoint"),
    AWS_ENDPOINT_URL_SFN: cloud.endpoints.stepfunctions,
    LAKEFS_ENDPOINT: lakefsServer.endpoint,
    LAKEFS_ACCESS_KEY_ID: KEYS.accessKeyId,
    LAKEFS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
    GC_STATE_MACHINE_ARN: machine.arn ?? machine.physicalId,
  });
  api = await startApiServer({
    restApi: await lakeportRestApi(),
    handlers: { gc: createGcHandler(() => deps) },
  });
  await buildRepository();
  const rulesFile = path.join(dataDir, "rules.json");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(
    rulesFile,
    JSON.stringify({
      default_retention_days: 5,
      branches: [
        { branch_id: "main", retention_days: 7 },
        { branch_id: "dev", retention_days: 3 },
      ],
    }),
  );
  const set = await lakeport(["gc", "set-config", `lakefs://${repo}`, "-f", rulesFile]);
  expect(set.stderr).toBe("");
  expect(set.code).toBe(0);
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await cloud?.stop();
  await lakefsServer?.stop();
  for (const d of [outdir, dataDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe("GC end to end through the CLI, the API and the deployed GC workflow", () => {
  it("refuses a sweep-only run of an unknown mark id with a clear message", async () => {
    const r = await runGc(["--sweep-only", "--mark-id", "no-such-mark"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('mark id "no-such-mark" not found');
  });

  it("mark only writes commits.csv, Parquet and text lists and deletes nothing", async () => {
    const r = await runGc(["--mark-only", "--mark-id", "m1"]);
    expect(r.stderr).not.toContain("failed");
    expect(r.code).toBe(0);
    expect(r.run).toMatchObject({ status: "succeeded", mode: "mark-only", mark_id: "m1" });
    expect(r.run.counts).toMatchObject({ markedAddresses: 3, expiredCommits: 5 });
    const runId = r.run.run_id as string;

    const csv = parseCommitsCsv(
      await text(nsBucket, nsKey(`_lakefs/retention/gc/commits/run_id=${runId}/commits.csv`)),
    );
    const expired = csv.filter((c) => c.expired).map((c) => c.commitId);
    const active = csv.filter((c) => !c.expired).map((c) => c.commitId);
    expect(active.sort()).toEqual(
      ["c1", "c2", "c3", "c4", "c5", "d2", "m", "m2"].map(refOf).sort(),
    );
    expect(expired).toHaveLength(5); // c0, d1, f1, t1 and the repository's first commit
    expect(expired).toEqual(expect.arrayContaining(["c0", "d1", "f1", "t1"].map(refOf)));
    // The merge really switched main to twin's object (T1 is kept through m2's tree only).
    const merged = await lakefs.statObject(repo, refOf("m2"), "same.txt");
    expect(merged.physical_address).toBe(written.T1!.address);
    expect(written.T1!.address).not.toBe(written.T0!.address);

    const parquet = await parquetAddresses(
      nsBucket,
      nsKey("_lakefs/retention/gc/addresses/mark_id=m1/"),
    );
    expect(parquet).toEqual(expectedMarked());
    const textKeys = await keysUnder(
      nsBucket,
      nsKey("_lakefs/retention/gc/addresses.text/mark_id=m1/"),
    );
    expect(textKeys.length).toBeGreaterThan(1); // several partitions
    expect(textKeys.every((k) => /part-\d{5}\.txt$/.test(k))).toBe(true);
    let lines: string[] = [];
    for (const k of textKeys) lines = lines.concat((await text(nsBucket, k)).split("\n"));
    expect(lines.filter(Boolean).sort()).toEqual(expectedMarked());
    const logged = await parquetAddresses(nsBucket, nsKey("_lakefs/logs/gc/expired_addresses/"));
    expect(logged).toEqual(expectedMarked());
    const summary = JSON.parse(
      await text(nsBucket, nsKey(`_lakefs/retention/gc/summary/run_id=${runId}.json`)),
    );
    expect(summary).toMatchObject({
      run_id: runId,
      mark_id: "m1",
      mode: "mark-only",
      success: true,
    });
    await expectReadable([...readable, ...swept]);
  }, 120_000);

  it("backup, interrupted sweep, sweep again, restore: objects back byte for byte", async () => {
    const backup = await lakeport([
      "gc",
      "backup",
      `lakefs://${repo}`,
      "--mark-id",
      "m1",
      "--to",
      `s3://${backupBucket}/bk`,
    ]);
    expect(backup.stderr).not.toContain("lakeport:");
    expect(backup.code).toBe(0);
    // A progress line while it copies (not a terminal: plain lines), then the counts.
    const marked = expectedMarked().length.toLocaleString("en-US");
    expect(backup.stderr).toMatch(/^gc backup of mark m1: copying \d[\d,]*(\/[\d,]+)? objects, /m);
    expect(backup.stdout).toMatch(
      new RegExp(
        `^gc backup of mark m1: ${marked} copied \\([\\d.]+ (B|KiB|MiB)\\), 0 failed in \\d+s \\(${marked} objects\\)\n$`,
      ),
    );
    // The marked objects, and the backup's record of them.
    const absentLists = (keys: string[], at: string) =>
      keys.filter((k) => k.startsWith(`${at}/_lakeport_backup_absent/`));
    const cliKeys = await keysUnder(backupBucket, "bk/");
    expect(cliKeys.filter((k) => !absentLists(cliKeys, "bk").includes(k))).toEqual(
      ["bk/_lakeport_backup.json", ...expectedMarked().map((k) => `bk/${k}`)].sort(),
    );
    // One list of absent objects per part of the mark's list: empty, nothing was swept yet.
    expect(absentLists(cliKeys, "bk").length).toBeGreaterThan(0);
    for (const key of absentLists(cliKeys, "bk")) {
      const list = await s3.send(new GetObjectCommand({ Bucket: backupBucket, Key: key }));
      expect(await list.Body!.transformToString(), key).toBe("");
    }
    // The same backup through the copy workflow (distributed map over the mark's parts).
    const viaWorkflow = await lakeport([
      "gc",
      "backup",
      `lakefs://${repo}`,
      "--mark-id",
      "m1",
      "--to",
      `s3://${backupBucket}/wf`,
      "--workflow",
      copyMachineArn,
    ]);
    expect(viaWorkflow.stderr).not.toContain("lakeport:");
    expect(viaWorkflow.code).toBe(0);
    // Beside the objects, the workflow's backup record: which mark, complete, its counts.
    const wfKeys = await keysUnder(backupBucket, "wf/");
    expect(wfKeys.filter((k) => !absentLists(wfKeys, "wf").includes(k))).toEqual(
      [...expectedMarked().map((k) => `wf/${k}`), "wf/_lakeport_backup.json"].sort(),
    );
    // The workflow's absent lists: the CLI's, part for part.
    expect(absentLists(wfKeys, "wf").map((k) => k.slice(3))).toEqual(
      absentLists(cliKeys, "bk").map((k) => k.slice(3)),
    );
    const record = await s3.send(
      new GetObjectCommand({ Bucket: backupBucket, Key: "wf/_lakeport_backup.json" }),
    );
    expect(JSON.parse(await record.Body!.transformToString())).toMatchObject({
      repository: repo,
      markId: "m1",
      state: "complete",
      counts: { objects: expectedMarked().length, saved: expectedMarked().length, absent: 0 },
    });

    // A backup inside the namespace is refused.
    const inside = await lakeport([
      "gc",
      "backup",
      `lakefs://${repo}`,
      "--mark-id",
      "m1",
      "--to",
      `s3://${nsBucket}/repos/${repo}/backup`,
    ]);
    expect(inside.code).toBe(2);
    expect(inside.stderr).toContain("overlaps the storage namespace");

    // The sweep fails on one of its batches: the run fails and says why.
    cloud.runtime.injectFault({
      function: /SweepFunction/,
      invocation: "next",
      kind: "error",
      errorType: "InjectedFault",
      errorMessage: "sweep batch interrupted",
    });
    const failed = await runGc(["--sweep-only", "--mark-id", "m1"]);
    expect(failed.code).toBe(4);
    // The map stops at its first failed child (tolerated failures: 0), as in AWS.
    expect(failed.stderr).toContain("States.ExceedToleratedFailureThreshold");
    const sweepFn = cloud.deployment.resources.find((r) =>
      r.logicalId.startsWith("GcSweepFunction"),
    )!;
    expect(cloud.runtime.stats(sweepFn.physicalId).errors).toBe(1);
    cloud.runtime.clearFaults();

    const again = await runGc(["--sweep-only", "--mark-id", "m1"]);
    expect(again.stderr.split("\n").filter((l) => l.startsWith("lakeport:"))).toEqual([]);
    expect(again.code).toBe(0);
    expect(again.run).toMatchObject({ status: "succeeded", mode: "sweep-only" });
    expect(again.run.counts).toMatchObject({ deletedObjects: 3, failedDeletes: 0 });
    await expectSwept();
    await expectReadable(readable);
    expect(await parquetAddresses(nsBucket, nsKey("_lakefs/logs/gc/deleted_objects/"))).toEqual(
      expect.arrayContaining(expectedMarked()),
    );
    // A swept mark is used up.
    const twice = await runGc(["--sweep-only", "--mark-id", "m1"]);
    expect(twice.code).toBe(3);
    expect(twice.stderr).toMatch(/409 mark id "m1" was already swept by run .*at most once/);

    const restore = await lakeport([
      "gc",
      "restore",
      `lakefs://${repo}`,
      "--mark-id",
      "m1",
      "--from",
      `s3://${backupBucket}/wf`,
      "--workflow",
      copyMachineArn,
    ]);
    expect(restore.stderr).not.toContain("lakeport:");
    expect(restore.stderr).toContain("mark m1 retired: it will never be swept");
    expect(restore.code).toBe(0);
    await expectReadable([...readable, ...swept]);
    const mark = (
      await signedJson(`${api.endpoint}/api/v1/repositories/${repo}/gc/marks/m1`, {
        credentials: api.credentials,
        region: api.region,
      })
    ).body;
    expect(mark).toMatchObject({
      sweepable: false,
      retired_reason: `restored from s3://${backupBucket}/wf`,
    });
  }, 180_000);

  it("mark and sweep deletes exactly what only expired commits referenced", async () => {
    const r = await runGc([]);
    expect(r.stderr).not.toContain("failed:");
    expect(r.code).toBe(0);
    expect(r.run).toMatchObject({ status: "succeeded", mode: "mark-and-sweep" });
    expect(r.run.counts).toMatchObject({ markedAddresses: 3, deletedObjects: 3 });
    await expectSwept();
    await expectReadable(readable);
    // The object linked from outside the namespace is untouched.
    expect(await text(extBucket, "imported/ext.bin")).toBe("EXT outside");
  }, 120_000);
});
