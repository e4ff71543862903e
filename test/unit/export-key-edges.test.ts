// Keys an export cannot write as planned: an object of the commit at the success marker of a
// selected directory, and keys longer than S3's 1 024 bytes under the export prefix. Each is a
// failure of its task naming it; a delete of a key S3 could never hold needs no request.
import { describe, expect, it } from "vitest";
import { operationsOfTasks } from "../../lambdas/export/app/export-operations";
import { compileDirectorySelector, markerDirectoryOf } from "../../lambdas/export/domain/markers";
import { emptyTotals, failureSummary } from "../../lambdas/export/domain/results";
import type { ExportTask } from "../../lambdas/export/domain/tasks";

const copy = (path: string, prefix = "out"): ExportTask => ({
  op: "copy",
  path,
  sourceAddress: "s3://lakefs-ns/data/abc",
  destKey: `${prefix}/${path}`,
  etag: "e",
});

describe("markerDirectoryOf", () => {
  it("names the selected directory whose marker a path is", () => {
    const s = compileDirectorySelector(["^x/", "^$"]);
    expect(markerDirectoryOf("x/_lakefs_success", s)).toBe("x/");
    expect(markerDirectoryOf("x/y/_lakefs_success", s)).toBe("x/y/");
    expect(markerDirectoryOf("_lakefs_success", s)).toBe("");
    expect(markerDirectoryOf("z/_lakefs_success", s)).toBeUndefined();
    expect(markerDirectoryOf("x/a_lakefs_success", s)).toBeUndefined();
    expect(markerDirectoryOf("x/_lakefs_success/part", s)).toBeUndefined();
    expect(markerDirectoryOf("_lakefs_success", compileDirectorySelector(["^x/"]))).toBeUndefined();
    expect(markerDirectoryOf("x/_lakefs_success", compileDirectorySelector([]))).toBeUndefined();
  });
});

describe("operationsOfTasks", () => {
  it("fails copies and keeps at a selected directory's marker, not elsewhere", () => {
    const s = compileDirectorySelector(["^x/$"]);
    const tasks: ExportTask[] = [
      copy("x/_lakefs_success"),
      { op: "keep", path: "x/y/../_lakefs_success", destKey: "k", etag: "e" },
      copy("y/_lakefs_success"),
      { op: "delete", path: "x/_lakefs_success", destKey: "out/x/_lakefs_success" },
      { op: "delete", path: "z/_lakefs_success", destKey: "out/z/_lakefs_success" },
    ];
    const { operations, invalid } = operationsOfTasks(tasks, "dest", s);
    expect(invalid).toEqual([
      expect.objectContaining({ path: "x/_lakefs_success", code: "MarkerCollision" }),
    ]);
    // A selected directory's stale marker is left to the markers step (written again, or
    // removed when the directory is empty): a copy attempt still running after that step
    // would otherwise delete it under the success line. An unselected one's goes now.
    expect(operations.map((o) => `${o.kind} ${o.id}`)).toEqual([
      "copy y/_lakefs_success",
      "delete z/_lakefs_success",
    ]);
  });

  it("fails a copy whose key exceeds 1 024 bytes and drops a delete of one", () => {
    const fits = "é".repeat(510); // 1 020 bytes: `out/` + it is 1 024
    const over = `${fits}x`;
    const { operations, invalid } = operationsOfTasks(
      [copy(fits), copy(over), { op: "delete", path: over, destKey: `out/${over}` }],
      "dest",
    );
    expect(operations.map((o) => o.id)).toEqual([fits]);
    expect(invalid).toEqual([
      {
        path: over,
        code: "KeyTooLong",
        message: "under the export prefix its key is 1025 bytes; S3 keys are at most 1024",
      },
    ]);
  });
});

describe("failureSummary", () => {
  it("abbreviates a long path so the code survives the 1 000-character reason", () => {
    const path = "p".repeat(1020);
    const summary = failureSummary({
      ...emptyTotals(),
      failed: 1,
      errorSamples: [{ path, code: "KeyTooLong", message: "too long" }],
    })!;
    expect(summary.length).toBeLessThan(400);
    expect(summary).toContain("…(1020 characters)…");
    expect(summary).toMatch(/p: KeyTooLong: too long\)$/);
  });
});
