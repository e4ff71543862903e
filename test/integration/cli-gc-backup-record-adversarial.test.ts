// Adversarial cases of the backup record from this machine (cli/gc-copy-command.ts): bad input
// must change nothing, as the copy workflow's plan step guarantees. The CLI against the API
// (fake lakeFS and stores) and the embedded S3.
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCopyPartsStep } from "../../lambdas/gc/app/copy-mark";
import { gcPaths } from "../../lambdas/gc/domain/paths";
import { type CliGcCopyWorld, startCliGcCopyWorld } from "../support/cli-gc-copy";
import { testS3Client } from "../support/clients";
import { MemoryGcStore } from "../support/memory-gc";

const repo = "repo-adv";
let w: CliGcCopyWorld;
const s3 = () => testS3Client();

beforeAll(async () => {
  w = await startCliGcCopyWorld(repo);
});
afterAll(() => w.stop());

async function recordText(key: string): Promise<string | undefined> {
  try {
    const got = await s3().send(new GetObjectCommand({ Bucket: w.backupBucket, Key: key }));
    return await got.Body!.transformToString();
  } catch {
    return undefined;
  }
}

/** The mark's address list deleted from the namespace (by hand, a cleanup). */
async function dropLists(markId: string) {
  await s3().send(
    new DeleteObjectCommand({
      Bucket: w.bucket,
      Key: `${repo}/${gcPaths.addressesTextPart(markId, 0)}`,
    }),
  );
}

describe("gc backup|restore of a mark without address lists (from this machine)", () => {
  it("a backup is refused with exit code 2 and writes no record", async () => {
    await w.marked("a1", ["data/a"], true);
    await dropLists("a1");
    const b = await w.lakeport([
      ...["gc", "backup", `lakefs://${repo}`, "--mark-id", "a1"],
      ...["--to", `s3://${w.backupBucket}/a1`],
    ]);
    expect(b.code, b.stderr).toBe(2);
    expect(b.stderr).toMatch(/no address lists/);
    expect(await recordText("a1/_lakeport_backup.json")).toBeUndefined();
  });

  it("a restore is refused with exit code 2 before the mark is retired", async () => {
    await w.marked("a2", ["data/b"], true);
    const loc = `s3://${w.backupBucket}/a2`;
    const b = await w.lakeport([
      "gc",
      "backup",
      `lakefs://${repo}`,
      "--mark-id",
      "a2",
      "--to",
      loc,
    ]);
    expect(b.code, b.stderr).toBe(0);
    await dropLists("a2");
    const r = await w.lakeport([
      ...["gc", "restore", `lakefs://${repo}`, "--mark-id", "a2", "--from", loc],
    ]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/no address lists/);
    expect((await w.fake.deps.stores.gc.getMark(repo, "a2"))?.retiredAt).toBeUndefined();
  });
});

describe("a backup run again into its own location", () => {
  it("counts an object the namespace lost since but the location holds as saved, so a restore missing it fails", async () => {
    await w.marked("h1", ["data/x", "data/y"], true);
    const loc = `s3://${w.backupBucket}/h1`;
    const backup = () =>
      w.lakeport(["gc", "backup", `lakefs://${repo}`, "--mark-id", "h1", "--to", loc]);
    expect((await backup()).code).toBe(0);
    // An older mark's sweep deletes data/x (this mark lists it again); the backup runs again.
    await s3().send(new DeleteObjectCommand({ Bucket: w.bucket, Key: `${repo}/data/x` }));
    const again = await backup();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/1 already in the location/);
    const rec = JSON.parse((await recordText("h1/_lakeport_backup.json")) ?? "{}");
    expect(rec).toMatchObject({ state: "complete", counts: { objects: 2, saved: 2, absent: 0 } });
    // The location loses data/y; the mark's sweep deletes it from the namespace.
    await s3().send(new DeleteObjectCommand({ Bucket: w.backupBucket, Key: "h1/data/y" }));
    await s3().send(new DeleteObjectCommand({ Bucket: w.bucket, Key: `${repo}/data/y` }));
    const r = await w.lakeport([
      ...["gc", "restore", `lakefs://${repo}`, "--mark-id", "h1", "--from", loc],
    ]);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/1 object\(s\) the backup saved \(2\) are no longer in the location/);
  });
});

describe("the copy workflow's copy step, a backup run again into its own location", () => {
  it("counts an object the namespace lost since but the location holds as saved", async () => {
    const ns = `${repo}/wf`;
    const listKey = `${ns}/${gcPaths.addressesTextPart("h2", 0)}`;
    const put = (Bucket: string, Key: string, Body: string) =>
      s3().send(new PutObjectCommand({ Bucket, Key, Body }));
    await put(w.bucket, `${ns}/data/x`, "x");
    await put(w.bucket, `${ns}/data/y`, "y");
    const deps = { s3: new MemoryGcStore(), workBucket: "work" };
    await deps.s3.put(w.bucket, listKey, "data/x\ndata/y\n");
    const event = {
      Items: [{ key: listKey, part: 0 }],
      BatchInput: {
        ...{ repository: repo, copyId: "c1", storageNamespace: `s3://${w.bucket}/${ns}` },
        ...{ direction: "backup" as const, location: `s3://${w.backupBucket}/h2` },
      },
    };
    expect(await runCopyPartsStep(deps, s3(), event)).toMatchObject({ copied: 2, absent: 0 });
    await s3().send(new DeleteObjectCommand({ Bucket: w.bucket, Key: `${ns}/data/x` }));
    expect(await runCopyPartsStep(deps, s3(), event)).toMatchObject({
      objects: 2,
      copied: 1,
      present: 1,
      absent: 0,
    });
    // A restore from it after the location lost data/y, which the namespace still holds:
    // present, not absent (not short of the backup); data/x comes back.
    await s3().send(new DeleteObjectCommand({ Bucket: w.backupBucket, Key: "h2/data/y" }));
    const restore = {
      ...event,
      BatchInput: { ...event.BatchInput, direction: "restore" as const },
    };
    expect(await runCopyPartsStep(deps, s3(), restore)).toMatchObject({
      objects: 2,
      copied: 1,
      present: 1,
      absent: 0,
    });
  });
});
