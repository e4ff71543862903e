// The copy workflow's plan step retires a restore's mark: only once every check passed (a wrong
// input leaves the mark as it was), and refuses when a live sweep of the mark holds it. Fakes
// at the ports (the object store in memory, the retire recorded).
import { describe, expect, it } from "vitest";
import {
  type CopyMarkInput,
  type CopyPlanDeps,
  MarkBeingSweptError,
  runCopyPlanStep,
} from "../../lambdas/gc/app/copy-mark";
import { gcPaths } from "../../lambdas/gc/domain/paths";
import type { GcMark } from "../../lambdas/gc/domain/run-records";
import { NotFoundError } from "../../lambdas/shared/errors";
import { listedRepositories, MemoryBackupLocations, MemoryGcStore } from "../support/memory-gc";

const NOW = new Date("2025-06-01T12:00:00Z");
type RetireResult = Awaited<ReturnType<CopyPlanDeps["marks"]["retireMark"]>>;

/** A namespace with mark m1's list, a backup at s3://backups/m1, and a recording retire. */
function world(answer: (reason: string) => RetireResult, marks = ["m1", "m2"]) {
  const s3 = new MemoryGcStore();
  const retires: { repository: string; markId: string; reason: string; iso: string }[] = [];
  const deps: CopyPlanDeps = {
    s3,
    workBucket: "work",
    lakefs: listedRepositories(["repo", "s3://lake-ns/repos/repo"]),
    ...new MemoryBackupLocations().planDeps(),
    now: () => NOW,
    marks: {
      retireMark: async (repository, markId, reason, now) => {
        retires.push({ repository, markId, reason, iso: now.iso });
        return answer(reason);
      },
      getMark: async (repository, markId) =>
        repository === "repo" && marks.includes(markId)
          ? {
              repository,
              markId,
              runId: "r0",
              status: "succeeded",
              storageNamespace: "s3://lake-ns/repos/repo",
            }
          : undefined,
    },
  };
  const input: CopyMarkInput = {
    repository: "repo",
    copyId: "c1",
    markId: "m1",
    storageNamespace: "s3://lake-ns/repos/repo",
    direction: "restore",
    location: "s3://backups/m1",
  };
  const seed = async () => {
    await s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
    await s3.put("backups", "m1/data/a", "a");
  };
  return { s3, deps, input, retires, seed };
}

/** What GcStore.retireMark answers: the mark with its (first) retire. */
function retiredMark(retiredAt: string, retiredReason: string): RetireResult {
  const mark: GcMark = { repository: "repo", markId: "m1", runId: "r0", status: "succeeded" };
  return { retired: { ...mark, retiredAt, retiredReason } };
}

describe("the copy plan of a restore", () => {
  it("retires the mark after its checks, naming the location, and says so", async () => {
    const w = world((reason) => retiredMark(NOW.toISOString(), reason));
    await w.seed();
    const plan = await runCopyPlanStep(w.deps, w.input);
    expect(w.retires).toEqual([
      {
        repository: "repo",
        markId: "m1",
        reason: "restored from s3://backups/m1",
        iso: NOW.toISOString(),
      },
    ]);
    expect(plan).toMatchObject({
      parts: 1,
      retired: { retiredAt: NOW.toISOString(), retiredReason: "restored from s3://backups/m1" },
    });
    // The map reads the plan's parts: written before the step ends.
    expect(await w.s3.getText("work", plan.partsKey)).toContain("part-00000.txt");
  });

  it("keeps the first retire of a mark already retired", async () => {
    const w = world(() =>
      retiredMark("2025-05-01T00:00:00.000Z", "restored from s3://backups/first"),
    );
    await w.seed();
    const plan = await runCopyPlanStep(w.deps, w.input);
    expect(plan.retired).toEqual({
      retiredAt: "2025-05-01T00:00:00.000Z",
      retiredReason: "restored from s3://backups/first",
    });
  });

  it("fails naming the mark and the sweep when a live sweep holds the mark", async () => {
    const w = world(() => ({ sweeping: "run-sweep-1" }));
    await w.seed();
    const err = await runCopyPlanStep(w.deps, w.input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MarkBeingSweptError);
    expect((err as Error).message).toBe(
      'mark id "m1" is being swept by GC run run-sweep-1: nothing restored and the mark is not retired; restore once that run has ended',
    );
  });

  it("fails when the mark has no record (nothing it could retire)", async () => {
    const w = world(() => undefined, []);
    await w.seed();
    await expect(runCopyPlanStep(w.deps, w.input)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("retires nothing when a check fails", async () => {
    const cases: [Partial<CopyMarkInput>, RegExp][] = [
      [{ location: "s3://backups/nothing" }, /no object under s3:\/\/backups\/nothing/],
      [{ location: "s3://lake-ns/repos" }, /overlaps the storage namespace/],
      [{ markId: "../m1" }, /mark_id/],
      [{ markId: "m2" }, /mark id "m2": no address lists/],
      [{ direction: "Restore" as "restore" }, /direction: must be "backup" or "restore"/],
      // Another repository's namespace (a direct start): the mark was not made there.
      [
        { storageNamespace: "s3://lake-ns/repos/other" },
        /storageNamespace: s3:\/\/lake-ns\/repos\/other is not the namespace of mark "m1"/,
      ],
      [{ repository: "other" }, /mark id "m1" not found in "other"/],
    ];
    for (const [change, why] of cases) {
      const w = world((reason) => retiredMark(NOW.toISOString(), reason));
      await w.seed();
      await expect(runCopyPlanStep(w.deps, { ...w.input, ...change })).rejects.toThrow(why);
      expect(w.retires, why.source).toEqual([]);
    }
  });

  it("of a backup retires nothing", async () => {
    const w = world((reason) => retiredMark(NOW.toISOString(), reason));
    await w.seed();
    // A backup's location holds nothing yet.
    await w.s3.deleteKeys("backups", ["m1/data/a"]);
    const plan = await runCopyPlanStep(w.deps, { ...w.input, direction: "backup" });
    expect(plan).toEqual({
      partsKey: expect.any(String),
      parts: 1,
      sweepRunId: null,
      recordStartedAt: NOW.toISOString(),
      recordEtag: expect.any(String),
    });
    expect(w.retires).toEqual([]);
  });
});
