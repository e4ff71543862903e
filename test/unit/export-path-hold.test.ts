// When a branch's export may still write to its paths (path-hold.ts): while it runs, and after an
// aborted or timed-out execution until its functions have stopped.
import { expect, it } from "vitest";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { exportStillWriting } from "../../lambdas/export/domain/path-hold";

const now = "2026-12-03T12:00:00.000Z";
const state = (s: Partial<ExportState>): ExportState => ({
  state: "exported-successfully",
  commitId: "c1",
  exportId: "e1",
  updatedAt: now,
  repaired: false,
  attempt: 1,
  version: 1,
  ...s,
});

it("no state, an ended export, or one that has settled: nothing writes", () => {
  expect(exportStillWriting(undefined, now)).toBeUndefined();
  expect(exportStillWriting(state({}), now)).toBeUndefined();
  expect(exportStillWriting(state({ state: "export-failed" }), now)).toBeUndefined();
  expect(
    exportStillWriting(
      state({ state: "export-failed", settlesAt: "2026-12-03T11:59:59.000Z" }),
      now,
    ),
  ).toBeUndefined();
  // A settledAt left from before a successful repair does not hold the paths.
  expect(
    exportStillWriting(
      state({ state: "export-repaired", settlesAt: "2026-12-03T13:00:00.000Z" }),
      now,
    ),
  ).toBeUndefined();
});

it("a running export, or an aborted one still settling, writes", () => {
  expect(exportStillWriting(state({ state: "in-progress", exportId: "e7" }), now)).toBe(
    "export e7 is running",
  );
  expect(
    exportStillWriting(
      state({ state: "export-failed", exportId: "e8", settlesAt: "2026-12-03T12:15:00.000Z" }),
      now,
    ),
  ).toContain("may still write until 2026-12-03T12:15:00.000Z");
});
