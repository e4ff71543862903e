// Review of gc backup and restore from this machine (the CLI against the API with fake lakeFS
// and stores, and the embedded S3): keys with unusual characters survive the round trip; a
// restore refused for its lists changes nothing; a long location can be restored from; a
// backup reads every partition's list or nothing; two restores, or two backups into one
// location, of one mark at once both succeed.
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gcPaths } from "../../lambdas/gc/domain/paths";
import { type CliGcCopyWorld, startCliGcCopyWorld } from "../support/cli-gc-copy";
import { testS3Client } from "../support/clients";

const repo = "repo-review";
let w: CliGcCopyWorld;
const s3 = () => testS3Client();

beforeAll(async () => {
  w = await startCliGcCopyWorld(repo);
});
afterAll(() => w.stop());

async function text(bucket: string, key: string): Promise<string | undefined> {
  try {
    const got = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await got.Body!.transformToString();
  } catch {
    return undefined;
  }
}

/** gc backup (--to) or restore (--from) of a mark of the repository, from this machine. */
const copyMark = (direction: "backup" | "restore", markId: string, location: string) =>
  w.lakeport([
    "gc",
    direction,
    `lakefs://${repo}`,
    "--mark-id",
    markId,
    direction === "backup" ? "--to" : "--from",
    location,
  ]);

/** The namespace's objects of these keys deleted, as a sweep does. */
async function deleteFromNamespace(keys: string[]) {
  for (const k of keys) {
    await s3().send(new DeleteObjectCommand({ Bucket: w.bucket, Key: `${repo}/${k}` }));
  }
}

describe("gc backup and restore of keys with unusual characters (from this machine)", () => {
  it("brings each one back byte for byte", async () => {
    const keys = [
      "data/a b",
      "data/a+b",
      "data/100%25",
      "data/50%",
      "data/caf\u00e9/\u6f22\u5b57",
      "data/emoji-\u{1F600}",
      "data/q?x=1&y=2",
      "data/hash#frag",
      `data/${Array.from({ length: 4 }, (_, i) => `${i}`.repeat(200)).join("/")}`,
    ];
    await w.marked("u1", keys, true);
    const loc = `s3://${w.backupBucket}/u1`;
    const b = await copyMark("backup", "u1", loc);
    expect(b.code, b.stderr).toBe(0);
    await deleteFromNamespace(keys);
    const r = await copyMark("restore", "u1", loc);
    expect(r.code, r.stderr).toBe(0);
    for (const k of keys) expect(await text(w.bucket, `${repo}/${k}`), k).toBe(k);
  });
});

describe("a restore whose mark has no part list, only another .txt beside where they were", () => {
  it("is refused with exit code 2 before the mark is retired", async () => {
    await w.marked("t1", ["data/t"], true);
    const loc = `s3://${w.backupBucket}/t1`;
    const b = await copyMark("backup", "t1", loc);
    expect(b.code, b.stderr).toBe(0);
    // The list renamed by hand: a .txt is there, but no part-NNNNN.txt.
    const list = `${repo}/${gcPaths.addressesTextPart("t1", 0)}`;
    const notes = `${repo}/${gcPaths.addressesTextPrefix("t1")}notes.txt`;
    await s3().send(new PutObjectCommand({ Bucket: w.bucket, Key: notes, Body: "data/t\n" }));
    await s3().send(new DeleteObjectCommand({ Bucket: w.bucket, Key: list }));
    const r = await copyMark("restore", "t1", loc);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/no address lists/);
    expect((await w.fake.deps.stores.gc.getMark(repo, "t1"))?.retiredAt).toBeUndefined();
  });
});

describe("a restore from a location with a long prefix (from this machine)", () => {
  it("retires the mark and brings the objects back, as its backup saved them", async () => {
    await w.marked("p1", ["data/p"], true);
    // 700 characters: a valid location (S3 keys are at most 1024 bytes), longer than the
    // 500 characters of a retire's reason.
    const prefix = Array.from({ length: 4 }, (_, i) => `${i}`.repeat(174)).join("/");
    const loc = `s3://${w.backupBucket}/${prefix}`;
    const b = await copyMark("backup", "p1", loc);
    expect(b.code, b.stderr).toBe(0);
    await s3().send(new DeleteObjectCommand({ Bucket: w.bucket, Key: `${repo}/data/p` }));
    const r = await copyMark("restore", "p1", loc);
    expect(r.code, r.stderr).toBe(0);
    expect(await text(w.bucket, `${repo}/data/p`)).toBe("data/p");
    const mark = await w.fake.deps.stores.gc.getMark(repo, "p1");
    expect(mark?.retiredReason).toBe(`restored from ${loc}`);
  });
});

describe("a backup of a mark one of whose partitions' lists is missing (from this machine)", () => {
  it("is refused with exit code 2 and writes no record, as the sweep would delete that part too once its list is back", async () => {
    // Two partitions, only the list of part 0 in the namespace.
    await w.marked("m2", ["data/m"], true, { partitions: 2 });
    const loc = `s3://${w.backupBucket}/m2`;
    const b = await copyMark("backup", "m2", loc);
    expect(b.code, b.stderr).toBe(2);
    expect(b.stderr).toMatch(/list of its part 1 .* is missing/);
    expect(await text(w.backupBucket, "m2/_lakeport_backup.json")).toBeUndefined();
    expect(await text(w.backupBucket, "m2/data/m")).toBeUndefined();
  });
});

describe("two restores of one mark at once (from this machine)", () => {
  it("both succeed, and every object is back once, as backed up", async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `data/c${i}`);
    await w.marked("c1", keys, true);
    const loc = `s3://${w.backupBucket}/c1`;
    const b = await copyMark("backup", "c1", loc);
    expect(b.code, b.stderr).toBe(0);
    await deleteFromNamespace(keys);
    const restore = () => copyMark("restore", "c1", loc);
    const [r1, r2] = await Promise.all([restore(), restore()]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r2.code, r2.stderr).toBe(0);
    for (const k of keys) expect(await text(w.bucket, `${repo}/${k}`), k).toBe(k);
  });
});

describe("two backups of one mark into one location at once (from this machine)", () => {
  it("both succeed and leave a complete record, from which a restore brings everything back", async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `data/d${i}`);
    await w.marked("d1", keys, true);
    const loc = `s3://${w.backupBucket}/d1`;
    const backup = () => copyMark("backup", "d1", loc);
    const [b1, b2] = await Promise.all([backup(), backup()]);
    expect(b1.code, b1.stderr).toBe(0);
    expect(b2.code, b2.stderr).toBe(0);
    const record = JSON.parse((await text(w.backupBucket, "d1/_lakeport_backup.json")) ?? "{}");
    expect(record).toMatchObject({ state: "complete", counts: { objects: 40, saved: 40 } });
    await deleteFromNamespace(keys);
    const r = await copyMark("restore", "d1", loc);
    expect(r.code, r.stderr).toBe(0);
    for (const k of keys) expect(await text(w.bucket, `${repo}/${k}`), k).toBe(k);
  });
});
