// The backup record: which mark a location holds, whether its backup completed, and what a
// restore must find there. Pure domain functions.
import { describe, expect, it } from "vitest";
import {
  absentListKey,
  BACKUP_ABSENT_DIR,
  encodeAbsentList,
  parseAbsentList,
  partShortfall,
} from "../../lambdas/gc/domain/backup-absent";
import {
  BACKUP_RECORD_NAME,
  BackupRecordError,
  backupLocationProblem,
  backupRecordKey,
  encodeBackupRecord,
  finishedRecord,
  parseBackupRecord,
  type RestoreOutcome,
  restoreRecordProblem,
  restoreShortfall,
  startedRecord,
} from "../../lambdas/gc/domain/backup-record";
import { markCopyOperation } from "../../lambdas/gc/domain/copy-address";

const owner = { repository: "repo", markId: "m1", storageNamespace: "s3://lake/repos/repo/" };
const T0 = new Date("2026-01-01T00:00:00Z");
const T1 = new Date("2026-01-01T00:05:00Z");

describe("backup record", () => {
  it("lives beside the objects at the location's prefix", () => {
    expect(backupRecordKey("")).toBe(BACKUP_RECORD_NAME);
    expect(backupRecordKey("backups/m1")).toBe(`backups/m1/${BACKUP_RECORD_NAME}`);
  });

  it("round-trips, the namespace without its trailing slash", () => {
    const done = finishedRecord(
      startedRecord(owner, T0),
      { objects: 5, saved: 4, absent: 1, failed: 0 },
      T1,
    );
    const back = parseBackupRecord(encodeBackupRecord(done), "k");
    expect(back).toEqual(done);
    expect(back.state).toBe("complete");
    expect(back.storageNamespace).toBe("s3://lake/repos/repo");
    expect(back.finishedAt).toBe(T1.toISOString());
  });

  it("is failed, with the reason, when an object failed or the caller gives one", () => {
    const started = startedRecord(owner, T0);
    const failedObjects = finishedRecord(
      started,
      { objects: 3, saved: 2, absent: 0, failed: 1 },
      T1,
    );
    expect(failedObjects.state).toBe("failed");
    expect(failedObjects.reason).toMatch(/1 object\(s\) could not be backed up/);
    const swept = finishedRecord(
      started,
      { objects: 3, saved: 3, absent: 0, failed: 0 },
      T1,
      "sweep run r9 began",
    );
    expect(swept).toMatchObject({ state: "failed", reason: "sweep run r9 began" });
  });

  it("refuses what a backup did not write, naming the key", () => {
    expect(() => parseBackupRecord("not json", "b/_lakeport_backup.json")).toThrow(
      /b\/_lakeport_backup\.json is not a Lakeport backup record/,
    );
    expect(() => parseBackupRecord('{"format":"x"}', "k")).toThrow(BackupRecordError);
    const complete = { ...startedRecord(owner, T0), state: "complete" };
    expect(() => parseBackupRecord(JSON.stringify(complete), "k")).toThrow(/without its counts/);
    const badState = { ...startedRecord(owner, T0), state: "done" };
    expect(() => parseBackupRecord(JSON.stringify(badState), "k")).toThrow(BackupRecordError);
  });

  it("a backup refuses a location holding another mark's record, not its own", () => {
    const mine = startedRecord(owner, T0);
    expect(backupLocationProblem(undefined, owner)).toBeUndefined();
    expect(
      backupLocationProblem(mine, { ...owner, storageNamespace: "s3://lake/repos/repo" }),
    ).toBeUndefined();
    expect(backupLocationProblem(mine, { ...owner, markId: "m2" })).toMatch(
      /holds the backup of mark "m1" of repo/,
    );
    expect(backupLocationProblem(mine, { ...owner, repository: "other" })).toMatch(/mark "m1"/);
    expect(
      backupLocationProblem(mine, { ...owner, storageNamespace: "s3://lake/repos/old" }),
    ).toMatch(/repos\/repo\)/);
  });

  it("a restore refuses another mark's record, and an incomplete backup unless accepted", () => {
    const counts = { objects: 2, saved: 2, absent: 0, failed: 0 };
    const done = finishedRecord(startedRecord(owner, T0), counts, T1);
    expect(restoreRecordProblem(done, owner, false)).toBeUndefined();
    expect(restoreRecordProblem(done, { ...owner, markId: "m2" }, true)).toMatch(
      /holds the backup of mark "m1".*not of mark "m2"/,
    );
    const running = startedRecord(owner, T0);
    expect(restoreRecordProblem(running, owner, false)).toMatch(
      /that did not complete \(state in-progress; started at 2026/,
    );
    expect(restoreRecordProblem(running, owner, true)).toBeUndefined();
    const failed = finishedRecord(running, { ...counts, failed: 1, saved: 1 }, T1);
    expect(restoreRecordProblem(failed, owner, false)).toMatch(/state failed: 1 object/);
  });

  const restored = (o: Partial<RestoreOutcome>): RestoreOutcome => ({
    objects: 10,
    absent: 2,
    lost: 0,
    lostExamples: [],
    absentListsMissing: 0,
    ...o,
  });

  it("a restore missing objects the backup saved, by its absent lists, falls short", () => {
    const done = finishedRecord(
      startedRecord(owner, T0),
      { objects: 10, saved: 8, absent: 2, failed: 0 },
      T1,
    );
    expect(done.absentLists).toBe(true);
    expect(restoreShortfall(done, restored({}))).toBeUndefined();
    // Counts that cancel out: one absent object is back in the namespace (present), one saved
    // object lost: the per-object comparison names it.
    expect(restoreShortfall(done, restored({ absent: 2, lost: 1, lostExamples: ["d/x"] }))).toBe(
      "1 object(s) the backup saved (8) are no longer in the location (e.g. d/x)",
    );
    expect(restoreShortfall(done, restored({ absentListsMissing: 2 }))).toMatch(
      /missing from the location for 2 part\(s\)/,
    );
    expect(restoreShortfall(done, restored({ objects: 11 }))).toMatch(
      /lists 11 object\(s\) but its backup listed 10/,
    );
    // An incomplete backup promised nothing: nothing to fall short of.
    expect(
      restoreShortfall(startedRecord(owner, T0), restored({ absent: 9, lost: 7 })),
    ).toBeUndefined();
  });

  it("a restore from a backup recorded without absent lists compares counts", () => {
    const { absentLists: _, ...earlier } = finishedRecord(
      startedRecord(owner, T0),
      { objects: 10, saved: 8, absent: 2, failed: 0 },
      T1,
    );
    const listsMissing = { absentListsMissing: 3 };
    expect(restoreShortfall(earlier, restored(listsMissing))).toBeUndefined();
    expect(restoreShortfall(earlier, restored({ ...listsMissing, absent: 5 }))).toMatch(
      /^3 object\(s\) the backup saved \(8\) are no longer in the location/,
    );
  });

  it("a mark list line under the absent lists' folder is never copied over them", () => {
    const places = {
      direction: "restore" as const,
      namespace: { bucket: "lake", keyPrefix: "repos/repo/" },
      location: { bucket: "bk", prefix: "m1" },
    };
    const line = `${BACKUP_ABSENT_DIR}/part-00000.txt`;
    expect(markCopyOperation(line, places)).toMatchObject({ code: "InvalidAddress", path: line });
    expect(absentListKey("m1", 3)).toBe("m1/_lakeport_backup_absent/part-00003.txt");
    expect(absentListKey("", 0)).toBe("_lakeport_backup_absent/part-00000.txt");
    expect([...parseAbsentList(encodeAbsentList(["a/b", "c d"]))]).toEqual(["a/b", "c d"]);
    expect(partShortfall(["a/b", "x"], parseAbsentList("a/b\n"))).toEqual({
      lost: ["x"],
      listMissing: false,
    });
    expect(partShortfall(["x"], undefined)).toEqual({ lost: [], listMissing: true });
  });

  it("a mark list line naming the record is never copied over it", () => {
    const places = {
      direction: "backup" as const,
      namespace: { bucket: "lake", keyPrefix: "repos/repo/" },
      location: { bucket: "bk", prefix: "m1" },
    };
    expect(markCopyOperation(BACKUP_RECORD_NAME, places)).toMatchObject({
      code: "InvalidAddress",
    });
    expect(markCopyOperation(`data/${BACKUP_RECORD_NAME}`, places)).toMatchObject({
      kind: "copy",
    });
  });
});
