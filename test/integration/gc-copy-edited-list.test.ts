// A restore reads the mark's text list back from the storage namespace, where anyone with write
// access may have edited it. Against the embedded S3 (which, like some S3-compatible stores and
// proxies, resolves `..` segments): whatever a line says, a backup or restore copies only from
// and to keys inside the namespace and the location, never over lakeFS's own `_lakefs/`
// metadata, and a line it refuses is a named failure, not a success. A restore does not
// overwrite an object the namespace holds again: the same one counts as present, another one
// is left as it is and named.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { copyMarkedObjects } from "../../cli/gc-backup";
import { runCopyPartsStep } from "../../lambdas/gc/app/copy-mark";
import { gcPaths } from "../../lambdas/gc/domain/paths";
import { testS3Client, uniqueName } from "../support/clients";
import { MemoryGcStore } from "../support/memory-gc";

let s3: S3Client;
let nsBucket: string;
let backupBucket: string;

beforeAll(async () => {
  s3 = testS3Client();
  nsBucket = uniqueName("gced");
  backupBucket = uniqueName("gcedbk");
  await s3.send(new CreateBucketCommand({ Bucket: nsBucket }));
  await s3.send(new CreateBucketCommand({ Bucket: backupBucket }));
});

const put = (bucket: string, key: string, body: string) =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

async function text(bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await out.Body!.transformToString();
  } catch {
    return undefined;
  }
}

/**
 * A repository's namespace with one marked object (data/ok, backed up to `loc`), next to
 * another repository's namespace holding `secret`; the backup bucket holds `<other>/secret`
 * beside the backup (what `loc/../<other>/secret` reaches). `lines` are appended to the list.
 */
async function editedMark(markId: string, lines: string) {
  const repo = uniqueName("r");
  const other = uniqueName("other");
  const ns = `repos/${repo}`;
  const loc = uniqueName("loc");
  await put(nsBucket, `${ns}/data/ok`, "ok");
  await put(nsBucket, `${ns}/_lakefs/ranges/r1`, "lakefs range");
  await put(nsBucket, `repos/${other}/secret`, "theirs");
  await put(backupBucket, `${loc}/data/ok`, "ok");
  await put(backupBucket, `${loc}/_lakefs/ranges/r1`, "planted range");
  await put(backupBucket, `${other}/secret`, "planted");
  const listKey = `${ns}/${gcPaths.addressesTextPart(markId, 0)}`;
  const list = `data/ok\n${lines}`;
  await put(nsBucket, listKey, list);
  return { storageNamespace: `s3://${nsBucket}/${ns}`, ns, other, loc, listKey, list };
}

describe("a hand-edited mark list cannot make a restore write outside the namespace", () => {
  it("`..` lines and `_lakefs/` lines are refused and named, from this machine (CLI)", async () => {
    const m = await editedMark("m1", "");
    const lines = [`../${m.other}/secret`, `./../${m.other}/secret`, "_lakefs/ranges/r1"];
    await put(nsBucket, m.listKey, `${m.list}${lines.join("\n")}\n`);
    await s3.send(new DeleteObjectCommand({ Bucket: nsBucket, Key: `${m.ns}/data/ok` }));
    const out = await copyMarkedObjects(s3, {
      direction: "restore",
      storageNamespace: m.storageNamespace,
      markId: "m1",
      external: `s3://${backupBucket}/${m.loc}`,
    });
    // The other repository's object and lakeFS's metadata are as they were.
    expect(await text(nsBucket, `repos/${m.other}/secret`)).toBe("theirs");
    expect(await text(nsBucket, `${m.ns}/_lakefs/ranges/r1`)).toBe("lakefs range");
    expect(await text(nsBucket, `${m.ns}/data/ok`)).toBe("ok");
    expect(out.copied).toBe(1);
    expect(out.failed.map((f) => [f.path, f.code]).sort()).toEqual(
      lines.map((l) => [l, "InvalidAddress"]).sort(),
    );
  });

  it("through the copy workflow's parts step: refused, named, and the map child fails", async () => {
    const m = await editedMark("m2", "");
    const deps = { s3: new MemoryGcStore(), workBucket: "work" };
    const lines = [`x/../../${m.other}/secret`, `../${m.other}/secret`, "_lakefs/ranges/r1"];
    await deps.s3.put(nsBucket, m.listKey, `${m.list}${lines.join("\n")}\n`);
    await expect(
      runCopyPartsStep(deps, s3, {
        Items: [{ key: m.listKey, part: 0 }],
        BatchInput: {
          repository: "r",
          copyId: "c1",
          storageNamespace: m.storageNamespace,
          direction: "restore",
          location: `s3://${backupBucket}/${m.loc}`,
        },
      }),
    ).rejects.toThrow(/3 object\(s\) not copied: .*InvalidAddress/);
    expect(await text(nsBucket, `repos/${m.other}/secret`)).toBe("theirs");
    expect(await text(nsBucket, `${m.ns}/_lakefs/ranges/r1`)).toBe("lakefs range");
  });

  it("a backup does not read another repository's objects into the location", async () => {
    const m = await editedMark("m3", "");
    await put(nsBucket, m.listKey, `${m.list}../${m.other}/secret\n`);
    const out = await copyMarkedObjects(s3, {
      direction: "backup",
      storageNamespace: m.storageNamespace,
      markId: "m3",
      external: `s3://${backupBucket}/${m.loc}`,
    });
    expect(out.failed).toMatchObject([{ path: `../${m.other}/secret`, code: "InvalidAddress" }]);
    // loc/../<other>/secret: still what was there, not the other repository's object.
    expect(await text(backupBucket, `${m.other}/secret`)).toBe("planted");
  });

  it("lines with an empty segment (never marked) are refused: a live object under another key is not backed up", async () => {
    const m = await editedMark("m5", "");
    // data/live is in use (not marked); `data//live` and `/data/live` resolve to it here.
    await put(nsBucket, `${m.ns}/data/live`, "live");
    const lines = ["data//live", "/data/live"];
    await put(nsBucket, m.listKey, `${m.list}${lines.join("\n")}\n`);
    const out = await copyMarkedObjects(s3, {
      direction: "backup",
      storageNamespace: m.storageNamespace,
      markId: "m5",
      external: `s3://${backupBucket}/${m.loc}-empty`,
    });
    expect(out.failed.map((f) => [f.path, f.code]).sort()).toEqual(
      lines.map((l) => [l, "InvalidAddress"]).sort(),
    );
    expect(out.failed[0]?.message).toMatch(/empty path segment/);
    expect(await text(backupBucket, `${m.loc}-empty/data/live`)).toBeUndefined();
    expect(await text(backupBucket, `${m.loc}-empty/data/ok`)).toBe("ok");
  });
});

describe("a list saved with CRLF line ends is not a successful copy of nothing", () => {
  it('a backup fails naming the lines, not "2 absent"', async () => {
    const m = await editedMark("m4", "");
    await put(nsBucket, `${m.ns}/data/two`, "two");
    const deps = { s3: new MemoryGcStore(), workBucket: "work" };
    await deps.s3.put(nsBucket, m.listKey, "data/ok\r\ndata/two\r\n");
    const batch = {
      repository: "r",
      copyId: "c1",
      storageNamespace: m.storageNamespace,
      location: `s3://${backupBucket}/${uniqueName("crlf")}`,
    };
    await expect(
      runCopyPartsStep(deps, s3, {
        Items: [{ key: m.listKey, part: 0 }],
        BatchInput: { ...batch, direction: "backup" },
      }),
    ).rejects.toThrow(/2 object\(s\) not copied: .*InvalidAddress/s);
  });
});

describe("a restore over objects the namespace holds again", () => {
  /** data/same as in the backup, data/other rewritten since, data/gone swept. */
  async function rewritten(markId: string) {
    const ns = `repos/${uniqueName("r")}`;
    const loc = uniqueName("loc");
    for (const k of ["same", "other", "gone"]) await put(backupBucket, `${loc}/data/${k}`, k);
    await put(nsBucket, `${ns}/data/same`, "same");
    await put(nsBucket, `${ns}/data/other`, "rewritten since");
    const listKey = `${ns}/${gcPaths.addressesTextPart(markId, 0)}`;
    const list = "data/gone\ndata/other\ndata/same\n";
    await put(nsBucket, listKey, list);
    return {
      ns,
      listKey,
      list,
      storageNamespace: `s3://${nsBucket}/${ns}`,
      location: `s3://${backupBucket}/${loc}`,
    };
  }

  it("from this machine: keeps them, names the one that differs, and a re-run copies nothing", async () => {
    const m = await rewritten("m5");
    const req = {
      direction: "restore" as const,
      storageNamespace: m.storageNamespace,
      markId: "m5",
      external: m.location,
    };
    const out = await copyMarkedObjects(s3, req);
    expect(await text(nsBucket, `${m.ns}/data/other`)).toBe("rewritten since");
    expect(await text(nsBucket, `${m.ns}/data/gone`)).toBe("gone");
    expect(out).toMatchObject({ objects: 3, copied: 1, present: 1, absent: 0 });
    expect(out.failed).toMatchObject([{ path: "data/other", code: "DestinationDiffers" }]);
    expect(out.failed[0]!.message).toMatch(/15 bytes.*5 bytes/);
    const again = await copyMarkedObjects(s3, req);
    expect(again).toMatchObject({ copied: 0, present: 2 });
    expect(again.failed).toMatchObject([{ path: "data/other", code: "DestinationDiffers" }]);
  });

  it("an object of the same size but other bytes is named too, not counted as already there", async () => {
    const ns = `repos/${uniqueName("r")}`;
    const loc = uniqueName("loc");
    await put(backupBucket, `${loc}/data/twin`, "backed up");
    // Rewritten since with as many bytes: only the ETag (an MD5, single-part) tells them apart.
    await put(nsBucket, `${ns}/data/twin`, "rewritten");
    await put(nsBucket, `${ns}/${gcPaths.addressesTextPart("m7", 0)}`, "data/twin\n");
    const out = await copyMarkedObjects(s3, {
      direction: "restore",
      storageNamespace: `s3://${nsBucket}/${ns}`,
      markId: "m7",
      external: `s3://${backupBucket}/${loc}`,
    });
    expect(out).toMatchObject({ objects: 1, copied: 0, present: 0 });
    expect(out.failed).toMatchObject([{ path: "data/twin", code: "DestinationDiffers" }]);
    expect(out.failed[0]!.message).toMatch(
      /9 bytes, ETag "[0-9a-f]{32}".*9 bytes, ETag "[0-9a-f]{32}"/,
    );
    expect(await text(nsBucket, `${ns}/data/twin`)).toBe("rewritten");
  });

  it("through the copy workflow's parts step: the map child fails naming it", async () => {
    const m = await rewritten("m6");
    const deps = { s3: new MemoryGcStore(), workBucket: "work" };
    await deps.s3.put(nsBucket, m.listKey, m.list);
    await expect(
      runCopyPartsStep(deps, s3, {
        Items: [{ key: m.listKey, part: 0 }],
        BatchInput: {
          repository: "r",
          copyId: "c1",
          storageNamespace: m.storageNamespace,
          direction: "restore",
          location: m.location,
        },
      }),
    ).rejects.toThrow(/1 object\(s\) not copied: data\/other \(DestinationDiffers/);
    expect(await text(nsBucket, `${m.ns}/data/other`)).toBe("rewritten since");
    expect(await text(nsBucket, `${m.ns}/data/gone`)).toBe("gone");
  });
});
