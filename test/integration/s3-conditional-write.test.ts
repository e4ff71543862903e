// S3's conditional writes (PutObject with If-None-Match: * or If-Match) on the embedded S3, as
// AWS answers them, and the shared object store's putIf on top: what makes a GC backup
// location's record a claim only one backup can win.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, test } from "vitest";
import { S3ObjectStore, UPLOAD_PART_BYTES } from "../../lambdas/shared/aws/s3-object-store";
import { WriteConditionFailedError } from "../../lambdas/shared/write-condition";
import { testS3Client, uniqueName } from "../support/clients";
import { s3ErrorOf } from "../support/s3-error-of";

const s3 = testS3Client();
const store = new S3ObjectStore(s3);
let bucket: string;

beforeAll(async () => {
  bucket = uniqueName("cond");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

const errorOf = s3ErrorOf;

const put = (key: string, body: string, cond: { IfNoneMatch?: string; IfMatch?: string } = {}) =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...cond }));

const text = async (key: string) => {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString();
};

describe("PutObject with If-None-Match: *", () => {
  test("writes an absent key, then answers 412 PreconditionFailed and keeps the object", async () => {
    await put("none/a", "first", { IfNoneMatch: "*" });
    const err = await errorOf(put("none/a", "second", { IfNoneMatch: "*" }));
    expect(err.name).toBe("PreconditionFailed");
    expect(err.$metadata.httpStatusCode).toBe(412);
    expect(await text("none/a")).toBe("first");
  });

  test("of many racing writes to one key, exactly one wins", async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => put("none/race", `writer ${i}`, { IfNoneMatch: "*" })),
    );
    const won = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [i] : []));
    expect(won).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === "rejected") expect((o.reason as Error).name).toBe("PreconditionFailed");
    }
    expect(await text("none/race")).toBe(`writer ${won[0]}`);
  });

  test("refuses any value other than * (S3 implements only *)", async () => {
    const err = await errorOf(put("none/etag", "x", { IfNoneMatch: '"abc"' }));
    expect(err.$metadata.httpStatusCode).toBe(501);
  });
});

describe("PutObject with If-Match", () => {
  test("writes when the ETag is current, answers 412 when it is not", async () => {
    const first = await put("match/a", "v1");
    const second = await put("match/a", "v2", { IfMatch: first.ETag! });
    expect(second.ETag).not.toBe(first.ETag);
    const err = await errorOf(put("match/a", "v3", { IfMatch: first.ETag! }));
    expect(err.$metadata.httpStatusCode).toBe(412);
    expect(await text("match/a")).toBe("v2");
  });

  test("answers 404 NoSuchKey for an absent key", async () => {
    const err = await errorOf(put("match/absent", "x", { IfMatch: '"0123"' }));
    expect(err.name).toBe("NoSuchKey");
    expect(err.$metadata.httpStatusCode).toBe(404);
  });

  test("of two updates from the same read, one wins", async () => {
    const base = await put("match/race", "base");
    const outcomes = await Promise.allSettled([
      put("match/race", "left", { IfMatch: base.ETag! }),
      put("match/race", "right", { IfMatch: base.ETag! }),
    ]);
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    expect(["left", "right"]).toContain(await text("match/race"));
  });
});

describe("the shared object store", () => {
  test("putIf claims a key once, updates it from its ETag, and says when it changed", async () => {
    const etag = await store.putIf(bucket, "store/record", "claimed", "absent");
    await expect(store.putIf(bucket, "store/record", "again", "absent")).rejects.toBeInstanceOf(
      WriteConditionFailedError,
    );
    const read = await store.getVersioned(bucket, "store/record");
    expect(read).toEqual({ text: "claimed", etag });
    const next = await store.putIf(bucket, "store/record", "updated", { etag });
    await expect(store.putIf(bucket, "store/record", "stale", { etag })).rejects.toBeInstanceOf(
      WriteConditionFailedError,
    );
    expect(await store.getVersioned(bucket, "store/record")).toEqual({
      text: "updated",
      etag: next,
    });
    await expect(store.putIf(bucket, "store/gone", "x", { etag })).rejects.toBeInstanceOf(
      WriteConditionFailedError,
    );
    expect(await store.getVersioned(bucket, "store/gone")).toBeUndefined();
  });
});

describe("GetObject with If-Match (a GC sweep reads its mark's list at the ETag revalidation saw)", () => {
  test("reads when the ETag is current; 412 once the object was written again", async () => {
    const first = await put("read/a", "line 1\nline 2\n");
    const read = async (etag: string) => {
      const lines = await store.lines(bucket, "read/a", { ifMatch: etag });
      const out: string[] = [];
      for await (const l of lines!) out.push(l);
      return out;
    };
    expect(await read(first.ETag!)).toEqual(["line 1", "line 2"]);
    const second = await put("read/a", "line 1\nline 2\nedited\n");
    const err = await errorOf(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: "read/a", IfMatch: first.ETag! })),
    );
    expect(err.$metadata.httpStatusCode).toBe(412);
    await expect(read(first.ETag!)).rejects.toBeInstanceOf(WriteConditionFailedError);
    expect(await read(second.ETag!)).toEqual(["line 1", "line 2", "edited"]);
  });

  test("the ETag a streamed upload's close answers is the one the listing gives, multipart too", async () => {
    const line = `${"k".repeat(1023)}\n`;
    for (const [key, bytes] of [
      ["read/streamed-small", 4],
      ["read/streamed-multipart", UPLOAD_PART_BYTES + 1024],
    ] as const) {
      const upload = store.upload(bucket, key);
      await upload.write(line.repeat(Math.ceil(bytes / line.length)));
      const etag = await upload.close();
      const listed = [];
      for await (const o of store.list(bucket, key)) listed.push(o);
      expect(etag).toBeTruthy();
      expect(listed.map((o) => o.etag)).toEqual([etag]);
      const lines = await store.lines(bucket, key, { ifMatch: etag! });
      let n = 0;
      for await (const _ of lines!) n++;
      expect(n).toBe(Math.ceil(bytes / line.length));
    }
  });
});
