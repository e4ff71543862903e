// Adversarial inputs to the copy workflow's plan (lambdas/gc/app/copy-mark.ts) started directly
// (console, another tool): bad input must change nothing, as the CLI refuses it first. Fakes at
// the ports: the object store in memory, one mark record.
import { describe, expect, it } from "vitest";
import { type CopyPlanDeps, runCopyPlanStep } from "../../lambdas/gc/app/copy-mark";
import { gcPaths } from "../../lambdas/gc/domain/paths";
import { MemoryGcStore } from "../support/memory-gc";

const NS = "s3://lake-ns/repos/repo";

function world() {
  const s3 = new MemoryGcStore();
  const retires: string[] = [];
  const mark = {
    repository: "repo",
    markId: "m1",
    runId: "r0",
    status: "succeeded" as const,
    storageNamespace: NS,
  };
  const deps: CopyPlanDeps = {
    s3,
    workBucket: "work",
    now: () => new Date("2025-06-01T12:00:00Z"),
    marks: {
      getMark: async (_r, markId) => (markId === "m1" ? { ...mark } : undefined),
      retireMark: async (_r, markId, reason, now) => {
        retires.push(markId);
        return { retired: { ...mark, retiredAt: now.iso, retiredReason: reason } };
      },
    },
  };
  return { s3, deps, retires };
}

describe("the copy plan started directly with a malformed location", () => {
  // `other/../repos/repo` is the namespace itself wherever `..` is resolved (the embedded S3
  // stores keys at the path the file system resolves): the CLI refuses it (exit code 2).
  it("a backup to a location with a .. segment is refused, writing nothing", async () => {
    const w = world();
    await w.s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
    await w.s3.put("lake-ns", "other/x", "x");
    const before = [...w.s3.objects.keys()].sort();
    await expect(
      runCopyPlanStep(w.deps, {
        repository: "repo",
        copyId: "c1",
        markId: "m1",
        storageNamespace: NS,
        direction: "backup",
        location: "s3://lake-ns/other/../repos/repo",
      }),
    ).rejects.toThrow(/location: .*must not contain \. or \.\. path segments/);
    expect([...w.s3.objects.keys()].sort()).toEqual(before);
    expect(w.retires).toEqual([]);
  });
});
