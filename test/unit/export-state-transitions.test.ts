import { expect, test } from "vitest";
import { WORK_BUCKET_TEMPORARY_DAYS } from "../../infra/constructs/storage";
import {
  nextConfigVersion,
  sameExportedConfiguration,
} from "../../lambdas/export/domain/export-config";
import { exportIdFor } from "../../lambdas/export/domain/export-id";
import {
  decideExportMode,
  MAX_UNRECONCILED_EXPORTS,
  TOUCHED_RECORD_TRUST_MS,
  withFailedExport,
} from "../../lambdas/export/domain/export-mode";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { startRequestFromEvent } from "../../lambdas/export/domain/lakefs-event";
import {
  decideDone,
  decideStart,
  reconcileExportsOf,
  type StartInput,
} from "../../lambdas/export/domain/transitions";
import { EXECUTION_NAME_PATTERN } from "../../lambdas/shared/workflow-starter";

const now = "2026-11-23T00:00:00.000Z";
const input = (
  head: string,
  trigger: StartInput["trigger"] = "run",
  isContinuous = true,
  more: Partial<StartInput> = {},
): StartInput => ({
  commitId: head,
  trigger,
  isContinuous,
  configVersion: 1,
  now,
  exportIdFor: (attempt) => `exp-${head}-${attempt}`,
  ...more,
});
const state = (s: Partial<ExportState>): ExportState => ({
  state: "exported-successfully",
  commitId: "c1",
  lastExportedCommit: "c1",
  exportId: "exp-c1-1",
  updatedAt: now,
  repaired: false,
  attempt: 1,
  version: 3,
  ...s,
});

test("first start exports everything from no commit (full-copy)", () => {
  const d = decideStart(undefined, input("c1"));
  expect(d).toEqual({
    kind: "start",
    fromCommit: null,
    next: {
      state: "in-progress",
      commitId: "c1",
      exportId: "exp-c1-1",
      updatedAt: now,
      startedAt: now,
      repaired: false,
      attempt: 1,
      version: 1,
      mode: "full-copy",
      configVersion: 1,
    },
  });
});

test("start from a successful export continues from the last exported commit", () => {
  const d = decideStart(state({}), input("c2"));
  expect(d).toMatchObject({
    kind: "start",
    fromCommit: "c1",
    next: {
      commitId: "c2",
      attempt: 2,
      version: 4,
      lastExportedCommit: "c1",
      mode: "incremental",
      configVersion: 1,
    },
  });
});

test("a changed configuration makes the next export a full export, even at the same head", () => {
  const exported = state({ exportedConfigVersion: 1 });
  expect(decideStart(exported, input("c1"))).toEqual({ kind: "up-to-date" });
  const d = decideStart(exported, input("c1", "set-once", true, { configVersion: 2 }));
  expect(d).toMatchObject({
    kind: "start",
    next: { commitId: "c1", mode: "full-copy", configVersion: 2, exportedConfigVersion: 1 },
  });
  // A state from before versions existed exported version 1.
  expect(decideStart(state({}), input("c2", "run", true, { configVersion: 3 }))).toMatchObject({
    next: { mode: "full-copy" },
  });
  // Success records the version exported.
  const running = d.kind === "start" ? d.next : state({});
  expect(
    decideDone(running, {
      exportId: running.exportId,
      commitId: "c1",
      outcome: { status: "succeeded" },
      now,
    }),
  ).toMatchObject({ next: { exportedConfigVersion: 2, lastExportedCommit: "c1" } });
});

test("configuration versions: same path and expressions keep the version, any change moves past every version used", () => {
  const a = { exportPath: "s3://b/x", lastKeysInPrefixRegexp: ["a/", "b/"], configVersion: 4 };
  expect(sameExportedConfiguration(a, { ...a, lastKeysInPrefixRegexp: ["b/", "a/", "a/"] })).toBe(
    true,
  );
  expect(nextConfigVersion(a, undefined, { ...a, lastKeysInPrefixRegexp: ["b/", "a/"] })).toBe(4);
  expect(nextConfigVersion(a, undefined, { ...a, exportPath: "s3://b/y" })).toBe(5);
  expect(nextConfigVersion(a, undefined, { ...a, lastKeysInPrefixRegexp: [] })).toBe(5);
  // The empty expression selects every directory (none without it); no joined form of the
  // expressions may make two different sets look the same.
  const none = { ...a, lastKeysInPrefixRegexp: [] };
  expect(nextConfigVersion(none, undefined, { ...a, lastKeysInPrefixRegexp: [""] })).toBe(5);
  expect(nextConfigVersion({ ...a, lastKeysInPrefixRegexp: [""] }, undefined, none)).toBe(5);
  expect(nextConfigVersion(a, undefined, { ...a, lastKeysInPrefixRegexp: ["a/\u0000b/"] })).toBe(5);
  expect(nextConfigVersion(undefined, undefined, a)).toBe(1);
  // Deleted and created again: never the version the branch was exported with.
  expect(nextConfigVersion(undefined, state({ exportedConfigVersion: 7 }), a)).toBe(8);
  // Stored before versions existed: version 1, so a change is 2.
  expect(
    nextConfigVersion({ exportPath: "s3://b/x", lastKeysInPrefixRegexp: [] }, state({}), {
      exportPath: "s3://b/z",
      lastKeysInPrefixRegexp: [],
    }),
  ).toBe(2);
});

test("failed exports are recorded for the next export to reconcile; a success forgets them", () => {
  const running = state({
    state: "in-progress",
    commitId: "c2",
    exportId: "e2",
    startedAt: "2026-11-22T00:00:00.000Z",
    mode: "incremental",
    configVersion: 1,
  });
  const failed = decideDone(running, {
    exportId: "e2",
    commitId: "c2",
    outcome: { status: "failed", errorMessage: "denied" },
    now,
  });
  expect(failed).toMatchObject({
    next: {
      state: "export-failed",
      unreconciled: [{ exportId: "e2", startedAt: "2026-11-22T00:00:00.000Z", full: false }],
    },
  });
  const failedState = failed.kind === "done" ? failed.next : state({});
  // The repair is incremental and reconciles e2's paths besides the diff.
  const repair = decideStart(failedState, input("c3", "repair"));
  expect(repair).toMatchObject({
    kind: "start",
    fromCommit: "c1",
    next: { mode: "incremental", repaired: true, unreconciled: [{ exportId: "e2" }] },
  });
  const repairing = repair.kind === "start" ? repair.next : state({});
  expect(reconcileExportsOf(repairing)).toEqual(["e2"]);
  // The repair fails too: both are reconciled by the next one.
  const again = decideDone(repairing, {
    exportId: repairing.exportId,
    commitId: "c3",
    outcome: { status: "failed", errorMessage: "again" },
    now,
  });
  expect(
    again.kind === "done" ? again.next.unreconciled?.map((u) => u.exportId) : undefined,
  ).toEqual(["e2", repairing.exportId]);
  const ok = decideDone(repairing, {
    exportId: repairing.exportId,
    commitId: "c3",
    outcome: { status: "succeeded" },
    now,
  });
  expect(ok).toMatchObject({ next: { state: "export-repaired", lastExportedCommit: "c3" } });
  expect(ok.kind === "done" && ok.next.unreconciled).toBeUndefined();
});

test("reconciliation by listing when the records of failed exports cannot be relied on", () => {
  const at = new Date(now);
  const fresh = new Date(at.getTime() - 3_600_000).toISOString();
  const base = state({ exportedConfigVersion: 1 });
  const mode = (s: ExportState, fullRequested = false) =>
    decideExportMode(s, { configVersion: 1, fullRequested, now: at });
  expect(
    mode({ ...base, unreconciled: [{ exportId: "a", startedAt: fresh, full: false }] }),
  ).toEqual({ mode: "incremental", reconcileExports: ["a"] });
  // Task shards expire with the work bucket's lifecycle: older records are not trusted.
  expect(TOUCHED_RECORD_TRUST_MS).toBeLessThan(WORK_BUCKET_TEMPORARY_DAYS * 86_400_000);
  const old = new Date(at.getTime() - TOUCHED_RECORD_TRUST_MS - 1).toISOString();
  expect(mode({ ...base, unreconciled: [{ exportId: "a", startedAt: old, full: false }] })).toEqual(
    { mode: "full-compare", reconcileExports: [] },
  );
  // A failed full export may have touched anything.
  expect(
    mode({ ...base, unreconciled: [{ exportId: "a", startedAt: fresh, full: true }] }).mode,
  ).toBe("full-compare");
  expect(mode(base, true).mode).toBe("full-compare");
  // The record is bounded: past the limit one entry says "anything".
  let s: ExportState = { ...base, state: "in-progress", mode: "incremental" };
  for (let i = 0; i <= MAX_UNRECONCILED_EXPORTS; i++) {
    s = { ...s, exportId: `e${i}`, startedAt: fresh, unreconciled: withFailedExport(s) };
  }
  expect(s.unreconciled).toHaveLength(1);
  expect(s.unreconciled?.[0]?.full).toBe(true);
});

test("repair --full reconciles from any state but in-progress", () => {
  expect(decideStart(state({}), input("c1", "repair", true, { full: true }))).toMatchObject({
    kind: "start",
    next: { mode: "full-compare", repaired: true, commitId: "c1" },
  });
  expect(
    decideStart(
      state({ state: "in-progress", exportId: "e9" }),
      input("c1", "repair", true, { full: true }),
    ),
  ).toEqual({ kind: "refused-running", exportId: "e9" });
});

test("start refused while in progress or failed; nothing to do at the same head", () => {
  expect(
    decideStart(state({ state: "in-progress", commitId: "c2", exportId: "e2" }), input("c3")),
  ).toEqual({ kind: "refused-in-progress", exportId: "e2" });
  expect(decideStart(state({ state: "export-failed", errorMessage: "boom" }), input("c3"))).toEqual(
    { kind: "refused-failed", errorMessage: "boom" },
  );
  expect(decideStart(state({}), input("c1"))).toEqual({ kind: "up-to-date" });
  expect(decideStart(state({ state: "export-repaired" }), input("c2")).kind).toBe("start");
  // Only the repair's own export says export-repaired: the next one, started after the
  // repaired state (which keeps its `repaired` flag), is an ordinary export again.
  expect(
    decideStart(state({ state: "export-repaired", repaired: true }), input("c2")),
  ).toMatchObject({ kind: "start", next: { repaired: false } });
});

test("events only start continuous exports", () => {
  expect(decideStart(state({}), input("c2", "event", false))).toEqual({ kind: "not-continuous" });
  expect(decideStart(state({}), input("c2", "event", true)).kind).toBe("start");
  expect(decideStart(state({}), input("c2", "run", false)).kind).toBe("start");
});

test("a repair, full or not, while an export runs waits for its end (not told to repair --full)", () => {
  for (const options of [{}, { full: true }]) {
    expect(
      decideStart(
        state({ state: "in-progress", exportId: "e9" }),
        input("c1", "repair", true, options),
      ),
    ).toEqual({ kind: "refused-running", exportId: "e9" });
  }
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
    state({ state: "export-failed", commitId: "c2", errorMessage: "x" }),
    input("c2", "repair"),
  );
  expect(d).toMatchObject({
    kind: "start",
    fromCommit: "c1",
    next: { state: "in-progress", repaired: true, commitId: "c2" },
  });
  expect(d.kind === "start" ? d.next.errorMessage : "not started").toBeUndefined();
});

test("done only for the running export; success moves lastExportedCommit and asks for a follow-up when a start was asked for meanwhile", () => {
  const running = state({
    state: "in-progress",
    commitId: "c2",
    exportId: "e2",
    pendingHead: "c4",
  });
  expect(
    decideDone(running, {
      exportId: "other",
      commitId: "c2",
      outcome: { status: "succeeded" },
      now,
    }).kind,
  ).toBe("refused");
  expect(
    decideDone(running, { exportId: "e2", commitId: "c9", outcome: { status: "succeeded" }, now })
      .kind,
  ).toBe("refused");
  expect(
    decideDone(state({}), {
      exportId: "exp-c1-1",
      commitId: "c1",
      outcome: { status: "succeeded" },
      now,
    }).kind,
  ).toBe("refused");
  const ok = decideDone(running, {
    exportId: "e2",
    commitId: "c2",
    outcome: { status: "succeeded" },
    now,
  });
  expect(ok).toMatchObject({
    kind: "done",
    followUp: true,
    next: { state: "exported-successfully", lastExportedCommit: "c2", version: 4 },
  });
  // Kept until a start takes it, so a repeated delivery of the execution's end still sees it.
  expect(ok.kind === "done" && ok.next.pendingHead).toBe("c4");
  const failed = decideDone(running, {
    exportId: "e2",
    commitId: "c2",
    outcome: { status: "failed", errorMessage: "denied" },
    now,
  });
  expect(failed).toMatchObject({
    kind: "done",
    followUp: false,
    next: { state: "export-failed", errorMessage: "denied", lastExportedCommit: "c1" },
  });
  expect(failed.kind === "done" && failed.next.pendingHead).toBeUndefined();
  const repaired = decideDone(
    state({ state: "in-progress", commitId: "c2", exportId: "e2", repaired: true }),
    { exportId: "e2", commitId: "c2", outcome: { status: "succeeded" }, now },
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
