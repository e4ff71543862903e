// The backup record as a claim (lambdas/gc/app/copy-record.ts): a backup checks the location's
// record and writes its own in one conditional step, and writes its end only over what it
// claimed. Every interleaving of two backups is driven here at the object store port (the
// embedded S3's conditions are in test/integration/s3-conditional-write.test.ts).
import { describe, expect, it } from "vitest";
import {
  backupRecordObject,
  type ClaimChecks,
  claimBackupLocation,
  readBackupRecord,
  updateBackupRecord,
} from "../../lambdas/gc/app/copy-record";
import {
  type BackupOwner,
  type BackupRecord,
  backupLocationProblem,
  finishedRecord,
  startedRecord,
  UNRECORDED_LOCATION_PROBLEM,
} from "../../lambdas/gc/domain/backup-record";
import type { WriteCondition } from "../../lambdas/shared/write-condition";
import { MemoryGcStore } from "../support/memory-gc";
import { raceNextConditionalWrite } from "../support/racing-store";

const LOC = "s3://backups/loc";
const T0 = new Date("2025-06-01T12:00:00Z");
const owner = (markId: string): BackupOwner => ({
  repository: "repo",
  markId,
  storageNamespace: "s3://lake/repos/repo",
});

function checksFor(s3: MemoryGcStore, who: BackupOwner): ClaimChecks {
  return {
    checkRecord: (existing) => {
      const problem = backupLocationProblem(existing, who);
      if (problem) throw new Error(`refused: ${problem}`);
    },
    checkEmpty: async () => {
      for await (const _ of s3.list("backups", "loc/")) {
        throw new Error(`refused: ${UNRECORDED_LOCATION_PROBLEM}`);
      }
    },
  };
}

const claim = (s3: MemoryGcStore, who: BackupOwner) =>
  claimBackupLocation(s3, LOC, startedRecord(who, T0), checksFor(s3, who));

const record = (s3: MemoryGcStore) => readBackupRecord(s3, LOC);

describe("claiming a backup location", () => {
  it("a rival mark's claim between the check and the write wins; this backup is refused, naming it", async () => {
    const s3 = new MemoryGcStore();
    raceNextConditionalWrite(s3, () => claim(s3, owner("rival")));
    await expect(claim(s3, owner("mine"))).rejects.toThrow(
      /refused: holds the backup of mark "rival"/,
    );
    expect((await record(s3))?.markId).toBe("rival");
  });

  it("a rival's claim and first copies between the check and the write: refused as a claimed location, not as stray objects", async () => {
    const s3 = new MemoryGcStore();
    // The rival claims and copies after this backup read no record but before it lists.
    let listed = false;
    const checks = checksFor(s3, owner("mine"));
    const racing: ClaimChecks = {
      checkRecord: checks.checkRecord,
      checkEmpty: async () => {
        if (!listed) {
          listed = true;
          await claim(s3, owner("rival"));
          await s3.put("backups", "loc/data/a", "a");
        }
        await checks.checkEmpty();
      },
    };
    await expect(
      claimBackupLocation(s3, LOC, startedRecord(owner("mine"), T0), racing),
    ).rejects.toThrow(/holds the backup of mark "rival"/);
    expect((await record(s3))?.markId).toBe("rival");
  });

  it("a rival claim of the same mark between the check and the write: this backup claims after it", async () => {
    const s3 = new MemoryGcStore();
    raceNextConditionalWrite(s3, () => claim(s3, owner("mine")));
    const claimed = await claim(s3, owner("mine"));
    expect(await record(s3)).toEqual(claimed.record);
    expect((await s3.getVersioned("backups", "loc/_lakeport_backup.json"))?.etag).toBe(
      claimed.etag,
    );
  });

  it("a location whose record keeps changing is given up after five rounds, unclaimed", async () => {
    const s3 = new MemoryGcStore();
    const { bucket, key } = backupRecordObject(LOC);
    let n = 0;
    const restless: ClaimChecks = {
      checkRecord: () => undefined,
      checkEmpty: async () => undefined,
    };
    const original = s3.putIf.bind(s3);
    s3.putIf = async (
      b: string,
      k: string,
      body: string,
      condition: WriteCondition,
      type?: string,
    ) => {
      await s3.put(
        bucket,
        key,
        JSON.stringify(startedRecord(owner("mine"), new Date(T0.getTime() + ++n))),
      );
      return original(b, k, body, condition, type);
    };
    await expect(
      claimBackupLocation(s3, LOC, startedRecord(owner("mine"), T0), restless),
    ).rejects.toThrow(/changed 5 times while this backup claimed it/);
    expect(n).toBe(5);
  });
});

describe("a backup's end", () => {
  const done = (started: BackupRecord) =>
    finishedRecord(started, { objects: 2, saved: 2, absent: 0, failed: 0 }, T0);

  it("writes over the record it claimed", async () => {
    const s3 = new MemoryGcStore();
    const claimed = await claim(s3, owner("mine"));
    await updateBackupRecord(s3, LOC, done(claimed.record), claimed.etag);
    expect((await record(s3))?.state).toBe("complete");
  });

  it("another backup of the same mark claimed since: its end still lands, over that claim", async () => {
    const s3 = new MemoryGcStore();
    const claimed = await claim(s3, owner("mine"));
    await claim(s3, owner("mine")); // a second run of the same backup
    await updateBackupRecord(s3, LOC, done(claimed.record), claimed.etag);
    expect((await record(s3))?.state).toBe("complete");
  });

  it("the record removed by hand and another mark's backup claimed the location: refused, that record left as it is", async () => {
    const s3 = new MemoryGcStore();
    const claimed = await claim(s3, owner("mine"));
    await s3.deleteKeys("backups", ["loc/_lakeport_backup.json"]);
    const rival = await claim(s3, owner("rival"));
    await expect(updateBackupRecord(s3, LOC, done(claimed.record), claimed.etag)).rejects.toThrow(
      /holds the backup of mark "rival".*the two are mixed/,
    );
    expect(await record(s3)).toEqual(rival.record);
  });

  it("the record removed by hand and nothing claimed since: the end writes it again", async () => {
    const s3 = new MemoryGcStore();
    const claimed = await claim(s3, owner("mine"));
    await s3.deleteKeys("backups", ["loc/_lakeport_backup.json"]);
    await updateBackupRecord(s3, LOC, done(claimed.record), claimed.etag);
    expect((await record(s3))?.state).toBe("complete");
  });

  it("without the claim's ETag (a plan of an earlier version): reads the record, then writes over it", async () => {
    const s3 = new MemoryGcStore();
    const claimed = await claim(s3, owner("mine"));
    await updateBackupRecord(s3, LOC, done(claimed.record), undefined);
    expect((await record(s3))?.state).toBe("complete");
    const rival = new MemoryGcStore();
    await claim(rival, owner("rival"));
    await expect(updateBackupRecord(rival, LOC, done(claimed.record), undefined)).rejects.toThrow(
      /holds the backup of mark "rival"/,
    );
  });
});
