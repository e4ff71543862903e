// A start that crashed between its state write and StartExecution leaves the branch in progress
// without an execution. A later start re-drives it once it is older than STALLED_START_MS, and
// the stuck-export check fails it after its start grace. Both must count from the start: on a
// busy branch every commit queues its head (which rewrites updatedAt), and the crashed start
// must still be re-driven, and still be found stuck, while commits keep coming.
import { expect, it } from "vitest";
import { finishExport } from "../../lambdas/export/app/finish-export";
import { type StartExportDeps, startExport } from "../../lambdas/export/app/start-export";
import type { ExportConfig } from "../../lambdas/export/domain/export-config";
import { exportIdFor } from "../../lambdas/export/domain/export-id";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { judgeInProgressExport } from "../../lambdas/export/domain/stuck";
import { decideDone, decideStart } from "../../lambdas/export/domain/transitions";
import type { CompleteExportInput } from "../../lambdas/export/ports";
import { FakeWorkflowStarter } from "../support/api-fakes";
import { memoryExportState } from "../support/memory-export-state";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const MACHINE = "arn:aws:states:us-east-1:0:stateMachine:export";
const minutes = (m: number) => new Date(T0 + m * 60_000);

function busyBranch() {
  const config: ExportConfig = {
    repository: "repo",
    branch: "main",
    exportPath: "s3://out/exp",
    lastKeysInPrefixRegexp: [],
    isContinuous: true,
    updatedAt: minutes(-60).toISOString(),
    configVersion: 1,
  };
  const exported: ExportState = {
    state: "exported-successfully",
    commitId: "c0",
    lastExportedCommit: "c0",
    exportedConfigVersion: 1,
    configVersion: 1,
    mode: "full-copy",
    exportId: exportIdFor("repo", "main", "c0", 1),
    updatedAt: minutes(-30).toISOString(),
    repaired: false,
    attempt: 1,
    version: 3,
  };
  // Commit c1 at T0: the trigger's compare-and-set succeeds, then its Lambda crashes.
  const d = decideStart(exported, {
    commitId: "c1",
    trigger: "event",
    isContinuous: true,
    configVersion: 1,
    now: minutes(0).toISOString(),
    exportIdFor: (n) => exportIdFor("repo", "main", "c1", n),
  });
  if (d.kind !== "start") throw new Error(d.kind);
  const w = { state: d.next, clock: minutes(0), head: "c1", workflows: new FakeWorkflowStarter() };
  const deps = {
    exports: { ...memoryExportState(w), getConfig: async () => config },
    lakefs: {
      getRepository: async () => ({ id: "repo", storage_namespace: "s3://ns/repo" }),
      getBranch: async () => ({ id: "main", commit_id: w.head }),
    },
    workflows: w.workflows,
    exportStateMachineArn: MACHINE,
    now: () => w.clock,
  } as unknown as StartExportDeps;
  return { w, deps, crashedExportId: d.next.exportId };
}

it("a crashed start is re-driven on a branch committed to every two minutes", async () => {
  const { w, deps, crashedExportId } = busyBranch();
  // Commits every two minutes for twenty minutes, each with its event.
  for (let m = 2; m <= 20 && w.workflows.started.length === 0; m += 2) {
    w.clock = minutes(m);
    w.head = `c${m}`;
    await startExport(deps, { repository: "repo", branch: "main", trigger: "event" });
  }
  // The first event more than five minutes after the crashed start re-drives it.
  expect(w.workflows.started.map((s) => s.name)).toEqual([crashedExportId]);
  expect(w.clock.toISOString()).toBe(minutes(6).toISOString());
  expect(w.state).toMatchObject({ state: "in-progress", exportId: crashedExportId });
  expect(w.state.executionArn).toBeDefined();
});

it("the stuck-export check finds a never-started workflow although heads keep being queued", async () => {
  const { w, deps } = busyBranch();
  // The workflow cannot be started, and Step Functions cannot say whether it was: each
  // re-drive leaves the branch in progress, and only heads are queued.
  w.workflows.failWith = "ThrottlingException: Rate exceeded";
  w.workflows.describe = async () => {
    throw new Error("ThrottlingException: Rate exceeded");
  };
  for (let m = 2; m <= 20; m += 2) {
    w.clock = minutes(m);
    w.head = `c${m}`;
    await startExport(deps, { repository: "repo", branch: "main", trigger: "event" });
  }
  expect(w.state).toMatchObject({ state: "in-progress", commitId: "c1" });
  // Twenty minutes after the start, no execution: stuck (the grace is fifteen minutes).
  const verdict = judgeInProgressExport(w.state, undefined, minutes(20));
  expect(verdict).toMatchObject({ stuck: true, action: "fail" });
});

it("the head that re-drives a crashed start is exported after it", async () => {
  const { w, deps, crashedExportId } = busyBranch();
  const states = deps.exports as unknown as Record<string, unknown>;
  states.completeExport = async (i: CompleteExportInput, now: string) => {
    const d = decideDone(w.state, { ...i, now });
    if (d.kind === "refused") return { applied: false, reason: d.reason };
    w.state = d.next;
    return { applied: true, state: d.next, followUp: d.followUp };
  };
  // One commit, c2, ten minutes after the crashed start of c1: its event re-drives c1's export.
  w.clock = minutes(10);
  w.head = "c2";
  const redriven = await startExport(deps, {
    repository: "repo",
    branch: "main",
    trigger: "event",
  });
  expect(redriven).toMatchObject({ status: "started", exportId: crashedExportId, commitId: "c1" });
  // c1's execution ends: c2, the head the event asked for, is exported next.
  w.clock = minutes(12);
  const done = await finishExport(deps, {
    repository: "repo",
    branch: "main",
    exportId: crashedExportId,
    commitId: "c1",
    outcome: { status: "succeeded" },
  });
  expect(done.applied).toBe(true);
  expect(done.followUp).toMatchObject({ status: "started", commitId: "c2", fromCommit: "c1" });
  expect(w.state).toMatchObject({ state: "in-progress", commitId: "c2" });
});
