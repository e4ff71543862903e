// S3 writes of Lakeport whose answer is lost (the embedded S3's lose rules): S3 did the
// request, the SDK sends it again. A conditional write then fails its condition on what its
// first attempt wrote, a copy over a checked destination finds its own copy, a delete finds
// its keys gone. None of it may fail a run, refuse a location, or leave a record or count wrong.
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import type { NodeHttpHandler } from "@smithy/node-http-handler";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runClaimedPlanCall } from "../../lambdas/export/app/plan-call-claim";
import { claimStatusAttempt } from "../../lambdas/export/app/status-attempt";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import { S3GcObjectStore } from "../../lambdas/gc/adapters/s3-object-store";
import {
  claimBackupLocation,
  readBackupRecordVersion,
  updateBackupRecord,
} from "../../lambdas/gc/app/copy-record";
import {
  type BackupOwner,
  backupLocationProblem,
  finishedRecord,
  parseBackupRecord,
  startedRecord,
} from "../../lambdas/gc/domain/backup-record";
import { createS3Client, S3_TIMEOUTS } from "../../lambdas/shared/aws/clients";
import { S3ObjectStore, UPLOAD_PART_BYTES } from "../../lambdas/shared/aws/s3-object-store";
import { copyObject, deleteObjects } from "../../lambdas/shared/s3-copy";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/credentials";
import { type CliGcCopyWorld, startCliGcCopyWorld } from "../support/cli-gc-copy";
import { testS3Admin, testS3Client, uniqueName } from "../support/clients";

const s3 = testS3Client();
const admin = testS3Admin();
const RECORD = "_lakeport_backup.json";

async function newBucket(): Promise<string> {
  const bucket = uniqueName("lost");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

describe("the backup record's conditional writes", () => {
  const owner: BackupOwner = { repository: "r", markId: "m1", storageNamespace: "s3://ns/r" };
  const checks = {
    checkRecord: (existing: Parameters<typeof backupLocationProblem>[0]) => {
      const problem = backupLocationProblem(existing, owner);
      if (problem) throw new Error(problem);
    },
    checkEmpty: async () => undefined,
  };

  it("a claim whose answer is lost claims the location (its own record is no rival)", async () => {
    const bucket = await newBucket();
    const loc = `s3://${bucket}/b`;
    await admin.lose({ count: 1, bucket, operation: "PutObject", prefix: `b/${RECORD}` });
    const store = new S3GcObjectStore(s3);
    const claimed = await claimBackupLocation(store, loc, startedRecord(owner, new Date()), checks);
    const now = await readBackupRecordVersion(store, loc);
    expect(now).toMatchObject({ record: { markId: "m1", state: "in-progress" } });
    expect(now?.etag).toBe(claimed.etag);
  });

  it("an end whose answer is lost leaves the final record", async () => {
    const bucket = await newBucket();
    const loc = `s3://${bucket}/b`;
    const store = new S3GcObjectStore(s3);
    const started = startedRecord(owner, new Date());
    const claimed = await claimBackupLocation(store, loc, started, checks);
    await admin.lose({ count: 1, bucket, operation: "PutObject", prefix: `b/${RECORD}` });
    const counts = { objects: 2, saved: 2, absent: 0, failed: 0 };
    await updateBackupRecord(store, loc, finishedRecord(started, counts, new Date()), claimed.etag);
    expect((await readBackupRecordVersion(store, loc))?.record).toMatchObject({
      state: "complete",
      counts,
    });
  });
});

describe("copies and deletes", () => {
  it("a restore copy (keepExistingDestination) whose answer is lost is a copy", async () => {
    const bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "backup/a", Body: "aaa" }));
    await admin.lose({ count: 1, bucket, operation: "CopyObject" });
    const out = await copyObject(s3, {
      sourceBucket: bucket,
      sourceKey: "backup/a",
      destBucket: bucket,
      destKey: "ns/a",
      keepSourceHeaders: true,
      keepExistingDestination: true,
    });
    expect(out.present).toBeFalsy();
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "ns/a" }));
    expect(await got.Body?.transformToString()).toBe("aaa");
  });

  it("a multipart copy whose completion answer is lost is a copy, not a NoSuchUpload failure", async () => {
    const bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "src", Body: "0123456789" }));
    await admin.lose({ count: 1, bucket, operation: "CompleteMultipartUpload" });
    const out = await copyObject(
      s3,
      { sourceBucket: bucket, sourceKey: "src", destBucket: bucket, destKey: "dst", size: 10 },
      { multipartThresholdBytes: 4, partSizeBytes: 4 },
    );
    expect(out).toMatchObject({ multipart: true, parts: 3, size: 10 });
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "dst" }));
    expect(await got.Body?.transformToString()).toBe("0123456789");
  });

  it("a streamed upload (deleted-objects log, address list) whose completion answer is lost is written", async () => {
    const bucket = await newBucket();
    await admin.lose({ count: 1, bucket, operation: "CompleteMultipartUpload" });
    const upload = new S3ObjectStore(s3).upload(bucket, "log.parquet");
    const chunk = "x".repeat(UPLOAD_PART_BYTES);
    await upload.write(chunk);
    await upload.write("tail");
    await upload.close();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "log.parquet" }));
    expect(head.ContentLength).toBe(UPLOAD_PART_BYTES + 4);
  });

  it("a delete whose answer is lost counts its keys deleted once", async () => {
    const bucket = await newBucket();
    for (const k of ["a", "b", "c"]) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }));
    }
    await admin.lose({ count: 1, bucket, operation: "DeleteObjects" });
    const out = await deleteObjects(s3, bucket, ["a", "b", "c"]);
    expect(out).toEqual({ deleted: 3, failed: [], withheld: [] });
    const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(left.KeyCount).toBe(0);
  });
});

describe("requests that hang", () => {
  it("the clients' S3 calls have a connection and a request timeout that throws", async () => {
    const client = createS3Client({
      endpoint: inject("s3Endpoint"),
      region: "us-east-1",
      credentials: LOCAL_S3_CREDENTIALS,
    });
    const bucket = await newBucket();
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    const handler = client.config.requestHandler as NodeHttpHandler;
    expect(handler.httpHandlerConfigs()).toMatchObject({
      connectionTimeout: S3_TIMEOUTS.connectionMs,
      requestTimeout: S3_TIMEOUTS.requestMs,
      throwOnRequestTimeout: true,
    });
    client.destroy();
  });

  it("a delete whose answer never comes fails after the timeout, is sent again and counted once", async () => {
    const client = createS3Client({
      endpoint: inject("s3Endpoint"),
      region: "us-east-1",
      credentials: LOCAL_S3_CREDENTIALS,
      s3Timeouts: { connectionMs: 1_000, requestMs: 400 },
    });
    const bucket = await newBucket();
    for (const k of ["a", "b"]) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }));
    }
    await admin.resetRequestCounts({ bucket });
    await admin.lose({ count: 1, bucket, operation: "DeleteObjects", mode: "hang" });
    const started = Date.now();
    const out = await deleteObjects(client, bucket, ["a", "b"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(out).toEqual({ deleted: 2, failed: [], withheld: [] });
    expect((await admin.requestCounts({ bucket })).byOperation.DeleteObjects).toBe(2);
    client.destroy();
  });
});

describe("gc backup and restore through the CLI, every write's first answer lost", () => {
  const repo = "repo-lost";
  let w: CliGcCopyWorld;
  beforeAll(async () => {
    w = await startCliGcCopyWorld(repo);
  });
  afterAll(() => w?.stop());

  it("the backup completes with its record; the restore brings the objects back", async () => {
    await w.marked("l1", ["data/a", "data/b"], true);
    const loc = `s3://${w.backupBucket}/l1`;
    for (const operation of ["PutObject", "CopyObject"] as const) {
      await admin.lose({ count: 1, bucket: w.backupBucket, operation });
    }
    const b = await w.lakeport([
      "gc",
      "backup",
      `lakefs://${repo}`,
      "--mark-id",
      "l1",
      "--to",
      loc,
    ]);
    expect(b.code, b.stderr).toBe(0);
    expect(await admin.listLoseRules()).not.toContainEqual(
      expect.objectContaining({ bucket: w.backupBucket }),
    );
    const rec = await s3.send(
      new GetObjectCommand({ Bucket: w.backupBucket, Key: `l1/${RECORD}` }),
    );
    expect(parseBackupRecord(await rec.Body!.transformToString(), "l1")).toMatchObject({
      state: "complete",
      counts: { objects: 2, saved: 2, absent: 0, failed: 0 },
    });
    await admin.lose({ count: 1, bucket: w.bucket, operation: "DeleteObjects" });
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: w.bucket,
        Delete: { Objects: [{ Key: `${repo}/data/a` }, { Key: `${repo}/data/b` }] },
      }),
    );
    await admin.lose({ count: 1, bucket: w.bucket, operation: "CopyObject" });
    const r = await w.lakeport([
      "gc",
      "restore",
      `lakefs://${repo}`,
      "--mark-id",
      "l1",
      "--from",
      loc,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(await admin.listLoseRules()).not.toContainEqual(
      expect.objectContaining({ bucket: w.bucket }),
    );
    const there = await s3.send(
      new ListObjectsV2Command({ Bucket: w.bucket, Prefix: `${repo}/data/` }),
    );
    expect((there.Contents ?? []).map((o) => o.Key)).toEqual([`${repo}/data/a`, `${repo}/data/b`]);
  });
});

describe("the export status step's claim", () => {
  it("an earlier attempt's claim sent again after its answer hung does not take the status files back from a later attempt", async () => {
    // Step Functions retries the status step after a Lambda service error while the earlier
    // attempt still runs; that attempt's claim, stored but its answer lost, is sent again by
    // the SDK once its request times out, after the later attempt took the claim.
    const bucket = await newBucket();
    const slow = createS3Client({
      endpoint: inject("s3Endpoint"),
      region: "us-east-1",
      credentials: LOCAL_S3_CREDENTIALS,
      s3Timeouts: { connectionMs: 1_000, requestMs: 1_000 },
    });
    const exportId = uniqueName("exp");
    const claimKey = exportWorkKeys(exportId).statusClaim;
    const store = new S3ObjectStore(s3);
    await admin.lose({ count: 1, bucket, operation: "PutObject", prefix: claimKey, mode: "hang" });
    const earlier = claimStatusAttempt(
      { store: new S3ObjectStore(slow), workBucket: bucket },
      exportId,
    );
    while ((await store.getText(bucket, claimKey)) === undefined) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const later = await claimStatusAttempt({ store, workBucket: bucket }, exportId);
    expect(await later.write(bucket, "status/c1.json", "later", "text/plain")).toBe(true);
    const first = await earlier;
    expect(await first.write(bucket, "status/c1.json", "earlier", "text/plain")).toBe(false);
    expect(await store.getText(bucket, "status/c1.json")).toBe("later");
    expect(await later.holds()).toBe(true);
    slow.destroy();
  });

  it("a claim whose answer was lost is the attempt's own: it writes the status files", async () => {
    const bucket = await newBucket();
    const exportId = uniqueName("exp");
    const store = new S3ObjectStore(s3);
    await admin.lose({
      count: 1,
      bucket,
      operation: "PutObject",
      prefix: exportWorkKeys(exportId).statusClaim,
    });
    const attempt = await claimStatusAttempt({ store, workBucket: bucket }, exportId);
    expect(await attempt.write(bucket, "status/c1.json", "only", "text/plain")).toBe(true);
    expect(await store.getText(bucket, "status/c1.json")).toBe("only");
  });
});

describe("the export plan call's claim", () => {
  it("a release whose answer hung, sent again after another attempt took the call over, does not free the call for a third", async () => {
    // An attempt whose plan failed gives its call back at once; a retry takes it over. The
    // release, stored but its answer lost, is sent again by the SDK once its request times out.
    const bucket = await newBucket();
    const slow = createS3Client({
      endpoint: inject("s3Endpoint"),
      region: "us-east-1",
      credentials: LOCAL_S3_CREDENTIALS,
      s3Timeouts: { connectionMs: 1_000, requestMs: 1_000 },
    });
    const key = `plan-calls/${uniqueName("call")}.json`;
    const store = new S3ObjectStore(s3);
    const deadlineMs = Date.now() + 600_000;
    const answer = {
      done: true,
      cursor: { afterPath: "z", counts: { copies: 1, deletes: 0, copyBytes: 1, shards: 1 } },
      counts: { copies: 1, deletes: 0, copyBytes: 1, shards: 1 },
    };
    const first = runClaimedPlanCall(
      { store: new S3ObjectStore(slow), workBucket: bucket },
      { key, attempt: "first", deadlineMs },
      async () => {
        await admin.lose({ count: 1, bucket, operation: "PutObject", prefix: key, mode: "hang" });
        throw new Error("listing failed");
      },
    );
    while (!(await store.getText(bucket, key))?.includes('"ended":true')) {
      await new Promise((r) => setTimeout(r, 20));
    }
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let planning = 0;
    let most = 0;
    const plan = async () => {
      planning++;
      most = Math.max(most, planning);
      await held;
      planning--;
      return answer;
    };
    const second = runClaimedPlanCall(
      { store, workBucket: bucket },
      { key, attempt: "second", deadlineMs },
      plan,
    );
    await expect(first).rejects.toThrow("listing failed");
    // A third attempt, at its deadline: the second still plans, so it may only wait.
    const third = runClaimedPlanCall(
      { store, workBucket: bucket },
      { key, attempt: "third", deadlineMs: Date.now() },
      plan,
    ).then(
      () => "planned",
      (err: Error) => err.name,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(most).toBe(1);
    release();
    expect(await second).toEqual(answer);
    expect(await third).toBe("PlanCallInProgress");
    slow.destroy();
  });

  it("an answer whose write's answer was lost is the attempt's own: the call answers it", async () => {
    const bucket = await newBucket();
    const key = `plan-calls/${uniqueName("call")}.json`;
    const store = new S3ObjectStore(s3);
    const answer = {
      done: true,
      cursor: { afterPath: "z", counts: { copies: 1, deletes: 0, copyBytes: 1, shards: 1 } },
      counts: { copies: 1, deletes: 0, copyBytes: 1, shards: 1 },
    };
    const out = await runClaimedPlanCall(
      { store, workBucket: bucket },
      { key, attempt: "only", deadlineMs: Date.now() + 600_000 },
      async () => {
        await admin.lose({ count: 1, bucket, operation: "PutObject", prefix: key });
        return answer;
      },
    );
    expect(out).toEqual(answer);
    expect(JSON.parse((await store.getText(bucket, key)) ?? "{}")).toMatchObject({
      attempt: "only",
      output: answer,
    });
  });
});
