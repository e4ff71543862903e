// A head queued while an export ran is exported by the execution-ended handler once the export
// succeeded. If that handler cannot start it (lakeFS or Step Functions unavailable for longer
// than the handler's retries), the branch says exported-successfully with the head still
// queued, and nothing would ever export it until the next commit: the export path stays on an
// older commit without any alarm. The stuck-export check starts such lost follow-ups.
import { expect, it } from "vitest";
import { finishExport, followUpExport } from "../../lambdas/export/app/finish-export";
import type { StartExportDeps } from "../../lambdas/export/app/start-export";
import { checkStuckExports } from "../../lambdas/export/app/stuck-exports";
import type { ExportConfig } from "../../lambdas/export/domain/export-config";
import type { BranchExportState } from "../../lambdas/export/ports";
import { FakeWorkflowStarter } from "../support/api-fakes";
import {
  at,
  continuousConfig,
  MACHINE,
  runningExportState,
} from "../support/export-running-branch";
import { memoryExportState } from "../support/memory-export-state";

function branchWithQueuedHead() {
  const config = continuousConfig();
  const w = {
    // c1 is being exported; c2 was committed meanwhile and queued.
    state: runningExportState({ startedAt: at(-5).toISOString(), pendingHead: "c2" }),
    clock: at(0),
    lakeFsDown: false,
    workflows: new FakeWorkflowStarter(),
  };
  const exports = {
    ...memoryExportState(w),
    getConfig: async () => config,
    async *listStates(): AsyncIterable<BranchExportState[]> {
      yield [{ repository: "repo", branch: "main", state: w.state }];
    },
  };
  const deps = {
    exports,
    lakefs: {
      getRepository: async () => {
        if (w.lakeFsDown) throw new Error("lakeFS: 503 Service Unavailable");
        return { id: "repo", storage_namespace: "s3://ns/repo" };
      },
      getBranch: async () => {
        if (w.lakeFsDown) throw new Error("lakeFS: 503 Service Unavailable");
        return { id: "main", commit_id: "c2" };
      },
    },
    workflows: w.workflows,
    exportStateMachineArn: MACHINE,
    now: () => w.clock,
  } as unknown as StartExportDeps;
  return { w, deps, exports };
}

it("a follow-up the execution-ended handler could not start is started by the stuck check", async () => {
  const { w, deps, exports } = branchWithQueuedHead();
  // c1's execution succeeds while lakeFS is down: the handler and both retries fail.
  w.lakeFsDown = true;
  const ended = {
    repository: "repo",
    branch: "main",
    exportId: "repo-main-c1-2-x",
    commitId: "c1",
    outcome: { status: "succeeded" as const },
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    await expect(finishExport(deps, ended)).rejects.toThrow(/503/);
  }
  expect(w.state).toMatchObject({ state: "exported-successfully", pendingHead: "c2" });
  expect(w.workflows.started).toHaveLength(0);

  // Twenty minutes later lakeFS is back; no commit comes. The scheduled check runs.
  w.lakeFsDown = false;
  w.clock = at(20);
  const result = await checkStuckExports({
    exports,
    executions: { lookup: async () => undefined },
    exportStateMachineArn: MACHINE,
    now: () => w.clock,
    followUp: (repository, branch, pending) =>
      followUpExport(deps, { repository, branch }, pending),
  });
  // c2 is exported, from c1, and the check counts the branch as stuck.
  expect(w.workflows.started.map((s) => s.input)).toMatchObject([
    { commitId: "c2", fromCommit: "c1" },
  ]);
  expect(w.state).toMatchObject({ state: "in-progress", commitId: "c2" });
  expect(w.state.pendingHead).toBeUndefined();
  expect(result.stuck).toMatchObject([{ repository: "repo", branch: "main", action: "follow-up" }]);
});

it("a follow-up still in the handler's hands is left to it", async () => {
  const { w, deps, exports } = branchWithQueuedHead();
  // Recorded a second ago; the handler is about to start the follow-up.
  await exports.completeExport(
    {
      repository: "repo",
      branch: "main",
      exportId: "repo-main-c1-2-x",
      commitId: "c1",
      outcome: { status: "succeeded" },
    },
    at(0).toISOString(),
  );
  w.clock = at(0.05);
  const result = await checkStuckExports({
    exports,
    executions: { lookup: async () => undefined },
    exportStateMachineArn: MACHINE,
    now: () => w.clock,
    followUp: (repository, branch, pending) =>
      followUpExport(deps, { repository, branch }, pending),
  });
  expect(result.stuck).toEqual([]);
  expect(w.workflows.started).toHaveLength(0);
});

it("a queued head of a branch whose configuration was deleted is not counted as stuck", async () => {
  const { w, deps, exports } = branchWithQueuedHead();
  await exports.completeExport(
    {
      repository: "repo",
      branch: "main",
      exportId: "repo-main-c1-2-x",
      commitId: "c1",
      outcome: { status: "succeeded" },
    },
    at(0).toISOString(),
  );
  exports.getConfig = async () => undefined as unknown as ExportConfig;
  w.clock = at(20);
  const result = await checkStuckExports({
    exports,
    executions: { lookup: async () => undefined },
    exportStateMachineArn: MACHINE,
    now: () => w.clock,
    followUp: (repository, branch, pending) =>
      followUpExport(deps, { repository, branch }, pending),
  });
  expect(result.stuck).toEqual([]);
  expect(w.workflows.started).toHaveLength(0);
});
