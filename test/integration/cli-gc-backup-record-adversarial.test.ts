// Adversarial cases of the backup record from this machine (cli/gc-copy-command.ts): bad input
// must change nothing, as the copy workflow's plan step guarantees. The CLI against the API
// (fake lakeFS and stores) and the embedded S3.
import { DeleteObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gcPaths } from "../../lambdas/gc/domain/paths";
import { type CliGcCopyWorld, startCliGcCopyWorld } from "../support/cli-gc-copy";
import { testS3Client } from "../support/clients";

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
