// S3ObjectStore.list returns keys exactly as stored. Without EncodingType=url, S3 writes a key's
// carriage return into the listing's XML as it is, and an XML parser (the SDK's too) turns it
// into a line feed: a full export would then see another key in its export path than the one
// there (deleting a name that does not exist, copying again, or refusing the listing as out of
// order). With url encoding S3 answers form-style ("+" for a space, "%2B" for "+").
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { ExportPathObjects } from "../../lambdas/export/app/export-path-listing";
import { S3ObjectStore } from "../../lambdas/shared/aws/s3-object-store";
import { testS3Client, uniqueName } from "../support/clients";

let s3: S3Client;
let bucket: string;
// In key order (UTF-8 bytes).
const names = ["a\tb", "a\nb", "a\rb", "c\r\nd", "g h+i", "p%2Bq", "p+q", "z\u0001y", "é ü"];

beforeAll(async () => {
  s3 = testS3Client();
  bucket = uniqueName("listing");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const name of names) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `exp/${name}`, Body: name }));
  }
});

describe("S3ObjectStore.list", () => {
  it("returns keys with carriage returns, spaces, '+' and '%' as they are stored, in order", async () => {
    const store = new S3ObjectStore(s3);
    const listed: string[] = [];
    for await (const o of store.list(bucket, "exp/")) listed.push(o.key);
    expect(listed).toEqual(names.map((n) => `exp/${n}`));
    const after: string[] = [];
    for await (const o of store.list(bucket, "exp/", "exp/a\nb")) after.push(o.key);
    expect(after).toEqual(names.slice(2).map((n) => `exp/${n}`));
  });

  it("gives a full export the paths of its export path as they are", async () => {
    const paths: string[] = [];
    for await (const o of new ExportPathObjects(new S3ObjectStore(s3), bucket, "exp").objects(
      undefined,
    )) {
      paths.push(o.path);
    }
    expect(paths).toEqual(names);
  });
});

describe("S3ObjectStore.lines", () => {
  it("keeps a U+FEFF that begins the first line (a key may begin with one)", async () => {
    // A GC list of keys, as mark writes it: the first key begins with U+FEFF. Read back
    // without it, the sweep would delete `data/live` for the marked `\uFEFFdata/live`.
    const body = "\uFEFFdata/live\ndata/other\n";
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "lists/bom.txt", Body: body }));
    const lines = await new S3ObjectStore(s3).lines(bucket, "lists/bom.txt");
    const read: string[] = [];
    for await (const line of lines!) read.push(line);
    expect(read).toEqual(["\uFEFFdata/live", "data/other"]);
    expect(await new S3ObjectStore(s3).getText(bucket, "lists/bom.txt")).toBe(body);
  });
});
