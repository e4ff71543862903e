// The embedded S3's test facilities: request counters, deny rules and throttling, over HTTP
// (S3AdminClient, as test files use them) and in process (the S3Admin of startS3Server).
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { afterAll, describe, expect, test } from "vitest";
import { createS3Client } from "../../lambdas/shared/aws/clients";
import { ADMIN_PATH_PREFIX } from "../../local/s3/admin";
import { LOCAL_S3_CREDENTIALS, startS3Server } from "../../local/s3/server";
import { testS3Admin, testS3Client, uniqueName } from "../support/clients";

const s3 = testS3Client();
const admin = testS3Admin();

async function newBucket(): Promise<string> {
  const bucket = uniqueName("adm");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}
const put = (c: S3Client, Bucket: string, Key: string) =>
  c.send(new PutObjectCommand({ Bucket, Key, Body: "x" }));

describe("request counters", () => {
  test("count requests per operation for one bucket, and reset", async () => {
    const bucket = await newBucket();
    await put(s3, bucket, "a");
    await put(s3, bucket, "b");
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "a" }));
    await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const counts = await admin.requestCounts({ bucket });
    expect(counts.byOperation).toEqual({
      CreateBucket: 1,
      PutObject: 2,
      HeadObject: 1,
      ListObjectsV2: 1,
    });
    expect(counts.total).toBe(5);
    await admin.resetRequestCounts({ bucket });
    expect(await admin.requestCounts({ bucket })).toEqual({ total: 0, byOperation: {} });
    await s3
      .send(new GetObjectCommand({ Bucket: bucket, Key: "a" }))
      .then((r) => r.Body?.transformToString());
    expect((await admin.requestCounts({ bucket })).byOperation).toEqual({ GetObject: 1 });
  });

  test("are plain JSON over HTTP under the admin prefix", async () => {
    const bucket = await newBucket();
    const endpoint = (await s3.config.endpoint!()).hostname;
    const port = (await s3.config.endpoint!()).port;
    const res = await fetch(
      `http://${endpoint}:${port}${ADMIN_PATH_PREFIX}requests?bucket=${bucket}`,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ total: 1, byOperation: { CreateBucket: 1 } });
  });
});

describe("deny rules", () => {
  test("a write rule on a prefix answers AccessDenied to writes there, nothing else", async () => {
    const bucket = await newBucket();
    await put(s3, bucket, "out/existing");
    const rule = await admin.deny({ bucket, prefix: "out/" });
    await expect(put(s3, bucket, "out/new")).rejects.toMatchObject({
      name: "AccessDenied",
      $metadata: { httpStatusCode: 403 },
    });
    await expect(
      s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: "out/copy",
          CopySource: `${bucket}/out/existing`,
        }),
      ),
    ).rejects.toMatchObject({ name: "AccessDenied" });
    await expect(
      s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "out/mp" })),
    ).rejects.toMatchObject({ name: "AccessDenied" });
    await put(s3, bucket, "elsewhere");
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "out/existing" }));
    expect(await got.Body?.transformToString()).toBe("x");

    const del = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: [{ Key: "out/existing" }, { Key: "elsewhere" }] },
      }),
    );
    expect(del.Deleted?.map((d) => d.Key)).toEqual(["elsewhere"]);
    expect(del.Errors).toEqual([
      { Key: "out/existing", Code: "AccessDenied", Message: "Access Denied" },
    ]);
    const quiet = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Quiet: true, Objects: [{ Key: "out/existing" }] },
      }),
    );
    expect(quiet.Deleted ?? []).toEqual([]);
    expect(quiet.Errors).toHaveLength(1);

    await admin.removeDenyRule(rule.id);
    await put(s3, bucket, "out/new");
  });

  test("an all-access rule denies reads, listings and copies out of the bucket", async () => {
    const bucket = await newBucket();
    const other = await newBucket();
    await put(s3, bucket, "secret");
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: other, Key: "mp" }),
    );
    await admin.deny({ bucket, access: "all" });
    await expect(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: "secret" })),
    ).rejects.toMatchObject({
      name: "AccessDenied",
    });
    await expect(s3.send(new ListObjectsV2Command({ Bucket: bucket }))).rejects.toMatchObject({
      name: "AccessDenied",
    });
    await expect(
      s3.send(new CopyObjectCommand({ Bucket: other, Key: "c", CopySource: `${bucket}/secret` })),
    ).rejects.toMatchObject({ name: "AccessDenied" });
    await expect(
      s3.send(
        new UploadPartCopyCommand({
          Bucket: other,
          Key: "mp",
          UploadId,
          PartNumber: 1,
          CopySource: `${bucket}/secret`,
        }),
      ),
    ).rejects.toMatchObject({ name: "AccessDenied" });
    expect(
      (await admin.listDenyRules()).some((r) => r.bucket === bucket && r.access === "all"),
    ).toBe(true);
    await admin.clearDenyRules({ bucket });
    await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  });

  test("a put rule denies writes that make an object; deletes and reads work", async () => {
    const bucket = await newBucket();
    for (const key of ["out/a", "out/b", "out/c"]) await put(s3, bucket, key);
    await admin.deny({ bucket, prefix: "out/", access: "put" });
    await expect(put(s3, bucket, "out/new")).rejects.toMatchObject({ name: "AccessDenied" });
    await expect(
      s3.send(
        new CopyObjectCommand({ Bucket: bucket, Key: "out/d", CopySource: `${bucket}/out/a` }),
      ),
    ).rejects.toMatchObject({ name: "AccessDenied" });
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "out/a" }));
    expect(await got.Body?.transformToString()).toBe("x");
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "out/a" }));
    const del = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: "out/b" }] } }),
    );
    expect(del.Deleted?.map((d) => d.Key)).toEqual(["out/b"]);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(left.Contents?.map((o) => o.Key)).toEqual(["out/c"]);
    await admin.clearDenyRules({ bucket });
  });

  test("bad rules are refused with a message naming the field", async () => {
    await expect(admin.deny({ bucket: "" })).rejects.toThrow(/bucket is required/);
    await expect(admin.deny({ bucket: "b", access: "read" as never })).rejects.toThrow(
      /access must be "write", "all" or "put"/,
    );
    await expect(admin.throttle({ count: 0 })).rejects.toThrow(/count must be a positive integer/);
  });
});

describe("throttling", () => {
  test("the next N matching requests answer 503 SlowDown; the SDK retries through them", async () => {
    const bucket = await newBucket();
    await admin.resetRequestCounts({ bucket });
    await admin.throttle({ count: 2, bucket, operation: "PutObject" });
    await put(s3, bucket, "k"); // maxAttempts 4: two SlowDown answers, then success
    expect((await admin.requestCounts({ bucket })).byOperation).toEqual({ PutObject: 3 });
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "k" }));
    expect(await admin.listThrottleRules()).not.toContainEqual(expect.objectContaining({ bucket }));
  });

  test("as many throttles as the SDK's attempts surface as a SlowDown error", async () => {
    const bucket = await newBucket();
    await put(s3, bucket, "k");
    await admin.resetRequestCounts({ bucket });
    await admin.throttle({ count: 4, bucket, operation: "GetObject" }); // createS3Client: 4 attempts
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k" }))).rejects.toMatchObject(
      {
        name: "SlowDown",
        $metadata: { httpStatusCode: 503 },
      },
    );
    expect((await admin.requestCounts({ bucket })).byOperation).toEqual({ GetObject: 4 });
    // Used up: the next request goes through, and other operations were never affected.
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k" }));
    expect(await got.Body?.transformToString()).toBe("x");
  });

  test("a throttle rule can be removed before it is used up", async () => {
    const bucket = await newBucket();
    await admin.throttle({ count: 100, bucket });
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "k" })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 503 } });
    const rule = (await admin.listThrottleRules()).find((r) => r.bucket === bucket);
    expect(rule?.remaining).toBe(96);
    await admin.clearThrottleRules({ bucket });
    await put(s3, bucket, "k");
  });
});

describe("lost answers", () => {
  test("a dropped answer: the request was done, the SDK sends it again and sees what it did", async () => {
    const bucket = await newBucket();
    await admin.resetRequestCounts({ bucket });
    await admin.lose({ count: 1, bucket, operation: "PutObject", prefix: "rec/" });
    await put(s3, bucket, "other"); // another prefix: answered
    // A conditional create: the first attempt wrote the object, the second fails its condition.
    await expect(
      s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: "rec/a", Body: "first", IfNoneMatch: "*" }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "rec/a" }));
    expect(await got.Body?.transformToString()).toBe("first");
    expect((await admin.requestCounts({ bucket })).byOperation.PutObject).toBe(3);
    expect(await admin.listLoseRules()).not.toContainEqual(expect.objectContaining({ bucket }));
  });

  test("every attempt's answer lost: the call fails, and what it asked for was done", async () => {
    const bucket = await newBucket();
    await put(s3, bucket, "a");
    await admin.lose({ count: 4, bucket, operation: "DeleteObjects" }); // the SDK's 4 attempts
    await expect(
      s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: "a" }] } })),
    ).rejects.toThrow();
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "a" })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    expect((await admin.requestCounts({ bucket })).byOperation.DeleteObjects).toBe(4);
  });

  test("a hung answer: the connection stays silent until the client's own timeout", async () => {
    const bucket = await newBucket();
    const endpoint = await s3.config.endpoint!();
    const impatient = new S3Client({
      endpoint: `http://${endpoint.hostname}:${endpoint.port}`,
      region: "us-east-1",
      credentials: LOCAL_S3_CREDENTIALS,
      forcePathStyle: true,
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ requestTimeout: 500, throwOnRequestTimeout: true }),
    });
    await admin.lose({ count: 1, bucket, operation: "CopyObject", mode: "hang" });
    await put(s3, bucket, "src");
    const started = Date.now();
    const copy = impatient.send(
      new CopyObjectCommand({ Bucket: bucket, Key: "dst", CopySource: `${bucket}/src` }),
    );
    await expect(copy).rejects.toThrow(/timed out|timeout/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "dst" }));
  });

  test("bad rules are refused", async () => {
    await expect(admin.lose({ count: 0 })).rejects.toThrow(/count must be a positive integer/);
    await expect(admin.lose({ count: 1, mode: "late" as unknown as "drop" })).rejects.toThrow(
      /mode must be "drop" or "hang"/,
    );
  });
});

describe("held requests", () => {
  test("a held request waits until its rule is released; others and later ones go on", async () => {
    const bucket = await newBucket();
    const rule = await admin.hold({ count: 1, bucket, operation: "PutObject", prefix: "slow/" });
    let done = false;
    const slow = put(s3, bucket, "slow/a").then(() => {
      done = true;
    });
    // The held request is counted as received; others are answered meanwhile.
    for (
      let i = 0;
      i < 50 && (await admin.listHoldRules()).find((r) => r.id === rule.id)?.held !== 1;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await put(s3, bucket, "fast");
    await put(s3, bucket, "slow/b"); // the rule's count is used up
    expect(done).toBe(false);
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "slow/a" })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    await admin.releaseHold(rule.id);
    await slow;
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "slow/a" }));
    expect(await admin.listHoldRules()).not.toContainEqual(expect.objectContaining({ bucket }));
    await expect(admin.hold({ count: 0 })).rejects.toThrow(/count must be a positive integer/);
  });
});

describe("limits", () => {
  test("a lowered CopyObject limit forces multipart copy; a part minimum rejects small parts", async () => {
    const bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "big", Body: "0123456789" }));
    expect(await admin.setLimits({ copyObjectMaxBytes: 5, minPartBytes: 4 }, { bucket })).toEqual({
      copyObjectMaxBytes: 5,
      minPartBytes: 4,
    });
    await expect(
      s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copy", CopySource: `${bucket}/big` })),
    ).rejects.toMatchObject({ name: "InvalidRequest" });
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: "copy" }),
    );
    const part = async (PartNumber: number, range: string) =>
      (
        await s3.send(
          new UploadPartCopyCommand({
            Bucket: bucket,
            Key: "copy",
            UploadId,
            PartNumber,
            CopySource: `${bucket}/big`,
            CopySourceRange: range,
          }),
        )
      ).CopyPartResult!.ETag!;
    const small = [await part(1, "bytes=0-2"), await part(2, "bytes=3-9")];
    await expect(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: "copy",
          UploadId,
          MultipartUpload: { Parts: small.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
        }),
      ),
    ).rejects.toMatchObject({ name: "EntityTooSmall" });
    const ok = [await part(1, "bytes=0-4"), await part(2, "bytes=5-9")];
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: "copy",
        UploadId,
        MultipartUpload: { Parts: ok.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "copy" }));
    expect(await got.Body?.transformToString()).toBe("0123456789");
    // Other buckets keep S3's defaults.
    expect((await admin.limits()).copyObjectMaxBytes).toBe(5 * 1024 ** 3);
    await expect(admin.setLimits({ minPartBytes: -1 }, { bucket })).rejects.toThrow(
      /minPartBytes must be a non-negative integer/,
    );
  });
});

describe("in process (startS3Server().admin)", () => {
  const clientOf = (server: { endpoint: string }) =>
    createS3Client({
      endpoint: server.endpoint,
      region: "us-east-1",
      credentials: LOCAL_S3_CREDENTIALS,
    });
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("counters, deny and throttle through the S3Admin object", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "lakeport-s3admin-"));
    const server = await startS3Server({ directory: dir });
    try {
      const client = clientOf(server);
      await client.send(new CreateBucketCommand({ Bucket: "inproc" }));
      const rule = server.admin.deny({ bucket: "inproc" });
      await expect(put(client, "inproc", "a")).rejects.toMatchObject({ name: "AccessDenied" });
      server.admin.removeDenyRule(rule.id);
      server.admin.throttle({ count: 1, operation: "PutObject" });
      await put(client, "inproc", "a");
      expect(server.admin.requestCounts({ bucket: "inproc" }).byOperation).toEqual({
        CreateBucket: 1,
        PutObject: 3,
      });
      server.admin.reset();
      expect(server.admin.requestCounts()).toEqual({ total: 0, byOperation: {} });
    } finally {
      await server.stop();
    }
  });

  test("extra work per copy: every CopyObject served pays it on the server's thread, nothing else does", async () => {
    const workDir = await mkdtemp(path.join(os.tmpdir(), "lakeport-s3admin-work-"));
    const server = await startS3Server({ directory: workDir });
    try {
      const client = clientOf(server);
      await client.send(new CreateBucketCommand({ Bucket: "work" }));
      await put(client, "work", "src");
      const copies = async (n: number, prefix: string) => {
        const before = process.cpuUsage();
        for (let i = 0; i < n; i++) {
          await client.send(
            new CopyObjectCommand({ Bucket: "work", Key: `${prefix}${i}`, CopySource: "work/src" }),
          );
        }
        const used = process.cpuUsage(before);
        return (used.user + used.system) / 1000;
      };
      await copies(5, "warm-");
      const plainMs = await copies(10, "plain-");
      // Some 20 ms of integer loop a copy (4 to 5 µs per thousand iterations on these vCPUs).
      server.admin.setCopyWork({ spinThousands: 5000 });
      const dearMs = await copies(10, "dear-");
      await put(client, "work", "other");
      await client.send(new HeadObjectCommand({ Bucket: "work", Key: "dear-3" }));
      expect(server.admin.copyWork()).toEqual({ work: { spinThousands: 5000 }, done: 10 });
      // The server shares this process: its thread's extra CPU shows in the process's.
      expect(dearMs - plainMs).toBeGreaterThan(100);
      for (const bad of [0, -1, 1.5, 1_000_001, Number.NaN]) {
        expect(() => server.admin.setCopyWork({ spinThousands: bad }), String(bad)).toThrow(
          /spinThousands/,
        );
      }
      expect(server.admin.copyWork().work).toEqual({ spinThousands: 5000 });
      server.admin.reset();
      expect(server.admin.copyWork()).toEqual({ done: 0 });
      await client.send(
        new CopyObjectCommand({ Bucket: "work", Key: "after", CopySource: "work/src" }),
      );
      expect(server.admin.copyWork()).toEqual({ done: 0 });
    } finally {
      await server.stop();
      await rm(workDir, { recursive: true, force: true });
    }
  });
});
