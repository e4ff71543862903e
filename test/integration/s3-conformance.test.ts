// Every S3 operation Lakeport uses, through the real SDK client from createS3Client() against
// the embedded S3 (s3rver behind the Lakeport proxy).
import { createHash, randomBytes } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  BucketAlreadyOwnedByYou,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  type CopyObjectCommandInput,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  NoSuchKey,
  NoSuchUpload,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, inject, test } from "vitest";
import { createS3Client } from "../../lambdas/shared/aws/clients";
import { testS3Client, uniqueName } from "../support/clients";
import { s3ErrorOf } from "../support/s3-error-of";

const s3 = testS3Client();
let bucket: string;

beforeAll(async () => {
  bucket = uniqueName("conf");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");
async function getBytes(key: string, range?: string, b = bucket): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: b, Key: key, Range: range }));
  return Buffer.from(await got.Body!.transformToByteArray());
}
const errorOf = s3ErrorOf;

describe("objects", () => {
  test("a read racing writes of one key gets one whole version: its bytes with their ETag", async () => {
    // Versions of different lengths: a read mixing two (the old size with the new bytes) would
    // come back truncated or padded, or with another version's ETag.
    const versions = Array.from({ length: 8 }, (_, i) =>
      Buffer.from(`{"v":${i},"pad":"${"x".repeat(i * 997)}"}`),
    );
    const byMd5 = new Map(versions.map((v) => [`"${md5(v)}"`, v.toString()]));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "race/record", Body: versions[0] }));
    const reads: { etag?: string; body: string }[] = [];
    const writes = (async () => {
      for (let round = 0; round < 6; round++) {
        for (const v of versions) {
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "race/record", Body: v }));
        }
      }
    })();
    let done = false;
    void writes.finally(() => {
      done = true;
    });
    const readers = Array.from({ length: 4 }, async () => {
      while (!done) {
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "race/record" }));
        reads.push({ etag: got.ETag, body: await got.Body!.transformToString() });
      }
    });
    await Promise.all([writes, ...readers]);
    expect(reads.length).toBeGreaterThan(10);
    for (const r of reads) expect(byMd5.get(r.etag ?? ""), r.body.slice(0, 40)).toBe(r.body);
  });

  test("PutObject, HeadObject and GetObject keep content, type and user metadata", async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "meta/a.json",
        Body: '{"a":1}',
        ContentType: "application/json",
        Metadata: { owner: "lakeport" },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "meta/a.json" }));
    expect(head.ContentLength).toBe(7);
    expect(head.ContentType).toBe("application/json");
    expect(head.Metadata).toEqual({ owner: "lakeport" });
    expect(head.ETag).toBe(`"${md5(Buffer.from('{"a":1}'))}"`);
    expect(head.LastModified).toBeInstanceOf(Date);
    expect((await getBytes("meta/a.json")).toString()).toBe('{"a":1}');
  });

  test("HeadObject and GetObject of a missing key fail as NotFound / NoSuchKey", async () => {
    const head = await errorOf(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "nope" })));
    expect(head.$metadata.httpStatusCode).toBe(404);
    const get = await errorOf(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "nope" })));
    expect(get).toBeInstanceOf(NoSuchKey);
  });

  test("CreateBucket of an existing bucket fails with BucketAlreadyOwnedByYou", async () => {
    const err = await errorOf(s3.send(new CreateBucketCommand({ Bucket: bucket })));
    expect(err).toBeInstanceOf(BucketAlreadyOwnedByYou);
    expect(err.$metadata.httpStatusCode).toBe(409);
  });

  test("PutObject to a missing bucket fails with NoSuchBucket", async () => {
    const err = await errorOf(
      s3.send(new PutObjectCommand({ Bucket: uniqueName("missing"), Key: "k", Body: "x" })),
    );
    expect(err).toBeInstanceOf(NoSuchBucket);
  });

  test("GetObject with Range: first-last, open end, suffix, single byte, unsatisfiable", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "range.txt", Body: "0123456789" }));
    expect((await getBytes("range.txt", "bytes=2-5")).toString()).toBe("2345");
    expect((await getBytes("range.txt", "bytes=7-")).toString()).toBe("789");
    expect((await getBytes("range.txt", "bytes=-3")).toString()).toBe("789");
    expect((await getBytes("range.txt", "bytes=0-0")).toString()).toBe("0");
    expect((await getBytes("range.txt", "bytes=8-100")).toString()).toBe("89");
    const got = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: "range.txt", Range: "bytes=1-2" }),
    );
    expect(got.ContentRange).toBe("bytes 1-2/10");
    expect(got.ContentLength).toBe(2);
    await got.Body!.transformToString();
    const err = await errorOf(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: "range.txt", Range: "bytes=10-" })),
    );
    expect(err.name).toBe("InvalidRange");
    expect(err.$metadata.httpStatusCode).toBe(416);
  });

  test("DeleteObject removes a key and succeeds for a missing key", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "del/one", Body: "x" }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "del/one" }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "del/one" }));
    const err = await errorOf(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "del/one" })));
    expect(err.$metadata.httpStatusCode).toBe(404);
  });

  test("PutObject checks Content-MD5 and keeps nothing of a body that does not match it", async () => {
    const body = Buffer.from("checked body");
    const good = createHash("md5").update(body).digest("base64");
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "md5/ok", Body: body, ContentMD5: good }),
    );
    expect((await getBytes("md5/ok")).toString()).toBe("checked body");
    const bad = await errorOf(
      s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: "md5/ok",
          Body: Buffer.from("other bytes"),
          ContentMD5: good,
        }),
      ),
    );
    expect(bad.name).toBe("BadDigest");
    expect(bad.$metadata.httpStatusCode).toBe(400);
    // The refused body did not replace the object.
    expect((await getBytes("md5/ok")).toString()).toBe("checked body");
  });

  test("PutObject over an existing key replaces bytes, ETag and metadata", async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "over/k", Body: "one", Metadata: { a: "1" } }),
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "over/k", Body: "second" }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "over/k" }));
    expect(head.ETag).toBe(`"${md5(Buffer.from("second"))}"`);
    expect(head.ContentLength).toBe(6);
    expect(head.Metadata).toEqual({});
  });

  test("deleting the last key of a deep prefix leaves listings of its siblings intact", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "deep/a/b/c/k1", Body: "1" }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "deep/a/k2", Body: "2" }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "deep/a/b/c/k1" }));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "deep/" }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(["deep/a/k2"]);
    // The emptied prefix takes new keys again.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "deep/a/b/c/k3", Body: "3" }));
    expect((await getBytes("deep/a/b/c/k3")).toString()).toBe("3");
  });

  test("user metadata: US-ASCII values only (else the signature fails), at most 2 KB per object", async () => {
    const put = (Metadata: Record<string, string>, Key = "meta/object") =>
      s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: "x", Metadata }));
    // Node sends "ß" as one Latin-1 byte while the SDK signs its UTF-8 form.
    expect((await errorOf(put({ name: "groß" }))).name).toBe("SignatureDoesNotMatch");
    const copy = (Metadata: Record<string, string>) =>
      s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: "meta/copy",
          CopySource: `${bucket}/meta/ok`,
          MetadataDirective: "REPLACE",
          Metadata,
        }),
      );
    const upload = (Metadata: Record<string, string>) =>
      s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "meta/mp", Metadata }));
    await put({ name: "=?UTF-8?B?Z3Jvw58=?=" }, "meta/ok");
    expect((await errorOf(copy({ name: "café" }))).name).toBe("SignatureDoesNotMatch");
    expect((await errorOf(upload({ name: "café" }))).name).toBe("SignatureDoesNotMatch");
    // 2 KB: the UTF-8 bytes of the keys (without x-amz-meta-) and values.
    await put({ k: "v".repeat(2047) });
    for (const request of [put, copy, upload]) {
      const err = await errorOf(request({ k: "v".repeat(2048) }));
      expect(err.name).toBe("MetadataTooLarge");
      expect(err.$metadata.httpStatusCode).toBe(400);
    }
  });

  test("a wrong access key is refused", async () => {
    const bad = createS3Client({
      endpoint: inject("s3Endpoint"),
      region: "us-east-1",
      credentials: { accessKeyId: "WRONG", secretAccessKey: "WRONG" },
    });
    const err = await errorOf(bad.send(new GetObjectCommand({ Bucket: bucket, Key: "range.txt" })));
    expect(err.name).toBe("InvalidAccessKeyId");
    const list = await errorOf(
      bad.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: "x" }] } })),
    );
    expect(list.name).toBe("InvalidAccessKeyId");
  });
});

describe("CopyObject", () => {
  const awkwardKeys = [
    "with space/a b.txt",
    "plus/a+b=c&d.txt",
    "unicode/häß-日本語.txt",
    "q/what?.txt",
  ];

  test.each(awkwardKeys)(
    "copies key %j (URL-encoded copy source) with its metadata",
    async (key) => {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: `body of ${key}`,
          ContentType: "text/plain",
          Metadata: { origin: "src" },
        }),
      );
      const dest = `copied/${key}`;
      const out = await s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: dest,
          CopySource: `${bucket}/${encodeURIComponent(key)}`,
        }),
      );
      expect(out.CopyObjectResult?.ETag).toBe(`"${md5(Buffer.from(`body of ${key}`))}"`);
      expect((await getBytes(dest)).toString()).toBe(`body of ${key}`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: dest }));
      expect(head.ContentType).toBe("text/plain");
      expect(head.Metadata).toEqual({ origin: "src" });
    },
  );

  test("MetadataDirective REPLACE sets the new ContentType and user metadata", async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "replace/src",
        Body: "x",
        ContentType: "text/plain",
        Metadata: { old: "1" },
      }),
    );
    for (const dest of ["replace/dest", "replace/src"]) {
      await s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: dest,
          CopySource: `${bucket}/replace/src`,
          MetadataDirective: "REPLACE",
          ContentType: "application/x-parquet",
          Metadata: { new: "2" },
        }),
      );
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: dest }));
      expect(head.ContentType).toBe("application/x-parquet");
      expect(head.Metadata).toEqual({ new: "2" });
      expect((await getBytes(dest)).toString()).toBe("x");
    }
  });

  test("copying over an existing key replaces its bytes and its ETag", async () => {
    const oldBody = Buffer.from("old body");
    const newBody = Buffer.from("a new, longer body");
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "over/src-old", Body: oldBody }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "over/src-new", Body: newBody }));
    const copy = (src: string) =>
      s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: "over/dest",
          CopySource: `${bucket}/${src}`,
          MetadataDirective: "REPLACE",
          ContentType: "application/octet-stream",
        }),
      );
    await copy("over/src-old");
    const result = await copy("over/src-new");
    expect(result.CopyObjectResult?.ETag).toBe(`"${md5(newBody)}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "over/dest" }));
    expect(head.ETag).toBe(`"${md5(newBody)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "over/dest" }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(newBody)).toBe(true);
  });

  test("tags: a copy takes the source's (COPY, the default) or x-amz-tagging's (REPLACE); a new object starts with its request's", async () => {
    const tagsOf = async (key: string) =>
      (await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet?.map(
        (t) => `${t.Key}=${t.Value}`,
      ) ?? [];
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "tags/src", Body: "t", Tagging: "tier=hot" }),
    );
    expect(await tagsOf("tags/src")).toEqual(["tier=hot"]);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "tags/dest", Body: "old" }));
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: bucket,
        Key: "tags/dest",
        Tagging: { TagSet: [{ Key: "stale", Value: "1" }] },
      }),
    );
    const copy = (extra: Partial<CopyObjectCommandInput>) =>
      s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: "tags/dest",
          CopySource: `${bucket}/tags/src`,
          ...extra,
        }),
      );
    await copy({});
    expect(await tagsOf("tags/dest")).toEqual(["tier=hot"]);
    await copy({ MetadataDirective: "REPLACE", TaggingDirective: "REPLACE" });
    expect(await tagsOf("tags/dest")).toEqual([]);
    await copy({ TaggingDirective: "REPLACE", Tagging: "a=1&b=x%20y" });
    expect(await tagsOf("tags/dest")).toEqual(["a=1", "b=x y"]);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "tags/dest", Body: "new" }));
    expect(await tagsOf("tags/dest")).toEqual([]);
    await copy({});
    await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: "tags/dest" }] } }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "tags/dest",
        Body: "again",
        ContentMD5: undefined,
      }),
    );
    expect(await tagsOf("tags/dest")).toEqual([]);
  });

  test("copying a missing source fails with NoSuchKey; a versionId other than null with NoSuchVersion", async () => {
    const err = await errorOf(
      s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "d", CopySource: `${bucket}/absent` })),
    );
    expect(err).toBeInstanceOf(NoSuchKey);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "ver/src", Body: "v" }));
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: "ver/d1",
        CopySource: `${bucket}/ver/src?versionId=null`,
      }),
    );
    expect((await getBytes("ver/d1")).toString()).toBe("v");
    const v = await errorOf(
      s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: "ver/d2",
          CopySource: `${bucket}/ver/src?versionId=abc`,
        }),
      ),
    );
    expect(v.name).toBe("NoSuchVersion");
  });
});

describe("multipart", () => {
  const PART = 5 * 1024 * 1024;

  test("UploadPartCopy with ranges copies an object larger than one part", async () => {
    const src = randomBytes(PART * 2 + 1234);
    const srcKey = "mp/source big+1.bin";
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: srcKey, Body: src }));
    const dest = "mp/copy ü.bin";
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: dest,
        ContentType: "application/octet-stream",
      }),
    );
    const parts = [];
    for (let i = 0, n = 1; i < src.length; i += PART, n++) {
      const last = Math.min(i + PART, src.length) - 1;
      const out = await s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: dest,
          UploadId,
          PartNumber: n,
          CopySource: `${bucket}/${encodeURIComponent(srcKey)}`,
          CopySourceRange: `bytes=${i}-${last}`,
        }),
      );
      expect(out.CopyPartResult?.ETag).toBe(`"${md5(src.subarray(i, last + 1))}"`);
      expect(out.CopyPartResult?.LastModified).toBeInstanceOf(Date);
      parts.push({ PartNumber: n, ETag: out.CopyPartResult!.ETag! });
    }
    expect(parts).toHaveLength(3);
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: dest,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    const copied = await getBytes(dest);
    expect(copied.length).toBe(src.length);
    expect(md5(copied)).toBe(md5(src));
    // S3's multipart ETag: md5 of the concatenated binary part md5s, then "-<parts>".
    const partDigests = Buffer.concat(
      parts.map((p) => Buffer.from(p.ETag.replace(/"/g, ""), "hex")),
    );
    const expectedEtag = `"${md5(partDigests)}-3"`;
    expect(done.ETag).toBe(expectedEtag);
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: dest }))).ETag).toBe(
      expectedEtag,
    );
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: dest }));
    expect(listed.Contents?.[0]?.ETag).toBe(expectedEtag);
  });

  test("UploadPartCopy without a range copies the whole object; mixes with UploadPart", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "mp/small", Body: "tail" }));
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: "mp/mixed" }),
    );
    const head = Buffer.alloc(PART, 7);
    const p1 = await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: "mp/mixed",
        UploadId,
        PartNumber: 1,
        Body: head,
      }),
    );
    const p2 = await s3.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: "mp/mixed",
        UploadId,
        PartNumber: 2,
        CopySource: `/${bucket}/mp/small`,
      }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: "mp/mixed",
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.CopyPartResult?.ETag },
          ],
        },
      }),
    );
    const all = await getBytes("mp/mixed");
    expect(all.length).toBe(PART + 4);
    expect(all.subarray(PART).toString()).toBe("tail");
  });

  test("UploadPartCopy errors: range beyond the source, missing source, unknown upload", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "mp/ten", Body: "0123456789" }));
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: "mp/e" }),
    );
    const base = { Bucket: bucket, Key: "mp/e", UploadId, PartNumber: 1 };
    const beyond = await errorOf(
      s3.send(
        new UploadPartCopyCommand({
          ...base,
          CopySource: `${bucket}/mp/ten`,
          CopySourceRange: "bytes=5-10",
        }),
      ),
    );
    expect(beyond.name).toBe("InvalidArgument");
    const missing = await errorOf(
      s3.send(new UploadPartCopyCommand({ ...base, CopySource: `${bucket}/mp/none` })),
    );
    expect(missing).toBeInstanceOf(NoSuchKey);
    const unknown = await errorOf(
      s3.send(
        new UploadPartCopyCommand({
          ...base,
          UploadId: "0123456789abcdef",
          CopySource: `${bucket}/mp/ten`,
        }),
      ),
    );
    expect(unknown).toBeInstanceOf(NoSuchUpload);
    const ok = await s3.send(
      new UploadPartCopyCommand({
        ...base,
        CopySource: `${bucket}/mp/ten`,
        CopySourceRange: "bytes=2-4",
      }),
    );
    expect(ok.CopyPartResult?.ETag).toBe(`"${md5(Buffer.from("234"))}"`);
  });

  test("CompleteMultipartUpload rejects a wrong part ETag; AbortMultipartUpload discards the upload", async () => {
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: "mp/abort" }),
    );
    await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: "mp/abort",
        UploadId,
        PartNumber: 1,
        Body: "x",
      }),
    );
    const bad = await errorOf(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: "mp/abort",
          UploadId,
          MultipartUpload: {
            Parts: [{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }],
          },
        }),
      ),
    );
    expect(bad.name).toBe("InvalidPart");
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: "mp/abort", UploadId }));
    const gone = await errorOf(
      s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: "mp/abort",
          UploadId,
          PartNumber: 2,
          Body: "y",
        }),
      ),
    );
    expect(gone).toBeInstanceOf(NoSuchUpload);
    const again = await errorOf(
      s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: "mp/abort", UploadId })),
    );
    expect(again).toBeInstanceOf(NoSuchUpload);
    const head = await errorOf(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "mp/abort" })));
    expect(head.$metadata.httpStatusCode).toBe(404);
  });
});

describe("DeleteObjects", () => {
  test("verbose: every key is Deleted, missing keys included, also keys that look like numbers", async () => {
    for (const k of ["dm/a", "dm/b", "123"]) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }));
    }
    const out = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: {
          Objects: [{ Key: "dm/a" }, { Key: "dm/b" }, { Key: "dm/missing" }, { Key: "123" }],
        },
      }),
    );
    expect(out.Deleted?.map((d) => d.Key).sort()).toEqual(["123", "dm/a", "dm/b", "dm/missing"]);
    expect(out.Errors ?? []).toEqual([]);
    const head = await errorOf(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "dm/a" })));
    expect(head.$metadata.httpStatusCode).toBe(404);
  });

  test("quiet: no Deleted entries, keys with XML special characters", async () => {
    const keys = ["dq/a&b<c>.txt", "dq/'quoted\"", "dq/ space "];
    for (const k of keys)
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: "x" }));
    const out = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Quiet: true, Objects: keys.map((Key) => ({ Key })) },
      }),
    );
    expect(out.Deleted ?? []).toEqual([]);
    expect(out.Errors ?? []).toEqual([]);
    for (const k of keys) {
      const err = await errorOf(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: k })));
      expect(err.$metadata.httpStatusCode).toBe(404);
    }
  });

  test("a key with a character XML 1.0 cannot hold fails the whole request: MalformedXML", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "dx/ok", Body: "x" }));
    const err = await errorOf(
      s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: [{ Key: "dx/ok" }, { Key: "dx/a\u0001b" }] },
        }),
      ),
    );
    expect(err.name).toBe("MalformedXML");
    expect((await getBytes("dx/ok")).toString()).toBe("x");
  });
});
