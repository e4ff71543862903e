// GC backup and restore bring back the objects a sweep deleted as they were: bytes, the
// headers S3 keeps with them (content type, encoding, user metadata...), which presigned reads
// and direct readers of the physical address get, and their tags (which lifecycle rules and
// access policies may read). Against the embedded S3.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { copyMarkedObjects } from "../../cli/gc-backup";
import { runCopyPartsStep } from "../../lambdas/gc/app/copy-mark";
import { gcPaths } from "../../lambdas/gc/domain/paths";
import { copyObject } from "../../lambdas/shared/s3-copy";
import { testS3Admin, testS3Client, uniqueName } from "../support/clients";
import { MemoryGcStore } from "../support/memory-gc";

let s3: S3Client;
let nsBucket: string;
let backupBucket: string;

const HEADERS = {
  ContentType: "application/json",
  ContentEncoding: "gzip",
  CacheControl: "max-age=60",
  ContentDisposition: 'attachment; filename="a.json.gz"',
  Metadata: { owner: "team-a", origin: "spark" },
};

async function headOf(bucket: string, key: string) {
  const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return {
    ContentType: h.ContentType,
    ContentEncoding: h.ContentEncoding,
    CacheControl: h.CacheControl,
    ContentDisposition: h.ContentDisposition,
    Metadata: h.Metadata,
    ContentLength: h.ContentLength,
    Tags: (await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet?.map(
      (t) => `${t.Key}=${t.Value}`,
    ),
  };
}

beforeAll(async () => {
  s3 = testS3Client();
  nsBucket = uniqueName("gcns");
  backupBucket = uniqueName("gcbk");
  await s3.send(new CreateBucketCommand({ Bucket: nsBucket }));
  await s3.send(new CreateBucketCommand({ Bucket: backupBucket }));
});

/** A namespace with one marked object carrying headers, and the mark's text list. */
async function markedObject(markId: string) {
  const ns = `repos/${uniqueName("r")}`;
  const key = "data/obj-1";
  await s3.send(
    new PutObjectCommand({
      Bucket: nsBucket,
      Key: `${ns}/${key}`,
      Body: "{}",
      Tagging: "retention=keep&team=a",
      ...HEADERS,
    }),
  );
  const listKey = `${ns}/${gcPaths.addressesTextPart(markId, 0)}`;
  await s3.send(new PutObjectCommand({ Bucket: nsBucket, Key: listKey, Body: `${key}\n` }));
  const before = await headOf(nsBucket, `${ns}/${key}`);
  expect(before).toMatchObject({
    ...HEADERS,
    ContentLength: 2,
    Tags: ["retention=keep", "team=a"],
  });
  return { storageNamespace: `s3://${nsBucket}/${ns}`, ns, key, listKey, before };
}

describe("GC backup and restore keep what S3 keeps with each object", () => {
  it("from this machine (CLI): backup, sweep, restore", async () => {
    const m = await markedObject("m1");
    const external = `s3://${backupBucket}/${uniqueName("cli")}`;
    const backup = await copyMarkedObjects(s3, {
      direction: "backup",
      storageNamespace: m.storageNamespace,
      markId: "m1",
      external,
    });
    expect(backup.failed).toEqual([]);
    // The sweep.
    await s3.send(new DeleteObjectCommand({ Bucket: nsBucket, Key: `${m.ns}/${m.key}` }));
    const restore = await copyMarkedObjects(s3, {
      direction: "restore",
      storageNamespace: m.storageNamespace,
      markId: "m1",
      external,
    });
    expect(restore.failed).toEqual([]);
    expect(await headOf(nsBucket, `${m.ns}/${m.key}`)).toEqual(m.before);
  });

  it("through the copy workflow's step: backup, sweep, restore", async () => {
    const m = await markedObject("m2");
    const location = `s3://${backupBucket}/${uniqueName("wf")}`;
    const deps = { s3: new MemoryGcStore(), workBucket: "work" };
    await deps.s3.put(nsBucket, m.listKey, `${m.key}\n`);
    const items = [{ key: m.listKey, part: 0 }];
    const batch = { repository: "r", copyId: "c1", storageNamespace: m.storageNamespace, location };
    await runCopyPartsStep(deps, s3, {
      Items: items,
      BatchInput: { ...batch, direction: "backup" },
    });
    await s3.send(new DeleteObjectCommand({ Bucket: nsBucket, Key: `${m.ns}/${m.key}` }));
    await runCopyPartsStep(deps, s3, {
      Items: items,
      BatchInput: { ...batch, direction: "restore" },
    });
    expect(await headOf(nsBucket, `${m.ns}/${m.key}`)).toEqual(m.before);
  });

  it("above the multipart threshold too (objects over 5 GiB)", async () => {
    const m = await markedObject("m3");
    const backupKey = `${uniqueName("mp")}/${m.key}`;
    const out = await copyObject(
      s3,
      {
        sourceBucket: nsBucket,
        sourceKey: `${m.ns}/${m.key}`,
        destBucket: backupBucket,
        destKey: backupKey,
        keepSourceHeaders: true,
      },
      { multipartThresholdBytes: 1, partSizeBytes: 1 },
    );
    expect(out.multipart).toBe(true);
    expect(await headOf(backupBucket, backupKey)).toEqual(m.before);
    // A restore of that backup over the original, still there: its multipart ETag is not the
    // original's MD5, yet it is the same object (same size): kept, not "DestinationDiffers".
    const restore = await copyObject(s3, {
      sourceBucket: backupBucket,
      sourceKey: backupKey,
      destBucket: nsBucket,
      destKey: `${m.ns}/${m.key}`,
      keepSourceHeaders: true,
      keepExistingDestination: true,
    });
    expect(restore.present).toBe(true);
  });

  it("above the multipart threshold, the tags come with the upload: a restore stopped after it is never taken as complete without them", async () => {
    const m = await markedObject("m4");
    const backupKey = `${uniqueName("mp")}/${m.key}`;
    const big = { multipartThresholdBytes: 1, partSizeBytes: 1 };
    const backup = {
      sourceBucket: nsBucket,
      sourceKey: `${m.ns}/${m.key}`,
      destBucket: backupBucket,
      destKey: backupKey,
      keepSourceHeaders: true,
    };
    await copyObject(s3, backup, big);
    await s3.send(new DeleteObjectCommand({ Bucket: nsBucket, Key: `${m.ns}/${m.key}` }));
    const restore = {
      sourceBucket: backupBucket,
      sourceKey: backupKey,
      destBucket: nsBucket,
      destKey: `${m.ns}/${m.key}`,
      keepSourceHeaders: true,
      keepExistingDestination: true,
    };
    // A first restore whose tagging request fails (throttled, no retry left; or denied): set
    // after the upload completed, the object stayed in the namespace without its tags, and the
    // restore run again found it "already in the namespace" (same size) and succeeded.
    const admin = testS3Admin();
    await admin.throttle({ count: 10, bucket: nsBucket, operation: "PutObjectTagging" });
    await copyObject(s3, restore, { ...big, retry: { maxAttempts: 1 } }).catch(() => undefined);
    await admin.clearThrottleRules({ bucket: nsBucket });
    await copyObject(s3, restore, big);
    expect(await headOf(nsBucket, `${m.ns}/${m.key}`)).toMatchObject({
      Tags: ["retention=keep", "team=a"],
    });
  });
});
