// Two backups of different marks into one location at the same moment, on the embedded S3:
// the record is a claim (S3's conditional writes), so exactly one backs up and the other is
// refused naming it, with nothing of its mark copied. Through the CLI (two processes at once)
// and, for an interleaving a race rarely hits, the claim step with the rival's claim landing
// between its check and its write.
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3GcObjectStore } from "../../lambdas/gc/adapters/s3-object-store";
import { claimBackupLocation, readBackupRecord } from "../../lambdas/gc/app/copy-record";
import {
  type BackupOwner,
  backupLocationProblem,
  startedRecord,
} from "../../lambdas/gc/domain/backup-record";
import { type CliGcCopyWorld, startCliGcCopyWorld } from "../support/cli-gc-copy";
import { testS3Client } from "../support/clients";
import { raceNextConditionalWrite } from "../support/racing-store";

const repo = "repo-claim";
let w: CliGcCopyWorld;
const s3 = testS3Client();

beforeAll(async () => {
  w = await startCliGcCopyWorld(repo);
});
afterAll(() => w.stop());

async function keysUnder(prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: w.backupBucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!.slice(prefix.length)).sort();
}

describe("two gc backups of different marks into one location at once (CLI)", () => {
  it("exactly one backs up; the other exits 2 naming it and copies nothing", async () => {
    await w.marked("c1", ["data/c1-a", "data/c1-b"], true);
    await w.marked("c2", ["data/c2-a", "data/c2-b"], true);
    const loc = `s3://${w.backupBucket}/shared`;
    const backup = (markId: string) =>
      w.lakeport(["gc", "backup", `lakefs://${repo}`, "--mark-id", markId, "--to", loc]);
    const [one, two] = await Promise.all([backup("c1"), backup("c2")]);
    const codes = [one.code, two.code];
    expect(codes.sort(), `${one.stderr}\n${two.stderr}`).toEqual([0, 2]);
    const [winner, loser] = one.code === 0 ? ["c1", two] : ["c2", one];
    expect(loser.stderr).toMatch(new RegExp(`--to: .* holds the backup of mark "${winner}"`));
    const absentLists = (k: string) => k.startsWith("_lakeport_backup_absent/");
    expect((await keysUnder("shared/")).filter((k) => !absentLists(k))).toEqual(
      ["_lakeport_backup.json", `data/${winner}-a`, `data/${winner}-b`].sort(),
    );
    const record = await readBackupRecord(new S3GcObjectStore(s3), loc);
    expect(record).toMatchObject({ markId: winner, state: "complete" });
  });
});

describe("a rival claim between a backup's check and its write (embedded S3)", () => {
  const owner = (markId: string): BackupOwner => ({
    repository: repo,
    markId,
    storageNamespace: `s3://${w.bucket}/${repo}`,
  });
  const claim = (store: S3GcObjectStore, location: string, who: BackupOwner) =>
    claimBackupLocation(store, location, startedRecord(who, new Date()), {
      checkRecord: (existing) => {
        const problem = backupLocationProblem(existing, who);
        if (problem) throw new Error(problem);
      },
      checkEmpty: async () => undefined,
    });

  it("the rival's record stays; this backup is refused on its second look", async () => {
    const loc = `s3://${w.backupBucket}/interleaved`;
    const store = raceNextConditionalWrite(new S3GcObjectStore(s3), () =>
      claim(new S3GcObjectStore(s3), loc, owner("rival")),
    );
    await expect(claim(store, loc, owner("mine"))).rejects.toThrow(
      /holds the backup of mark "rival"/,
    );
    expect(await readBackupRecord(store, loc)).toMatchObject({ markId: "rival" });
  });

  it("over an existing record of the same mark, a rival update first: claimed after it", async () => {
    const loc = `s3://${w.backupBucket}/again`;
    const plain = new S3GcObjectStore(s3);
    await claim(plain, loc, owner("same"));
    const store = raceNextConditionalWrite(new S3GcObjectStore(s3), () =>
      claim(plain, loc, owner("same")),
    );
    const claimed = await claim(store, loc, owner("same"));
    expect((await plain.getVersioned(w.backupBucket, "again/_lakeport_backup.json"))?.etag).toBe(
      claimed.etag,
    );
  });
});
