// The lakeFS development server's S3 gateway, read through the AWS SDK's S3 client as rclone,
// DuckDB or the AWS CLI read lakeFS: repositories as buckets, `<ref>/<path>` keys, listings
// with prefix, delimiter and continuation (V2 and V1), ranged reads, HeadObject, SigV4 with
// the lakeFS key pair (wrong keys refused), read-only.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LakeFsClient } from "../../lambdas/shared/lakefs/client";
import { type LakeFsDevServerHandle, startLakeFsDevServer } from "../../local/lakefs/server";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/server";
import { TEST_REGION, testS3Client, uniqueName } from "../support/clients";

const KEYS = { accessKeyId: "AKIAGATEWAYTEST", secretAccessKey: "gateway-secret" };
const s3 = testS3Client();
let dataDir: string;
let server: LakeFsDevServerHandle;
let lakefs: LakeFsClient;
let gateway: S3Client;
let repo: string;
let main: string;

const gatewayClient = (credentials = KEYS) =>
  new S3Client({
    endpoint: server.endpoint,
    region: TEST_REGION,
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 1,
  });

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "lakefs-s3gw-"));
  const bucket = uniqueName("lakefs-s3gw");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  server = await startLakeFsDevServer({
    dataDir,
    s3: { endpoint: inject("s3Endpoint"), region: TEST_REGION, credentials: LOCAL_S3_CREDENTIALS },
    credentials: KEYS,
  });
  lakefs = new LakeFsClient({ endpoint: server.endpoint, credentials: KEYS });
  repo = uniqueName("gwrepo");
  await lakefs.createRepository({ name: repo, storage_namespace: `s3://${bucket}/${repo}` });
  for (const p of ["a/1.txt", "a/2.txt", "a/b/3.txt", "c d/4 +.txt", "top.txt"]) {
    await lakefs.uploadObject(repo, "main", p, {
      content: `content of ${p}`,
      contentType: "text/plain",
    });
  }
  main = (await lakefs.commit(repo, "main", { message: "five" })).id;
  await lakefs.uploadObject(repo, "main", "staged.txt", { content: "staged" });
  gateway = gatewayClient();
});

afterAll(async () => {
  gateway?.destroy();
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const keysOf = (out: { Contents?: { Key?: string }[] }) => (out.Contents ?? []).map((c) => c.Key);
const prefixesOf = (out: { CommonPrefixes?: { Prefix?: string }[] }) =>
  (out.CommonPrefixes ?? []).map((c) => c.Prefix);

describe("lakeFS S3 gateway", () => {
  it("lists a branch (staging included) and a commit, with and without a delimiter", async () => {
    const all = await gateway.send(new ListObjectsV2Command({ Bucket: repo, Prefix: "main/" }));
    expect(keysOf(all)).toEqual([
      "main/a/1.txt",
      "main/a/2.txt",
      "main/a/b/3.txt",
      "main/c d/4 +.txt",
      "main/staged.txt",
      "main/top.txt",
    ]);
    expect(all.Contents![0]).toMatchObject({
      Size: "content of a/1.txt".length,
      StorageClass: "STANDARD",
    });
    const top = await gateway.send(
      new ListObjectsV2Command({ Bucket: repo, Prefix: `${main}/`, Delimiter: "/" }),
    );
    expect(keysOf(top)).toEqual([`${main}/top.txt`]);
    expect(prefixesOf(top)).toEqual([`${main}/a/`, `${main}/c d/`]);
    const refs = await gateway.send(new ListObjectsV2Command({ Bucket: repo, Delimiter: "/" }));
    expect(prefixesOf(refs)).toEqual(["main/"]);
  });

  it("pages with continuation tokens (V2) and markers (V1), also URL-encoded", async () => {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await gateway.send(
        new ListObjectsV2Command({
          Bucket: repo,
          Prefix: "main/",
          MaxKeys: 2,
          EncodingType: "url",
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      expect(page.KeyCount).toBeLessThanOrEqual(2);
      seen.push(...keysOf(page).map((k) => decodeURIComponent(k!)));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    expect(seen).toHaveLength(6);
    expect(seen).toContain("main/c d/4 +.txt");
    const v1 = await gateway.send(
      new ListObjectsCommand({ Bucket: repo, Prefix: "main/a/", Marker: "main/a/1.txt" }),
    );
    expect(keysOf(v1)).toEqual(["main/a/2.txt", "main/a/b/3.txt"]);
  });

  it("reads objects whole and by range, and heads them", async () => {
    const whole = await gateway.send(
      new GetObjectCommand({ Bucket: repo, Key: `${main}/c d/4 +.txt` }),
    );
    expect(await whole.Body!.transformToString()).toBe("content of c d/4 +.txt");
    expect(whole.ContentType).toBe("text/plain");
    const part = await gateway.send(
      new GetObjectCommand({ Bucket: repo, Key: "main/top.txt", Range: "bytes=0-6" }),
    );
    expect(await part.Body!.transformToString()).toBe("content");
    expect(part.ContentRange).toBe(`bytes 0-6/${"content of top.txt".length}`);
    const head = await gateway.send(
      new HeadObjectCommand({ Bucket: repo, Key: "main/staged.txt" }),
    );
    expect(head.ContentLength).toBe(6);
    expect(head.ETag).toMatch(/^"[0-9a-f]+"$/);
    await expect(
      gateway.send(new GetObjectCommand({ Bucket: repo, Key: "main/nope.txt" })),
    ).rejects.toMatchObject({ name: "NoSuchKey" });
    await gateway.send(new HeadBucketCommand({ Bucket: repo }));
    const buckets = await gateway.send(new ListBucketsCommand({}));
    expect(buckets.Buckets?.map((b) => b.Name)).toContain(repo);
    await expect(
      gateway.send(new ListObjectsV2Command({ Bucket: "no-such-repo", Prefix: "main/" })),
    ).rejects.toMatchObject({ name: "NoSuchBucket" });
  });

  it("refuses wrong keys, unsigned requests and writes, and counts requests", async () => {
    const wrong = gatewayClient({ ...KEYS, secretAccessKey: "wrong" });
    await expect(
      wrong.send(new ListObjectsV2Command({ Bucket: repo, Prefix: "main/" })),
    ).rejects.toMatchObject({ name: "SignatureDoesNotMatch", $metadata: { httpStatusCode: 403 } });
    const unknown = gatewayClient({ accessKeyId: "AKIAUNKNOWN", secretAccessKey: "x" });
    await expect(
      unknown.send(new GetObjectCommand({ Bucket: repo, Key: "main/top.txt" })),
    ).rejects.toMatchObject({ name: "InvalidAccessKeyId" });
    wrong.destroy();
    unknown.destroy();
    const unsigned = await fetch(`${server.endpoint}/${repo}/main/top.txt`);
    expect(unsigned.status).toBe(403);
    expect(await unsigned.text()).toContain("<Code>AccessDenied</Code>");
    await expect(
      gateway.send(new PutObjectCommand({ Bucket: repo, Key: "main/new.txt", Body: "x" })),
    ).rejects.toMatchObject({ name: "NotImplemented" });
    const stats = server.stats().byOperation;
    expect(stats["s3.ListObjectsV2"]).toBeGreaterThan(3);
    expect(stats["s3.GetObject"]).toBeGreaterThan(1);
  });
});
