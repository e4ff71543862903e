// ListObjectsV2 against the embedded S3: S3 key order, Delimiter + MaxKeys truncation,
// continuation, StartAfter and encoding-type=url, checked page by page against a reference
// model of S3's listing rules.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  NoSuchBucket,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, test } from "vitest";
import { testS3Client, uniqueName } from "../support/clients";

const s3 = testS3Client();
let bucket: string;

const KEYS = [
  "a",
  "a-c",
  "a/b",
  "a/b/c",
  "a/b/d",
  "a/c",
  "a/d/e/f",
  "a0",
  "b/x y",
  "b/x+y",
  "b/ü",
  "b/z/",
  "c",
  "dir/1",
  "dir/2",
  "dir/sub/3",
  "dir-x/4",
  "zz/0",
];

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** S3's listing rules over a known key set: the expected sequence of keys and prefixes. */
function reference(prefix: string, delimiter: string, startAfter = "") {
  const out: { key?: string; prefix?: string }[] = [];
  for (const key of [...KEYS].sort(byteOrder)) {
    if (!key.startsWith(prefix) || byteOrder(key, startAfter) <= 0) continue;
    const idx = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (idx === -1) out.push({ key });
    else {
      const cp = key.slice(0, idx + delimiter.length);
      if (out.at(-1)?.prefix !== cp) out.push({ prefix: cp });
    }
  }
  return out;
}

async function listAll(params: {
  Prefix?: string;
  Delimiter?: string;
  MaxKeys?: number;
  StartAfter?: string;
}) {
  const items: { key?: string; prefix?: string }[] = [];
  const pages: ListObjectsV2CommandOutput[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, ...params, ContinuationToken: token }),
    );
    pages.push(page);
    const pageItems: { key?: string; prefix?: string }[] = [
      ...(page.Contents ?? []).map((c) => ({ key: c.Key! })),
      ...(page.CommonPrefixes ?? []).map((p) => ({ prefix: p.Prefix! })),
    ];
    expect(page.KeyCount).toBe(pageItems.length);
    if (params.MaxKeys !== undefined) expect(pageItems.length).toBeLessThanOrEqual(params.MaxKeys);
    expect(page.IsTruncated).toBe(page.NextContinuationToken !== undefined);
    pageItems.sort((x, y) => byteOrder(x.key ?? x.prefix!, y.key ?? y.prefix!));
    items.push(...pageItems);
    token = page.NextContinuationToken;
    if (pages.length > 100) throw new Error("listing does not end");
  } while (token);
  return { items, pages };
}

beforeAll(async () => {
  bucket = uniqueName("list");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await Promise.all(
    KEYS.map((Key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }))),
  );
});

describe("ListObjectsV2", () => {
  const cases: [string, string][] = [
    ["", ""],
    ["", "/"],
    ["a", "/"],
    ["a/", "/"],
    ["a/b", "/"],
    ["b/", ""],
    ["dir", "/"],
    ["", "-"],
    ["", "b/"],
    ["nothing", "/"],
  ];
  test.each(cases)(
    "prefix %j delimiter %j: every page size yields S3's sequence",
    async (prefix, delimiter) => {
      const expected = reference(prefix, delimiter);
      for (const MaxKeys of [1, 2, 3, 1000]) {
        const { items, pages } = await listAll({
          Prefix: prefix,
          Delimiter: delimiter || undefined,
          MaxKeys,
        });
        expect(items, `MaxKeys ${MaxKeys}`).toEqual(expected);
        if (MaxKeys === 1 && expected.length > 1) expect(pages[0]?.IsTruncated).toBe(true);
      }
    },
  );

  test("Delimiter with MaxKeys 1 answers one item per page and says the list is truncated", async () => {
    const first = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: "a/", Delimiter: "/", MaxKeys: 1 }),
    );
    expect(first.Contents?.map((c) => c.Key)).toEqual(["a/b"]);
    expect(first.CommonPrefixes ?? []).toEqual([]);
    expect(first.KeyCount).toBe(1);
    expect(first.IsTruncated).toBe(true);
    const second = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: "a/",
        Delimiter: "/",
        MaxKeys: 2,
        ContinuationToken: first.NextContinuationToken,
      }),
    );
    expect(second.Contents?.map((c) => c.Key)).toEqual(["a/c"]);
    expect(second.CommonPrefixes).toEqual([{ Prefix: "a/b/" }]);
    expect(second.KeyCount).toBe(2);
    expect(second.IsTruncated).toBe(true);
    expect(second.ContinuationToken).toBe(first.NextContinuationToken);
  });

  test("StartAfter skips keys up to and including it, also inside a common prefix", async () => {
    for (const startAfter of ["a/b", "a/b/c", "b/", "dir/2", "zz/0", "0"]) {
      const { items, pages } = await listAll({
        Delimiter: "/",
        StartAfter: startAfter,
        MaxKeys: 2,
      });
      expect(items, startAfter).toEqual(reference("", "/", startAfter));
      expect(pages[0]?.StartAfter).toBe(startAfter);
    }
  });

  test("returns sizes, ETags and dates of the listed objects", async () => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "dir/1" }));
    expect(page.Contents).toHaveLength(1);
    const c = page.Contents![0]!;
    expect(c.Key).toBe("dir/1");
    expect(c.Size).toBe(5);
    expect(c.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(c.LastModified).toBeInstanceOf(Date);
    expect(c.StorageClass).toBe("STANDARD");
  });

  test("encoding-type=url encodes keys and prefixes", async () => {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: "b/", EncodingType: "url" }),
    );
    expect(page.EncodingType).toBe("url");
    const keys = (page.Contents ?? []).map((c) => c.Key);
    expect(keys).toEqual(["b/x+y", "b/x%2By", "b/z/", "b/%C3%BC"]);
    expect(keys.map((k) => decodeURIComponent(k!.replace(/\+/g, " ")))).toEqual([
      "b/x y",
      "b/x+y",
      "b/z/",
      "b/ü",
    ]);
  });

  test("MaxKeys 0 answers an empty page; a bad token and a missing bucket are errors", async () => {
    const zero = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 0 }));
    expect(zero.KeyCount).toBe(0);
    expect(zero.IsTruncated).toBe(false);
    await expect(
      s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: "garbage!" })),
    ).rejects.toMatchObject({ name: "InvalidArgument" });
    await expect(
      s3.send(new ListObjectsV2Command({ Bucket: uniqueName("absent") })),
    ).rejects.toBeInstanceOf(NoSuchBucket);
  });
});

describe("ListObjects (v1)", () => {
  async function listAllV1(Prefix: string, Delimiter: string | undefined, MaxKeys: number) {
    const items: { key?: string; prefix?: string }[] = [];
    let Marker: string | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const page = await s3.send(
        new ListObjectsCommand({ Bucket: bucket, Prefix, Delimiter, MaxKeys, Marker }),
      );
      const pageItems: { key?: string; prefix?: string }[] = [
        ...(page.Contents ?? []).map((c) => ({ key: c.Key! })),
        ...(page.CommonPrefixes ?? []).map((p) => ({ prefix: p.Prefix! })),
      ];
      expect(pageItems.length).toBeLessThanOrEqual(MaxKeys);
      pageItems.sort((x, y) => byteOrder(x.key ?? x.prefix!, y.key ?? y.prefix!));
      items.push(...pageItems);
      if (!page.IsTruncated) return items;
      // With a delimiter S3 sends NextMarker; without, clients continue from the last key.
      Marker = Delimiter ? page.NextMarker : page.Contents?.at(-1)?.Key;
      expect(Marker).toBeDefined();
    }
    throw new Error("listing does not end");
  }

  test.each([
    ["", undefined],
    ["", "/"],
    ["a/", "/"],
    ["", "-"],
  ] as const)(
    "prefix %j delimiter %j pages through S3's sequence with markers",
    async (prefix, delimiter) => {
      for (const maxKeys of [1, 3, 1000]) {
        expect(await listAllV1(prefix, delimiter, maxKeys)).toEqual(
          reference(prefix, delimiter ?? ""),
        );
      }
    },
  );
});

describe("a large directory listed page by page", () => {
  // The embedded S3 keeps the sorted entries of a large, settled directory between pages;
  // a write or delete in it must show in the next listing.
  const big = uniqueName("big");
  const keyOf = (i: number) => `d/k-${String(i).padStart(5, "0")}`;

  async function listAll(): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: big,
          Prefix: "d/",
          MaxKeys: 250,
          ContinuationToken: token,
        }),
      );
      keys.push(...(page.Contents ?? []).map((c) => c.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  test("sees a key written and a key deleted after the directory was paged through", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: big }));
    const expected = new Set<string>();
    for (let i = 0; i < 1200; i += 40) {
      await Promise.all(
        Array.from({ length: 40 }, (_, j) => {
          expected.add(keyOf(i + j));
          return s3.send(new PutObjectCommand({ Bucket: big, Key: keyOf(i + j), Body: "x" }));
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 1100)); // settled: old enough to be kept sorted
    expect(await listAll()).toEqual([...expected].sort(byteOrder));
    expect(await listAll()).toEqual([...expected].sort(byteOrder));

    await s3.send(new PutObjectCommand({ Bucket: big, Key: "d/k-00500x", Body: "new" }));
    await s3.send(new DeleteObjectCommand({ Bucket: big, Key: keyOf(7) }));
    expected.add("d/k-00500x");
    expected.delete(keyOf(7));
    expect(await listAll()).toEqual([...expected].sort(byteOrder));
    const after = await s3.send(
      new ListObjectsV2Command({ Bucket: big, Prefix: "d/", StartAfter: keyOf(500), MaxKeys: 2 }),
    );
    expect(after.Contents?.map((c) => c.Key)).toEqual(["d/k-00500x", keyOf(501)]);
  });
});
