// The S3 copy/delete engine against the embedded S3 (s3rver behind Lakeport's proxy, which
// implements UploadPartCopy, DeleteObjects, deny rules, throttling and request counters).
import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { MissingTaskShardError, runCopyStep } from "../../lambdas/export/app/copy-step";
import { operationsOfTasks } from "../../lambdas/export/app/export-operations";
import { encodeTask } from "../../lambdas/export/domain/tasks";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import { createLimiter } from "../../lambdas/shared/concurrency";
import {
  type BatchOperation,
  copyObject,
  deleteObjects,
  runCopyBatch,
} from "../../lambdas/shared/s3-copy";
import { S3AdminClient } from "../../local/s3/admin-client";
import { testS3Client, uniqueName } from "../support/clients";
import { MemoryExportStore as MemoryStore } from "../support/memory-export-store";

const fastRetry = { baseDelayMs: 1, maxDelayMs: 5 };

let s3: S3Client;
let admin: S3AdminClient;
let source: string;
let dest: string;

async function put(bucket: string, key: string, body: string | Buffer, extra: object = {}) {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
}

async function get(bucket: string, key: string) {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return {
    body: Buffer.from(await out.Body!.transformToByteArray()),
    contentType: out.ContentType,
    metadata: out.Metadata,
  };
}

async function tagsOf(bucket: string, key: string): Promise<string[]> {
  const out = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  return (out.TagSet ?? []).map((t) => `${t.Key}=${t.Value}`);
}

async function keys(bucket: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    out.push(...(page.Contents ?? []).map((c) => c.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return out.sort();
}

/** A metadata value as S3 answers it: RFC 2047 encoded-words ("=?UTF-8?B?...?=") decoded. */
function decodeRfc2047(value: string): string {
  return value.replace(/=\?UTF-8\?B\?([^?]*)\?=\s*/gi, (_, text: string) =>
    Buffer.from(text, "base64").toString("utf8"),
  );
}

beforeAll(async () => {
  s3 = testS3Client();
  admin = new S3AdminClient(inject("s3Endpoint"));
  source = uniqueName("src");
  dest = uniqueName("dst");
  await s3.send(new CreateBucketCommand({ Bucket: source }));
  await s3.send(new CreateBucketCommand({ Bucket: dest }));
});

afterEach(async () => {
  await admin.clearDenyRules({ bucket: dest });
  await admin.clearThrottleRules({ bucket: dest });
});

describe("copyObject", () => {
  it("copies server-side with the lakeFS content type and metadata, without the physical object's tags (REPLACE)", async () => {
    await put(source, "data/ab c/é.csv", "a,b\n1,2\n", {
      ContentType: "application/x-physical",
      Metadata: { physical: "yes" },
      Tagging: "lifecycle=expire-30d",
    });
    const out = await copyObject(s3, {
      sourceBucket: source,
      sourceKey: "data/ab c/é.csv",
      destBucket: dest,
      destKey: "exp/ab c/é.csv",
      size: 8,
      contentType: "text/csv",
      metadata: { "X-Amz-Meta-Owner": "team-a", source: "lakefs" },
    });
    expect(out).toMatchObject({ multipart: false, size: 8 });
    const copied = await get(dest, "exp/ab c/é.csv");
    expect(copied.body.toString()).toBe("a,b\n1,2\n");
    expect(copied.contentType).toBe("text/csv");
    expect(copied.metadata).toEqual({ owner: "team-a", source: "lakefs" });
    expect(await tagsOf(dest, "exp/ab c/é.csv")).toEqual([]);
  });

  it("carries lakeFS metadata values that are not US-ASCII over (RFC 2047), single and multipart", async () => {
    // S3 takes US-ASCII metadata only over REST: "groß" sent as is fails the signature check
    // (the embedded S3 answers as S3 does), "naïve — ok" cannot even be a Node header value.
    const metadata = { filename: "groß.jpg", note: "naïve — ok", plain: "ascii only" };
    await put(source, "meta/small.txt", "abc");
    await put(source, "meta/big.bin", Buffer.alloc(3000, 7));
    const copies = [
      { key: "meta/small.txt", size: 3, opts: {} },
      {
        key: "meta/big.bin",
        size: 3000,
        opts: { multipartThresholdBytes: 1000, partSizeBytes: 1024 },
      },
    ];
    for (const c of copies) {
      const input = {
        sourceBucket: source,
        sourceKey: c.key,
        destBucket: dest,
        destKey: `exp/${c.key}`,
        size: c.size,
        metadata,
      };
      await copyObject(s3, input, { ...c.opts, retry: fastRetry });
      const copied = await get(dest, `exp/${c.key}`);
      const decoded = Object.fromEntries(
        Object.entries(copied.metadata ?? {}).map(([k, v]) => [k, decodeRfc2047(v)]),
      );
      expect(decoded).toEqual(metadata);
    }
  });

  it("carries a lakeFS content type that is not US-ASCII over, its other characters percent-encoded, single and multipart", async () => {
    // lakeFS takes any string as a content type. Sent as is, "é" fails S3's signature check and
    // "日本" or a line break cannot be a Node header value: every export of the object failed.
    const cases = [
      { contentType: "text/csv; name=café", sent: "text/csv; name=caf%C3%A9" },
      { contentType: "text/plain; name=日本", sent: "text/plain; name=%E6%97%A5%E6%9C%AC" },
      { contentType: "text/plain;\r\nx-evil: 1", sent: "text/plain;%0D%0Ax-evil: 1" },
    ];
    await put(source, "ct/small.txt", "abc");
    await put(source, "ct/big.bin", Buffer.alloc(3000, 7));
    const copies = [
      { key: "ct/small.txt", size: 3, opts: {} },
      {
        key: "ct/big.bin",
        size: 3000,
        opts: { multipartThresholdBytes: 1000, partSizeBytes: 1024 },
      },
    ];
    for (const [i, t] of cases.entries()) {
      for (const c of copies) {
        const destKey = `exp/${i}/${c.key}`;
        await copyObject(
          s3,
          {
            sourceBucket: source,
            sourceKey: c.key,
            destBucket: dest,
            destKey,
            size: c.size,
            contentType: t.contentType,
          },
          { ...c.opts, retry: fastRetry },
        );
        const copied = await get(dest, destKey);
        expect(copied.contentType).toBe(t.sent);
        expect(copied.metadata?.["x-evil"]).toBe(undefined);
      }
    }
  });

  it("uses multipart UploadPartCopy above the threshold, parts by byte range", async () => {
    const body = Buffer.alloc(300 * 1024 + 17);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) % 251;
    await put(source, "big/object.bin", body, { Tagging: "lifecycle=expire-30d" });
    await admin.resetRequestCounts({ bucket: dest });
    const out = await copyObject(
      s3,
      {
        sourceBucket: source,
        sourceKey: "big/object.bin",
        destBucket: dest,
        destKey: "exp/big/object.bin",
        size: body.length,
        contentType: "application/x-big",
        metadata: { k: "v" },
      },
      { multipartThresholdBytes: 100 * 1024, partSizeBytes: 64 * 1024, partConcurrency: 3 },
    );
    expect(out).toMatchObject({ multipart: true, parts: 5, size: body.length });
    const copied = await get(dest, "exp/big/object.bin");
    expect(copied.body.equals(body)).toBe(true);
    expect(copied.contentType).toBe("application/x-big");
    expect(copied.metadata).toEqual({ k: "v" });
    expect(await tagsOf(dest, "exp/big/object.bin")).toEqual([]);
    const counts = await admin.requestCounts({ bucket: dest });
    expect(counts.byOperation).toMatchObject({
      CreateMultipartUpload: 1,
      UploadPartCopy: 5,
      CompleteMultipartUpload: 1,
    });
    expect(counts.byOperation.CopyObject ?? 0).toBe(0);
  });

  it("HEADs the source when the size is unknown", async () => {
    await put(source, "unsized.bin", Buffer.alloc(2048, 1));
    const out = await copyObject(
      s3,
      {
        sourceBucket: source,
        sourceKey: "unsized.bin",
        destBucket: dest,
        destKey: "exp/unsized.bin",
      },
      { multipartThresholdBytes: 1024, partSizeBytes: 1024 },
    );
    expect(out).toMatchObject({ multipart: true, parts: 2, size: 2048 });
    const head = await s3.send(new HeadObjectCommand({ Bucket: dest, Key: "exp/unsized.bin" }));
    expect(head.ContentLength).toBe(2048);
  });

  it("aborts the multipart upload when a part fails", async () => {
    await admin.resetRequestCounts({ bucket: dest });
    const copy = copyObject(
      s3,
      {
        sourceBucket: source,
        sourceKey: "no/such/key.bin",
        destBucket: dest,
        destKey: "exp/never.bin",
        size: 4096,
      },
      { multipartThresholdBytes: 1024, partSizeBytes: 1024, retry: fastRetry },
    );
    await expect(copy).rejects.toMatchObject({ name: expect.stringMatching(/NoSuchKey|NotFound/) });
    const counts = await admin.requestCounts({ bucket: dest });
    expect(counts.byOperation.AbortMultipartUpload).toBe(1);
    expect(counts.byOperation.CompleteMultipartUpload ?? 0).toBe(0);
    expect(await keys(dest, "exp/never")).toEqual([]);
  });

  it("retries throttled copies (SlowDown) until they succeed", async () => {
    await put(source, "throttled.txt", "t");
    await admin.throttle({ count: 3, operation: "CopyObject", bucket: dest });
    const out = await copyObject(
      s3,
      {
        sourceBucket: source,
        sourceKey: "throttled.txt",
        destBucket: dest,
        destKey: "exp/throttled.txt",
        size: 1,
      },
      { retry: fastRetry },
    );
    expect(out.multipart).toBe(false);
    expect((await get(dest, "exp/throttled.txt")).body.toString()).toBe("t");
  });
});

describe("deleteObjects", () => {
  it("deletes in batches of 1 000 keys", async () => {
    const bucket = uniqueName("del");
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const all = Array.from({ length: 2100 }, (_, i) => `k/${String(i).padStart(5, "0")}`);
    const remaining = all.slice(0, 20);
    // only a few objects exist: deleting a missing key succeeds, as on S3
    for (const k of remaining) await put(bucket, k, "x");
    await admin.resetRequestCounts({ bucket });
    const out = await deleteObjects(s3, bucket, all);
    expect(out).toEqual({ deleted: 2100, failed: [], withheld: [] });
    expect((await admin.requestCounts({ bucket })).byOperation.DeleteObjects).toBe(3);
    expect(await keys(bucket)).toEqual([]);
  });

  it("deletes a key XML cannot carry on its own, not failing its batch", async () => {
    // S3 answers MalformedXML to a DeleteObjects naming a key with such a character (U+0001):
    // every key of the batch would fail, at every retry.
    const bucket = uniqueName("del");
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const all = ["c/a", "c/b\u0001c", "c/d", "c/e\uffff"];
    for (const k of all) await put(bucket, k, "x");
    await admin.resetRequestCounts({ bucket });
    const out = await deleteObjects(s3, bucket, all, { retry: fastRetry });
    expect(out).toEqual({ deleted: 4, failed: [], withheld: [] });
    expect((await admin.requestCounts({ bucket })).byOperation).toMatchObject({
      DeleteObjects: 1,
      DeleteObject: 2,
    });
    expect(await keys(bucket)).toEqual([]);
  });

  it("reports every key of a denied batch", async () => {
    await put(dest, "locked/a", "a");
    await admin.deny({ bucket: dest, prefix: "locked/" });
    const out = await deleteObjects(s3, dest, ["locked/a", "locked/b"], { retry: fastRetry });
    expect(out.deleted).toBe(0);
    expect(out.failed.map((f) => [f.key, f.code])).toEqual([
      ["locked/a", "AccessDenied"],
      ["locked/b", "AccessDenied"],
    ]);
  });

  it("reports a denied key with a carriage return as itself, not as its line-feed twin", async () => {
    // The answer's <Key> holds the carriage return as is (S3 writes keys so), which the SDK's
    // XML parser reads as a line feed: the error named `cr/a\nb`, another object (not in the
    // batch), and `cr/a\rb` counted as deleted.
    const bucket = uniqueName("del");
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const k of ["cr/a\rb", "cr/a\nb", "cr/z"]) await put(bucket, k, "x");
    await admin.deny({ bucket, prefix: "cr/a\r" });
    const out = await deleteObjects(s3, bucket, ["cr/a\rb", "cr/z"], { retry: fastRetry });
    expect(out.failed.map((f) => [f.key, f.code])).toEqual([["cr/a\rb", "AccessDenied"]]);
    expect(out.deleted).toBe(1);
    // Both twins are still there (a listing would show the carriage return as a line feed).
    for (const k of ["cr/a\rb", "cr/a\nb"]) {
      await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: k }));
    }
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "cr/z" }))).rejects.toThrow();
  });
});

describe("runCopyBatch", () => {
  it("runs copies and deletes concurrently, reporting failures without throwing", async () => {
    const n = 60;
    for (let i = 0; i < n; i++) await put(source, `batch/obj-${i}`, `body-${i}`);
    for (let i = 0; i < 10; i++) await put(dest, `exp/batch/old-${i}`, "old");
    const tasks = [
      ...Array.from({ length: n }, (_, i) => ({
        op: "copy" as const,
        path: `batch/obj-${i}`,
        sourceAddress: `s3://${source}/batch/obj-${i}`,
        destKey: `exp/batch/obj-${i}`,
        size: `body-${i}`.length,
        contentType: "text/plain",
        metadata: { i: String(i) },
        etag: "e",
      })),
      {
        op: "copy" as const,
        path: "batch/missing",
        sourceAddress: `s3://${source}/batch/missing`,
        destKey: "exp/batch/missing",
        size: 3,
        etag: "e",
      },
      { op: "copy" as const, path: "bad", sourceAddress: "s3://x/", destKey: "exp/bad", etag: "e" },
      ...Array.from({ length: 10 }, (_, i) => ({
        op: "delete" as const,
        path: `batch/old-${i}`,
        destKey: `exp/batch/old-${i}`,
      })),
    ];
    const { operations, invalid } = operationsOfTasks(tasks, dest);
    expect(invalid).toEqual([
      {
        path: "bad",
        code: "InvalidSourceAddress",
        message: expect.stringContaining("sourceAddress of bad"),
      },
    ]);
    await admin.throttle({ count: 8, operation: "CopyObject", bucket: dest });
    let active = 0;
    let peak = 0;
    const counted = (async function* () {
      for (const op of operations) yield op as BatchOperation;
    })();
    const spy = {
      send: async (cmd: Parameters<S3Client["send"]>[0]) => {
        active++;
        peak = Math.max(peak, active);
        try {
          return await s3.send(cmd as never);
        } finally {
          active--;
        }
      },
    } as unknown as S3Client;
    const result = await runCopyBatch(spy, counted, { concurrency: 8, retry: fastRetry });
    expect(result.copied).toBe(n);
    expect(result.deleted).toBe(10);
    expect(result.succeeded).toBe(n + 10);
    expect(result.copiedBytes).toBe(
      Array.from({ length: n }, (_, i) => `body-${i}`.length).reduce((a, b) => a + b, 0),
    );
    expect(result.failed).toEqual([
      {
        path: "batch/missing",
        code: expect.stringMatching(/NoSuchKey|NotFound/),
        message: expect.any(String),
      },
    ]);
    expect(peak).toBeLessThanOrEqual(8);
    expect(peak).toBeGreaterThan(1);
    expect(await keys(dest, "exp/batch/")).toEqual(
      Array.from({ length: n }, (_, i) => `exp/batch/obj-${i}`).sort(),
    );
    const one = await get(dest, "exp/batch/obj-7");
    expect(one).toMatchObject({ contentType: "text/plain", metadata: { i: "7" } });
    expect(one.body.toString()).toBe("body-7");
  });

  it("reports every operation when the destination is not writable", async () => {
    await put(source, "denied/a", "a");
    await admin.deny({ bucket: dest, prefix: "ro/" });
    const ops: BatchOperation[] = [
      {
        kind: "copy",
        id: "a",
        sourceBucket: source,
        sourceKey: "denied/a",
        destBucket: dest,
        destKey: "ro/a",
        size: 1,
      },
      {
        kind: "copy",
        id: "b",
        sourceBucket: source,
        sourceKey: "denied/a",
        destBucket: dest,
        destKey: "ro/b",
        size: 1,
      },
      { kind: "delete", id: "c", bucket: dest, key: "ro/c" },
    ];
    const result = await runCopyBatch(s3, ops, { concurrency: 4, retry: fastRetry });
    expect(result.succeeded).toBe(0);
    expect(result.failed.map((f) => `${f.path}:${f.code}`).sort()).toEqual([
      "a:AccessDenied",
      "b:AccessDenied",
      "c:AccessDenied",
    ]);
  });
});

describe("batches side by side under one limiter", () => {
  /** A shared limiter whose calls are counted per batch (tag) and in total. */
  function countingLimiter(limit: number) {
    const shared = createLimiter(limit);
    const active = new Map<string, number>();
    let total = 0;
    let peakTotal = 0;
    const peakAlone = new Map<string, number>();
    const tagged =
      (tag: string) =>
      <R>(task: () => Promise<R>) =>
        shared(async () => {
          total++;
          peakTotal = Math.max(peakTotal, total);
          active.set(tag, (active.get(tag) ?? 0) + 1);
          // In flight for this batch while no other batch has anything in flight.
          if ([...active].every(([t, n]) => t === tag || n === 0)) {
            peakAlone.set(tag, Math.max(peakAlone.get(tag) ?? 0, active.get(tag)!));
          }
          try {
            return await task();
          } finally {
            total--;
            active.set(tag, active.get(tag)! - 1);
          }
        });
    return { tagged, peakTotal: () => peakTotal, peakAlone };
  }

  const copies = (prefix: string, n: number): BatchOperation[] =>
    Array.from({ length: n }, (_, i) => ({
      kind: "copy" as const,
      id: `${prefix}-${i}`,
      sourceBucket: source,
      sourceKey: `shared/src-${i % 10}`,
      destBucket: dest,
      destKey: `shared/${prefix}/obj-${i}`,
      size: 3,
    }));

  it("keeps the total in flight at the limit and hands a finished batch's slots to the other", async () => {
    for (let i = 0; i < 10; i++) await put(source, `shared/src-${i}`, `s${i}x`);
    const limiter = countingLimiter(6);
    const [small, big] = await Promise.all([
      runCopyBatch(s3, copies("small", 12), {
        concurrency: 6,
        limiter: limiter.tagged("small"),
        retry: fastRetry,
      }),
      runCopyBatch(s3, copies("big", 150), {
        concurrency: 6,
        limiter: limiter.tagged("big"),
        retry: fastRetry,
      }),
    ]);
    expect(small.copied).toBe(12);
    expect(big.copied).toBe(150);
    expect(limiter.peakTotal()).toBeLessThanOrEqual(6);
    // Alone after the small batch ended, the big one used every slot of the shared limit.
    expect(limiter.peakAlone.get("big")).toBe(6);
    expect(await keys(dest, "shared/big/")).toHaveLength(150);
  });
});

describe("copy step (a distributed map child)", () => {
  const exportId = "repo-main-c0ffee-1-abc";
  const layout = exportWorkKeys(exportId);
  const shardBody = (shard: number, n: number) =>
    `${Array.from({ length: n }, (_, i) =>
      encodeTask({
        op: "copy",
        path: `s${shard}/obj-${i}`,
        sourceAddress: `s3://${source}/step/src-${i % 5}`,
        destKey: `step/s${shard}/obj-${i}`,
        size: 4,
        etag: "e",
      }),
    ).join("\n")}\n`;

  it("runs the batch's shards side by side within the function's limit and writes a result per shard", async () => {
    for (let i = 0; i < 5; i++) await put(source, `step/src-${i}`, `src${i}`);
    const store = new MemoryStore();
    const sizes = [40, 5, 25];
    for (const [shard, n] of sizes.entries()) {
      await store.put("work", layout.taskShard(shard), shardBody(shard, n));
    }
    let inFlight = 0;
    let peak = 0;
    const shared = createLimiter(4);
    const limiter = <R>(task: () => Promise<R>) =>
      shared(async () => {
        peak = Math.max(peak, ++inFlight);
        try {
          return await task();
        } finally {
          inFlight--;
        }
      });
    const out = await runCopyStep(
      { store, s3, workBucket: "work", copy: { concurrency: 4, limiter, retry: fastRetry } },
      {
        Items: sizes.map((_, shard) => ({ shard })),
        BatchInput: { exportId, exportPath: `s3://${dest}/step`, lastKeysInPrefixRegexp: [] },
      },
    );
    expect(out).toEqual({ shards: 3, copied: 70, deleted: 0, failed: 0 });
    expect(peak).toBeLessThanOrEqual(4);
    for (const [shard, n] of sizes.entries()) {
      const result = JSON.parse(store.objects.get(`work/${layout.shardResult(shard)}`)!);
      expect(result).toMatchObject({ shard, copied: n, failed: [] });
      expect(await keys(dest, `step/s${shard}/`)).toHaveLength(n);
    }
  });

  it("finishes the other shards, then fails, when one shard is missing", async () => {
    const store = new MemoryStore();
    await store.put("work", layout.taskShard(7), shardBody(7, 6));
    await expect(
      runCopyStep(
        { store, s3, workBucket: "work", copy: { concurrency: 4, retry: fastRetry } },
        {
          Items: [{ shard: 7 }, { shard: 8 }],
          BatchInput: { exportId, exportPath: `s3://${dest}/step`, lastKeysInPrefixRegexp: [] },
        },
      ),
    ).rejects.toThrow(MissingTaskShardError);
    expect(JSON.parse(store.objects.get(`work/${layout.shardResult(7)}`)!)).toMatchObject({
      copied: 6,
    });
    expect(store.objects.has(`work/${layout.shardResult(8)}`)).toBe(false);
  });

  it("names the field of a bad item before copying anything", async () => {
    const store = new MemoryStore();
    await expect(
      runCopyStep(
        { store, s3, workBucket: "work" },
        {
          Items: [{ shard: 1 }, { shard: -2 }],
          BatchInput: { exportId, exportPath: `s3://${dest}/step`, lastKeysInPrefixRegexp: [] },
        },
      ),
    ).rejects.toThrow(/Items\[\]\.shard/);
  });
});
