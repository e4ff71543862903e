// Lakeport's S3 clients make calls of one command type to several buckets at once (a copy
// batch's HEADs of source and destination, a restore's copies, a sweep's reads and deletes):
// each must reach its own bucket and key. The SDK's cacheMiddleware option broke exactly this
// (calls of a type share one handler context, which holds the endpoint and, with path-style
// addressing, the bucket: concurrent puts to three buckets all landed in the last), so the
// clients never set it (lambdas/shared/aws/clients.ts); against the embedded S3.
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { describe, expect, test } from "vitest";
import { httpStatusOf } from "../../lambdas/shared/retry";
import { testS3Client, uniqueName } from "../support/clients";

const s3 = testS3Client();
const CALLS = 300;

async function listKeys(bucket: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (out.Contents ?? []).map((o) => o.Key as string).sort();
}

describe("one S3 client, calls of one type to several buckets at once", () => {
  test("the client resolves its middleware per call (no shared handler context)", () => {
    expect((s3.config as { cacheMiddleware?: boolean }).cacheMiddleware).not.toBe(true);
  });

  test("puts, gets, heads, copies and deletes each reach their own bucket and key", async () => {
    const buckets = [uniqueName("cca"), uniqueName("ccb"), uniqueName("ccc")];
    for (const b of buckets) await s3.send(new CreateBucketCommand({ Bucket: b }));
    const bucketOf = (i: number) => buckets[i % 3] as string;
    const idx = Array.from({ length: CALLS }, (_, i) => i);

    // Every put at once, alternating buckets: each object names where it was meant to go.
    await Promise.all(
      idx.map((i) =>
        s3.send(
          new PutObjectCommand({
            Bucket: bucketOf(i),
            Key: `k/${i}`,
            Body: `${bucketOf(i)}/k/${i}`,
          }),
        ),
      ),
    );
    for (const [n, b] of buckets.entries()) {
      expect(await listKeys(b)).toEqual(
        idx
          .filter((i) => i % 3 === n)
          .map((i) => `k/${i}`)
          .sort(),
      );
    }

    // Gets of the right bucket and heads of the wrong one, at once: a head that reached the
    // object's own bucket would find it.
    const results = await Promise.all(
      idx.flatMap((i) => [
        s3
          .send(new GetObjectCommand({ Bucket: bucketOf(i), Key: `k/${i}` }))
          .then((o) => o.Body?.transformToString()),
        s3.send(new HeadObjectCommand({ Bucket: bucketOf(i + 1), Key: `k/${i}` })).then(
          () => "found",
          (e) => httpStatusOf(e),
        ),
      ]),
    );
    for (const i of idx) {
      expect(results[2 * i]).toBe(`${bucketOf(i)}/k/${i}`);
      expect(results[2 * i + 1]).toBe(404);
    }

    // Copies into the next bucket, at once, each from its own source.
    await Promise.all(
      idx.map((i) =>
        s3.send(
          new CopyObjectCommand({
            Bucket: bucketOf(i + 1),
            Key: `copy/${i}`,
            CopySource: `${bucketOf(i)}/k/${i}`,
          }),
        ),
      ),
    );
    const copies = await Promise.all(
      idx.map((i) =>
        s3
          .send(new GetObjectCommand({ Bucket: bucketOf(i + 1), Key: `copy/${i}` }))
          .then((o) => o.Body?.transformToString()),
      ),
    );
    for (const i of idx) expect(copies[i]).toBe(`${bucketOf(i)}/k/${i}`);

    // Deletes of the originals in each bucket at once: the copies stay.
    await Promise.all(
      buckets.map((b, n) =>
        s3.send(
          new DeleteObjectsCommand({
            Bucket: b,
            Delete: {
              Objects: idx.filter((i) => i % 3 === n).map((i) => ({ Key: `k/${i}` })),
            },
          }),
        ),
      ),
    );
    for (const [n, b] of buckets.entries()) {
      expect(await listKeys(b)).toEqual(
        idx
          .filter((i) => (i + 1) % 3 === n)
          .map((i) => `copy/${i}`)
          .sort(),
      );
    }
  }, 60_000);
});
