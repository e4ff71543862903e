import { expect, test } from "vitest";
import { startRequestFromEvent } from "../../lambdas/export/start/from-event";
import { EXECUTION_NAME_PATTERN, exportIdFor } from "../../lambdas/export/state/export-id";
import { decideDone, decideStart, type StartInput } from "../../lambdas/export/state/transitions";
import type { ExportState } from "../../lambdas/export/state/types";

const now = "2026-11-23T00:00:00.000Z";
const input = (
  head: string,
  trigger: StartInput["trigger"] = "run",
  isContinuous = true,
): StartInput => ({
  head,
  trigger,
  isContinuous,
  now,
  exportIdFor: (attempt) => `exp-${head}-${attempt}`,
});
const state = (s: Partial<ExportState>): ExportState => ({
  state: "exported-successfully",
  currentRef: "c1",
  lastExportedCommit: "c1",
  exportId: "exp-c1-1",
  updatedAt: now,
  repaired: false,
  attempt: 1,
  version: 3,
  ...s,
});

test("first start exports everything from no commit", () => {
  const d = decideStart(undefined, input("c1"));
  expect(d).toEqual({
    kind: "start",
    fromCommit: null,
    next: {
      state: "in-progress",
      currentRef: "c1",
      exportId: "exp-c1-1",
      updatedAt: now,
      repaired: false,
      attempt: 1,
      version: 1,
    },
  });
});

test("start from a successful export continues from the last exported commit", () => {
  const d = decideStart(state({}), input("c2"));
  expect(d).toMatchObject({
    kind: "start",
    fromCommit: "c1",
    next: { currentRef: "c2", attempt: 2, version: 4, lastExportedCommit: "c1" },
  });
});

test("start refused while in progress or failed; nothing to do at the same head", () => {
  expect(
    decideStart(state({ state: "in-progress", currentRef: "c2", exportId: "e2" }), input("c3")),
  ).toEqual({ kind: "refused-in-progress", exportId: "e2" });
  expect(decideStart(state({ state: "export-failed", errorMessage: "boom" }), input("c3"))).toEqual(
    { kind: "refused-failed", errorMessage: "boom" },
  );
  expect(decideStart(state({}), input("c1"))).toEqual({ kind: "up-to-date" });
  expect(decideStart(state({ state: "export-repaired" }), input("c2")).kind).toBe("start");
});

test("events only start continuous exports", () => {
  expect(decideStart(state({}), input("c2", "event", false))).toEqual({ kind: "not-continuous" });
  expect(decideStart(state({}), input("c2", "event", true)).kind).toBe("start");
  expect(decideStart(state({}), input("c2", "run", false)).kind).toBe("start");
});

test("repair only from export-failed, even at the same head, and marks the export repaired", () => {
  expect(decideStart(state({}), input("c1", "repair"))).toEqual({
    kind: "refused-not-failed",
    state: "exported-successfully",
  });
  expect(decideStart(undefined, input("c1", "repair"))).toEqual({
    kind: "refused-not-failed",
    state: "never-exported",
  });
  const d = decideStart(
    state({ state: "export-failed", currentRef: "c2", errorMessage: "x" }),
    input("c2", "repair"),
  );
  expect(d).toMatchObject({
    kind: "start",
    fromCommit: "c1",
    next: { state: "in-progress", repaired: true, currentRef: "c2" },
  });
  expect(d.kind === "start" ? d.next.errorMessage : "not started").toBeUndefined();
});

test("done only for the running export; success moves lastExportedCommit and asks for a follow-up when a newer head is pending", () => {
  const running = state({
    state: "in-progress",
    currentRef: "c2",
    exportId: "e2",
    pendingHead: "c4",
  });
  expect(
    decideDone(running, {
      exportId: "other",
      currentRef: "c2",
      outcome: { status: "succeeded" },
      now,
    }).kind,
  ).toBe("refused");
  expect(
    decideDone(running, { exportId: "e2", currentRef: "c9", outcome: { status: "succeeded" }, now })
      .kind,
  ).toBe("refused");
  expect(
    decideDone(state({}), {
      exportId: "exp-c1-1",
      currentRef: "c1",
      outcome: { status: "succeeded" },
      now,
    }).kind,
  ).toBe("refused");
  const ok = decideDone(running, {
    exportId: "e2",
    currentRef: "c2",
    outcome: { status: "succeeded" },
    now,
  });
  expect(ok).toMatchObject({
    kind: "done",
    followUp: true,
    next: { state: "exported-successfully", lastExportedCommit: "c2", version: 4 },
  });
  expect(ok.kind === "done" && ok.next.pendingHead).toBeUndefined();
  const failed = decideDone(running, {
    exportId: "e2",
    currentRef: "c2",
    outcome: { status: "failed", errorMessage: "denied" },
    now,
  });
  expect(failed).toMatchObject({
    kind: "done",
    followUp: false,
    next: { state: "export-failed", errorMessage: "denied", lastExportedCommit: "c1" },
  });
  const repaired = decideDone(
    state({ state: "in-progress", currentRef: "c2", exportId: "e2", repaired: true }),
    { exportId: "e2", currentRef: "c2", outcome: { status: "succeeded" }, now },
  );
  expect(repaired).toMatchObject({
    kind: "done",
    followUp: false,
    next: { state: "export-repaired" },
  });
});

test("export ids are deterministic, distinct per attempt, and valid execution names", () => {
  const long = "r".repeat(63);
  const a = exportIdFor(long, `feature/${"b".repeat(200)}`, "f".repeat(64), 123456789);
  expect(a).toMatch(EXECUTION_NAME_PATTERN);
  expect(exportIdFor("repo", "main", "c1", 1)).toBe(exportIdFor("repo", "main", "c1", 1));
  expect(exportIdFor("repo", "main", "c1", 1)).not.toBe(exportIdFor("repo", "main", "c1", 2));
  expect(exportIdFor("repo", "x".repeat(30) + "1", "c1", 1)).not.toBe(
    exportIdFor("repo", "x".repeat(30) + "2", "c1", 1),
  );
});

test("the starter's request from a bus event", () => {
  const detail = {
    event_type: "post-merge",
    repository_id: "repo1",
    branch_id: "main",
    commit_id: "abc",
    hook_id: "h",
  };
  expect(startRequestFromEvent({ source: "lakeport.lakefs", detail })).toEqual({
    repository: "repo1",
    branch: "main",
    trigger: "event",
  });
  expect(() => startRequestFromEvent({ source: "other", detail })).toThrow(
    /unexpected event source/,
  );
  expect(() =>
    startRequestFromEvent({ source: "lakeport.lakefs", detail: { ...detail, branch_id: "" } }),
  ).toThrow(/branch_id/);
});
