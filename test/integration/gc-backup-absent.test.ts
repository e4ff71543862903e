// A mark lists every address only expired commits reference, and GC removes no commits: after a
// first sweep, every later mark lists again the objects that sweep deleted (they are still
// referenced by the same expired commits, and gone). Backing such a mark up must still work:
// an object already gone is reported as absent, not as a failed copy (as `rclone --files-from`,
// lakeFS's documented backup, skips names missing from the source). Against the embedded S3.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../../cli/endpoint";
import { checkCopyLocation, checkMarkLists, copyMarkedObjects } from "../../cli/gc-backup";
import { runCopyPartsStep, runCopyPlanStep } from "../../lambdas/gc/app/copy-mark";
import { gcPaths } from "../../lambdas/gc/domain/paths";
import { testS3Client, uniqueName } from "../support/clients";
import { listedRepositories, MemoryBackupLocations, MemoryGcStore } from "../support/memory-gc";

let s3: S3Client;
let nsBucket: string;
let backupBucket: string;

beforeAll(async () => {
  s3 = testS3Client();
  nsBucket = uniqueName("gcns");
  backupBucket = uniqueName("gcbk");
  await s3.send(new CreateBucketCommand({ Bucket: nsBucket }));
  await s3.send(new CreateBucketCommand({ Bucket: backupBucket }));
});

async function text(bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await out.Body!.transformToString();
  } catch {
    return undefined;
  }
}

/** A second mark: data/new (expired since the first sweep) and data/old (that sweep deleted it). */
async function secondMark(markId: string) {
  const ns = `repos/${uniqueName("r")}`;
  await s3.send(new PutObjectCommand({ Bucket: nsBucket, Key: `${ns}/data/new`, Body: "new" }));
  const listKey = `${ns}/${gcPaths.addressesTextPart(markId, 0)}`;
  const list = "data/new\ndata/old\n";
  await s3.send(new PutObjectCommand({ Bucket: nsBucket, Key: listKey, Body: list }));
  return { storageNamespace: `s3://${nsBucket}/${ns}`, ns, listKey, list };
}

describe("GC backup and restore of a mark listing objects an earlier sweep deleted", () => {
  it("from this machine (CLI): the absent object is reported, the others copied", async () => {
    const m = await secondMark("m2");
    const external = `s3://${backupBucket}/${uniqueName("cli")}`;
    const req = { storageNamespace: m.storageNamespace, markId: "m2", external };
    const backup = await copyMarkedObjects(s3, { ...req, direction: "backup" });
    expect(backup).toMatchObject({ objects: 2, copied: 1, absent: 1, failed: [] });
    // The sweep deletes data/new; the restore brings it back.
    await s3.send(new DeleteObjectCommand({ Bucket: nsBucket, Key: `${m.ns}/data/new` }));
    const restore = await copyMarkedObjects(s3, { ...req, direction: "restore" });
    expect(restore).toMatchObject({ objects: 2, copied: 1, absent: 1, failed: [] });
    expect(await text(nsBucket, `${m.ns}/data/new`)).toBe("new");
    expect(await text(nsBucket, `${m.ns}/data/old`)).toBeUndefined();
  });

  it("from this machine (CLI), part by part: the progress knows the total once the last part is read", async () => {
    const m = await secondMark("m5");
    const part1 = `${m.ns}/${gcPaths.addressesTextPart("m5", 1)}`;
    await s3.send(new PutObjectCommand({ Bucket: nsBucket, Key: `${m.ns}/data/more`, Body: "m" }));
    await s3.send(new PutObjectCommand({ Bucket: nsBucket, Key: part1, Body: "data/more\n" }));
    const external = `s3://${backupBucket}/${uniqueName("cli")}`;
    const reports: { listed: number; listingDone: boolean }[] = [];
    const backup = await copyMarkedObjects(
      s3,
      { storageNamespace: m.storageNamespace, markId: "m5", external, direction: "backup" },
      { onProgress: (p) => reports.push({ listed: p.listed, listingDone: p.listingDone }) },
    );
    expect(backup).toMatchObject({ objects: 3, copied: 2, absent: 1, failed: [] });
    expect(reports.filter((r) => !r.listingDone).map((r) => r.listed)).toContain(2);
    expect(reports.filter((r) => r.listingDone).map((r) => r.listed)).toEqual([3]);
  });

  it("through the copy workflow's step", async () => {
    const m = await secondMark("m3");
    const location = `s3://${backupBucket}/${uniqueName("wf")}`;
    const deps = { s3: new MemoryGcStore(), workBucket: "work" };
    await deps.s3.put(nsBucket, m.listKey, m.list);
    const items = [{ key: m.listKey, part: 0 }];
    const batch = { repository: "r", copyId: "c1", storageNamespace: m.storageNamespace, location };
    const backup = await runCopyPartsStep(deps, s3, {
      Items: items,
      BatchInput: { ...batch, direction: "backup" },
    });
    expect(backup).toMatchObject({ objects: 2, copied: 1, absent: 1, failed: 0 });
    await s3.send(new DeleteObjectCommand({ Bucket: nsBucket, Key: `${m.ns}/data/new` }));
    const restore = await runCopyPartsStep(deps, s3, {
      Items: items,
      BatchInput: { ...batch, direction: "restore" },
    });
    expect(restore).toMatchObject({ objects: 2, copied: 1, absent: 1, failed: 0 });
    expect(await text(nsBucket, `${m.ns}/data/new`)).toBe("new");
  });

  it("a restore from a location that holds no backup is refused", async () => {
    const m = await secondMark("m4");
    const req = {
      storageNamespace: m.storageNamespace,
      markId: "m4",
      external: `s3://${backupBucket}/${uniqueName("nothing")}`,
    };
    await expect(copyMarkedObjects(s3, { ...req, direction: "restore" })).rejects.toThrow(
      /no object under/,
    );
    // The copy workflow's plan step (gc restore --workflow) refuses it too, and plans a backup.
    const deps: Parameters<typeof runCopyPlanStep>[0] = {
      s3: new MemoryGcStore(),
      workBucket: "work",
      lakefs: listedRepositories(["r", m.storageNamespace]),
      ...new MemoryBackupLocations().planDeps(),
      now: () => new Date(),
      marks: {
        getMark: async (repository, markId) => ({
          repository,
          markId,
          runId: "r0",
          status: "succeeded",
          storageNamespace: m.storageNamespace,
        }),
        retireMark: async () => {
          throw new Error("a refused restore must not retire its mark");
        },
      },
    };
    await deps.s3.put(nsBucket, m.listKey, m.list);
    const plan = {
      repository: "r",
      copyId: "c1",
      markId: "m4",
      storageNamespace: m.storageNamespace,
      location: req.external,
    };
    await expect(runCopyPlanStep(deps, { ...plan, direction: "restore" })).rejects.toThrow(
      `location: no object under ${req.external}: nothing to restore from`,
    );
    expect(await runCopyPlanStep(deps, { ...plan, direction: "backup" })).toMatchObject({
      parts: 1,
    });
  });
});

describe("GC restore from a bucket that does not exist", () => {
  it("is a usage error naming --from (exit code 2), checked before the mark is retired", async () => {
    const m = await secondMark("m6");
    const req = {
      direction: "restore" as const,
      storageNamespace: m.storageNamespace,
      markId: "m6",
      external: `s3://${uniqueName("no-such-bucket")}/backup`,
    };
    const refusal = checkCopyLocation(req, s3);
    await expect(refusal).rejects.toBeInstanceOf(UsageError);
    await expect(refusal).rejects.toThrow(/^--from: bucket no-such-bucket-\S+ does not exist/);
  });
});

describe("GC restore from a location that holds other objects but not the mark's", () => {
  it("is not reported as a successful restore of the mark", async () => {
    const m = await secondMark("m5");
    const parent = uniqueName("parent");
    const req = { storageNamespace: m.storageNamespace, markId: "m5" };
    // The backup went to PARENT/m5; the user restores from PARENT (which holds PARENT/m5/...).
    const backup = await copyMarkedObjects(s3, {
      ...req,
      external: `s3://${backupBucket}/${parent}/m5`,
      direction: "backup",
    });
    expect(backup).toMatchObject({ copied: 1, absent: 1 });
    await s3.send(new DeleteObjectCommand({ Bucket: nsBucket, Key: `${m.ns}/data/new` }));
    await expect(
      copyMarkedObjects(s3, {
        ...req,
        external: `s3://${backupBucket}/${parent}`,
        direction: "restore",
      }),
    ).rejects.toThrow(/none of/);
  });
});

describe("GC backup and restore of a mark with two lists of one part (a copy beside its own)", () => {
  it("from this machine (CLI): refused before a record is written or the mark retired, as by the workflow's plan", async () => {
    const m = await secondMark("m7");
    const copy = `${m.ns}/${gcPaths.addressesTextPrefix("m7")}old/part-00000.txt`;
    await s3.send(new PutObjectCommand({ Bucket: nsBucket, Key: copy, Body: "data/other\n" }));
    const refusal = checkMarkLists(s3, m.storageNamespace, "m7");
    await expect(refusal).rejects.toBeInstanceOf(UsageError);
    await expect(refusal).rejects.toThrow(/are both a list of its part 0/);
    const external = `s3://${backupBucket}/${uniqueName("dup")}`;
    await expect(
      copyMarkedObjects(s3, {
        storageNamespace: m.storageNamespace,
        markId: "m7",
        external,
        direction: "backup",
      }),
    ).rejects.toThrow(/are both a list of its part 0/);
  });
});
