// The copy workflow's backup record (lambdas/gc/app/copy-record.ts, copy-end.ts): the plan of a
// backup refuses a swept mark and another mark's location and writes the record in-progress;
// the plan of a restore refuses another owner's record and (unless accepted) an incomplete one,
// before it retires anything; the end step sums the parts' results, completes a backup's record
// (or fails it when a sweep began meanwhile) and fails a restore short of its backup. Fakes at
// the ports: the object store in memory, the mark records in a map.
import { describe, expect, it } from "vitest";
import {
  BackupIncompleteError,
  type CopyEndInput,
  RestoreShortfallError,
  runCopyEndStep,
} from "../../lambdas/gc/app/copy-end";
import {
  type CopyMarkInput,
  type CopyPlanDeps,
  copyResultKey,
  runCopyPlanStep,
} from "../../lambdas/gc/app/copy-mark";
import { MarkSweptError } from "../../lambdas/gc/app/copy-record";
import {
  type BackupRecord,
  BackupRecordError,
  encodeBackupRecord,
  finishedRecord,
  parseBackupRecord,
  startedRecord,
} from "../../lambdas/gc/domain/backup-record";
import { gcPaths } from "../../lambdas/gc/domain/paths";
import type { GcMark } from "../../lambdas/gc/domain/run-records";
import { listedRepositories, MemoryBackupLocations, MemoryGcStore } from "../support/memory-gc";

const NOW = new Date("2025-06-01T12:00:00Z");
const LATER = new Date("2025-06-01T12:30:00Z");
const NS = "s3://lake-ns/repos/repo";
const RECORD = "m1/_lakeport_backup.json";
const owner = { repository: "repo", markId: "m1", storageNamespace: NS };

function world(markFields: Partial<GcMark> = {}) {
  const s3 = new MemoryGcStore();
  const retires: string[] = [];
  const mark: GcMark = {
    repository: "repo",
    markId: "m1",
    runId: "r0",
    status: "succeeded",
    storageNamespace: NS,
    ...markFields,
  };
  let clock = NOW;
  const deps: CopyPlanDeps = {
    s3,
    workBucket: "work",
    lakefs: listedRepositories(["repo", NS]),
    ...new MemoryBackupLocations().planDeps(),
    now: () => clock,
    marks: {
      getMark: async (repository, markId) =>
        repository === mark.repository && markId === mark.markId ? { ...mark } : undefined,
      retireMark: async (_r, markId, reason, now) => {
        retires.push(markId);
        return { retired: { ...mark, retiredAt: now.iso, retiredReason: reason } };
      },
    },
  };
  const input = (direction: "backup" | "restore", extra: Partial<CopyMarkInput> = {}) => ({
    repository: "repo",
    copyId: `c-${direction}`,
    markId: "m1",
    storageNamespace: NS,
    direction,
    location: "s3://backups/m1",
    ...extra,
  });
  /** The mark's lists; and (a restore's) an object already backed up at the location. */
  const seed = async (backedUp = true) => {
    await s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
    await s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 1)}`, "data/b\n");
    if (backedUp) await s3.put("backups", "m1/data/a", "a");
  };
  const record = async () => {
    const text = await s3.getText("backups", RECORD);
    return text === undefined ? undefined : parseBackupRecord(text, RECORD);
  };
  const putRecord = (r: BackupRecord | string) =>
    s3.put("backups", RECORD, typeof r === "string" ? r : encodeBackupRecord(r));
  /** What the map children leave: one result per part. */
  const results = async (copyId: string, parts: Record<number, object>) => {
    for (const [part, counts] of Object.entries(parts)) {
      const full = { objects: 1, copied: 0, copiedBytes: 0, present: 0, absent: 0, failed: 0 };
      await s3.put(
        "work",
        copyResultKey("repo", copyId, Number(part)),
        JSON.stringify({ ...full, ...counts }),
      );
    }
  };
  const setMark = (fields: Partial<GcMark>) => Object.assign(mark, fields);
  const setClock = (d: Date) => {
    clock = d;
  };
  return { s3, deps, input, seed, record, putRecord, results, retires, setMark, setClock };
}

const completeRecord = (counts = { objects: 2, saved: 2, absent: 0, failed: 0 }) =>
  finishedRecord(startedRecord(owner, NOW), counts, LATER);

describe("the plan of a backup", () => {
  it("writes the record in-progress and returns the mark's sweep run at plan time", async () => {
    const w = world({ sweepRunId: "run-old", sweepStatus: "failed" });
    await w.seed(false);
    const plan = await runCopyPlanStep(w.deps, w.input("backup"));
    expect(plan).toMatchObject({
      parts: 2,
      sweepRunId: "run-old",
      recordStartedAt: NOW.toISOString(),
    });
    expect(await w.record()).toEqual(startedRecord(owner, NOW));
  });

  it("refuses a mark swept or being swept, writing nothing", async () => {
    for (const sweepStatus of ["succeeded", "running"] as const) {
      const w = world({ sweepRunId: "run-s", sweepStatus });
      await w.seed(false);
      const err = await runCopyPlanStep(w.deps, w.input("backup")).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MarkSweptError);
      expect((err as Error).message).toMatch(
        sweepStatus === "succeeded" ? /was swept by run run-s/ : /is being swept by run run-s/,
      );
      expect(await w.record()).toBeUndefined();
      expect(await w.s3.getText("work", "gc/repo/c-backup/copy-parts.jsonl")).toBeUndefined();
    }
  });

  it("refuses a location holding another mark's, repository's or namespace's backup; the record unchanged", async () => {
    const others = [
      { ...owner, markId: "m2" },
      { ...owner, repository: "other" },
      { ...owner, storageNamespace: "s3://lake-ns/repos/elsewhere" },
    ];
    for (const other of others) {
      const w = world();
      await w.seed(false);
      const theirs = finishedRecord(
        startedRecord(other, NOW),
        { objects: 1, saved: 1, absent: 0, failed: 0 },
        LATER,
      );
      await w.putRecord(theirs);
      await expect(runCopyPlanStep(w.deps, w.input("backup"))).rejects.toThrow(
        /location: s3:\/\/backups\/m1 holds the backup of mark .*back up each mark to a location of its own: nothing copied/,
      );
      expect(await w.record()).toEqual(theirs);
    }
  });

  it("refuses a location whose record is not one, naming its key", async () => {
    const w = world();
    await w.seed(false);
    await w.putRecord("not json");
    const err = await runCopyPlanStep(w.deps, w.input("backup")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackupRecordError);
    expect((err as Error).message).toBe(
      "s3://backups/m1/_lakeport_backup.json is not a Lakeport backup record (not JSON)",
    );
    expect(await w.s3.getText("backups", RECORD)).toBe("not json");
  });

  it("refuses a location holding objects but no record (an older backup, a copy by hand), writing nothing", async () => {
    const w = world();
    await w.seed(true);
    const err = await runCopyPlanStep(w.deps, w.input("backup")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackupRecordError);
    expect((err as Error).message).toMatch(
      /^location: s3:\/\/backups\/m1 holds objects but no backup record \(_lakeport_backup\.json\).*back up into an empty location: nothing copied$/,
    );
    expect(await w.record()).toBeUndefined();
    expect(await w.s3.getText("work", "gc/repo/c-backup/copy-parts.jsonl")).toBeUndefined();
  });

  it("backs up again into its own mark's location (the record restarts)", async () => {
    const w = world();
    await w.seed(false);
    await w.putRecord(completeRecord());
    w.setClock(LATER);
    await runCopyPlanStep(w.deps, w.input("backup"));
    expect(await w.record()).toEqual(startedRecord(owner, LATER));
  });
});

describe("the plan of a backup or restore of a mark with two lists of one part", () => {
  // textPartNumber reads the number from the name's end, so a list copied into a folder
  // beside the mark's own is part 0 too. The copy workflow keeps a part's counts, and a backup
  // the part's absent keys, under its number: one list's would replace the other's, and a
  // restore could take the lost objects of one for none (as the CLI, counting both, would not).
  it("refuses it, writing nothing and retiring nothing", async () => {
    for (const direction of ["backup", "restore"] as const) {
      const w = world();
      await w.seed(direction === "restore");
      const copy = `repos/repo/${gcPaths.addressesTextPrefix("m1")}old/part-00000.txt`;
      await w.s3.put("lake-ns", copy, "data/c\n");
      await expect(runCopyPlanStep(w.deps, w.input(direction))).rejects.toThrow(
        /mark id "m1": .*mark_id=m1\/old\/part-00000\.txt and .*mark_id=m1\/part-00000\.txt are both a list of its part 0 .*: nothing copied$/,
      );
      expect(await w.record()).toBeUndefined();
      expect(await w.s3.getText("work", `gc/repo/c-${direction}/copy-parts.jsonl`)).toBeUndefined();
      expect(w.retires).toEqual([]);
    }
  });
});

describe("the plan of a restore", () => {
  it("refuses another mark's record and retires nothing", async () => {
    const w = world();
    await w.seed();
    await w.putRecord(
      finishedRecord(
        startedRecord({ ...owner, markId: "m2" }, NOW),
        { objects: 1, saved: 1, absent: 0, failed: 0 },
        LATER,
      ),
    );
    await expect(runCopyPlanStep(w.deps, w.input("restore"))).rejects.toThrow(
      /location: s3:\/\/backups\/m1 holds the backup of mark "m2" of repo .*not of mark "m1".*: nothing restored$/,
    );
    expect(w.retires).toEqual([]);
  });

  it("refuses an incomplete record unless acceptIncompleteBackup", async () => {
    const failed = finishedRecord(
      startedRecord(owner, NOW),
      { objects: 2, saved: 1, absent: 0, failed: 1 },
      LATER,
    );
    for (const r of [startedRecord(owner, NOW), failed]) {
      const w = world();
      await w.seed();
      await w.putRecord(r);
      await expect(runCopyPlanStep(w.deps, w.input("restore"))).rejects.toThrow(
        new RegExp(
          `did not complete \\(state ${r.state}.*input acceptIncompleteBackup\\): nothing restored$`,
        ),
      );
      await expect(
        runCopyPlanStep(w.deps, w.input("restore", { acceptIncompleteBackup: false })),
      ).rejects.toThrow(/did not complete/);
      expect(w.retires).toEqual([]);
      const plan = await runCopyPlanStep(
        w.deps,
        w.input("restore", { acceptIncompleteBackup: true }),
      );
      expect(plan).toMatchObject({ recordFound: true, record: r, retired: expect.any(Object) });
      expect(w.retires).toEqual(["m1"]);
    }
  });

  it("refuses an acceptIncompleteBackup that is not a boolean", async () => {
    const w = world();
    await w.seed();
    await w.putRecord(startedRecord(owner, NOW));
    const input = w.input("restore", { acceptIncompleteBackup: "yes" as unknown as boolean });
    await expect(runCopyPlanStep(w.deps, input)).rejects.toThrow(
      /acceptIncompleteBackup: must be a boolean/,
    );
    expect(w.retires).toEqual([]);
  });

  it("restores from a complete record or from a location without one (says which)", async () => {
    const w = world();
    await w.seed();
    expect(await runCopyPlanStep(w.deps, w.input("restore"))).toMatchObject({ recordFound: false });
    expect(await runCopyPlanStep(w.deps, w.input("restore"))).not.toHaveProperty("record");
    await w.putRecord(completeRecord());
    expect(await runCopyPlanStep(w.deps, w.input("restore"))).toMatchObject({
      recordFound: true,
      record: completeRecord(),
    });
  });
});

describe("the end step", () => {
  async function planned(w: ReturnType<typeof world>, direction: "backup" | "restore", extra = {}) {
    const input = w.input(direction, extra);
    const plan = await runCopyPlanStep(w.deps, input);
    return { ...input, plan } as CopyEndInput;
  }

  it("of a backup: sums the parts, writes the complete record with its counts, returns the totals", async () => {
    const w = world();
    await w.seed(false);
    const input = await planned(w, "backup");
    await w.results("c-backup", {
      0: { objects: 3, copied: 1, copiedBytes: 10, present: 1, absent: 1 },
      1: { objects: 2, copied: 2, copiedBytes: 5 },
    });
    w.setClock(LATER);
    const end = await runCopyEndStep(w.deps, input);
    expect(end).toEqual({
      direction: "backup",
      parts: 2,
      objects: 5,
      copied: 3,
      copiedBytes: 15,
      present: 1,
      absent: 1,
      failed: 0,
      lost: 0,
      absentListsMissing: 0,
      lostExamples: [],
      recordState: "complete",
    });
    expect(await w.record()).toEqual(
      finishedRecord(
        startedRecord(owner, NOW),
        { objects: 5, saved: 4, absent: 1, failed: 0 },
        LATER,
      ),
    );
  });

  it("of a backup during which a sweep of the mark began: the record says failed, naming it, and the step fails", async () => {
    const w = world({ sweepRunId: "run-old", sweepStatus: "failed" });
    await w.seed(false);
    const input = await planned(w, "backup");
    await w.results("c-backup", { 0: {}, 1: { absent: 1 } });
    w.setMark({ sweepRunId: "run-new", sweepStatus: "running" });
    const err = await runCopyEndStep(w.deps, input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackupIncompleteError);
    expect((err as Error).message).toMatch(
      /sweep run run-new of mark "m1" began during the backup/,
    );
    expect(await w.record()).toMatchObject({
      state: "failed",
      reason: expect.stringContaining("sweep run run-new"),
      counts: { objects: 2, saved: 0, absent: 1, failed: 0 },
    });
  });

  it("of a backup of a never-swept mark swept since: fails too", async () => {
    const w = world();
    await w.seed(false);
    const input = await planned(w, "backup");
    await w.results("c-backup", { 0: {}, 1: {} });
    w.setMark({ sweepRunId: "run-1", sweepStatus: "succeeded" });
    await expect(runCopyEndStep(w.deps, input)).rejects.toBeInstanceOf(BackupIncompleteError);
    expect((await w.record())?.state).toBe("failed");
  });

  it("fails when a planned part has no result, writing no record", async () => {
    const w = world();
    await w.seed(false);
    const input = await planned(w, "backup");
    await w.results("c-backup", { 0: {} });
    await expect(runCopyEndStep(w.deps, input)).rejects.toThrow(
      /part 1 of mark "m1" has no result \(gc\/repo\/c-backup\/copy-results\/part-00001\.json\)/,
    );
    expect((await w.record())?.state).toBe("in-progress");
  });

  it("of a restore from a complete backup that lost objects: fails naming how many, and which", async () => {
    const w = world();
    await w.seed();
    await w.putRecord(completeRecord({ objects: 2, saved: 1, absent: 1, failed: 0 }));
    const input = await planned(w, "restore");
    // Part 0's absent object is back in the namespace (present); part 1's is lost.
    await w.results("c-restore", {
      0: { present: 1 },
      1: { absent: 1, lost: 1, lostExamples: ["data/b"] },
    });
    const err = await runCopyEndStep(w.deps, input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreShortfallError);
    expect((err as Error).message).toBe(
      'restore of mark "m1" from s3://backups/m1: 1 object(s) the backup saved (1) are no longer in the location (e.g. data/b): counted as absent, not restored',
    );
  });

  it("of a restore from a backup recorded without absent lists: fails on counts", async () => {
    const w = world();
    await w.seed();
    const { absentLists: _, ...earlier } = completeRecord({
      objects: 2,
      saved: 2,
      absent: 0,
      failed: 0,
    });
    await w.putRecord(earlier);
    const input = await planned(w, "restore");
    await w.results("c-restore", {
      0: { copied: 1, absentListsMissing: 1 },
      1: { absent: 1, absentListsMissing: 1 },
    });
    const err = await runCopyEndStep(w.deps, input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreShortfallError);
    expect((err as Error).message).toBe(
      'restore of mark "m1" from s3://backups/m1: 1 object(s) the backup saved (2) are no longer in the location: counted as absent, not restored',
    );
  });

  it("of a restore: succeeds with the totals when the backup's objects came back, or without a record", async () => {
    const w = world();
    await w.seed();
    await w.putRecord(completeRecord({ objects: 2, saved: 1, absent: 1, failed: 0 }));
    const input = await planned(w, "restore");
    await w.results("c-restore", { 0: { copied: 1, copiedBytes: 1 }, 1: { absent: 1 } });
    expect(await runCopyEndStep(w.deps, input)).toMatchObject({
      direction: "restore",
      objects: 2,
      copied: 1,
      absent: 1,
      recordFound: true,
    });
    const bare = { ...input, plan: { ...input.plan, recordFound: false, record: undefined } };
    expect(await runCopyEndStep(w.deps, bare)).toMatchObject({ recordFound: false, absent: 1 });
  });

  it("of a restore from an accepted incomplete backup: no shortfall check", async () => {
    const w = world();
    await w.seed();
    await w.putRecord(startedRecord(owner, NOW));
    const input = await planned(w, "restore", { acceptIncompleteBackup: true });
    await w.results("c-restore", { 0: { absent: 1 }, 1: { absent: 1 } });
    expect(await runCopyEndStep(w.deps, input)).toMatchObject({ absent: 2, recordFound: true });
  });
});
