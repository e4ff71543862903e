// A head queued while an export runs is exported when it ends "if the branch is continuous"
// (semantics, continuous export: done). The follow-up was always started as an explicit run, so
// a head only commit events had queued was exported even after the branch was made not
// continuous meanwhile (README's way to stop a busy branch before moving it: set isContinuous
// to false, wait for the export to end). A head a person asked for (export run, a set) is still
// exported whether or not the branch is continuous.
import { expect, it } from "vitest";
import { finishExport } from "../../lambdas/export/app/finish-export";
import { type StartExportDeps, startExport } from "../../lambdas/export/app/start-export";
import { checkStuckExports } from "../../lambdas/export/app/stuck-exports";
import type { BranchExportState } from "../../lambdas/export/ports";
import { FakeWorkflowStarter } from "../support/api-fakes";
import {
  at,
  continuousConfig,
  MACHINE,
  runningExportState,
} from "../support/export-running-branch";
import { memoryExportState } from "../support/memory-export-state";

/** c1 is being exported on a continuous branch; the head is c2. */
function runningBranch() {
  const w = {
    state: runningExportState(),
    config: continuousConfig(),
    workflows: new FakeWorkflowStarter(),
  };
  const exports = {
    ...memoryExportState(w),
    getConfig: async () => w.config,
    async *listStates(): AsyncIterable<BranchExportState[]> {
      yield [{ repository: "repo", branch: "main", state: w.state }];
    },
  };
  const deps = {
    exports,
    lakefs: {
      getRepository: async () => ({ id: "repo", storage_namespace: "s3://ns/repo" }),
      getBranch: async () => ({ id: "main", commit_id: "c2" }),
    },
    workflows: w.workflows,
    exportStateMachineArn: MACHINE,
    now: () => at(0),
  } as unknown as StartExportDeps;
  const ended = () =>
    finishExport(deps, {
      repository: "repo",
      branch: "main",
      exportId: "repo-main-c1-2-x",
      commitId: "c1",
      outcome: { status: "succeeded" },
    });
  const start = (trigger: "event" | "run") =>
    startExport(deps, { repository: "repo", branch: "main", trigger });
  return { w, deps, exports, ended, start };
}

it("a head only commit events queued is not exported once the branch is no longer continuous", async () => {
  const { w, exports, ended, start } = runningBranch();
  expect(await start("event")).toMatchObject({ status: "queued", pendingHead: "c2" });
  // Continuous export is switched off while c1 is being exported.
  w.config = { ...w.config, isContinuous: false, updatedAt: at(0).toISOString() };
  expect(await ended()).toMatchObject({ applied: true, followUp: null });
  expect(w.workflows.started).toEqual([]);
  // The request is settled: the stuck check does not start it (nor count it) later.
  expect(w.state).toMatchObject({ state: "exported-successfully", lastExportedCommit: "c1" });
  expect(w.state.pendingHead).toBeUndefined();
  const check = await checkStuckExports({
    exports,
    executions: { lookup: async () => undefined },
    exportStateMachineArn: MACHINE,
    now: () => at(30),
    followUp: async () => {
      throw new Error("no follow-up expected");
    },
  });
  expect(check.stuck).toEqual([]);
});

it("a head a person asked for is exported whether or not the branch is continuous", async () => {
  const { w, ended, start } = runningBranch();
  expect(await start("event")).toMatchObject({ status: "queued" });
  // export set --continuous=false: the configuration, then export-hook (a run), queued.
  w.config = { ...w.config, isContinuous: false, updatedAt: at(0).toISOString() };
  expect(await start("run")).toMatchObject({ status: "queued", pendingHead: "c2" });
  // A later commit event does not take the request back.
  expect(await start("event")).toEqual({ status: "not-continuous" });
  expect(w.state).toMatchObject({ pendingHead: "c2", pendingExplicit: true });
  expect(await ended()).toMatchObject({ applied: true, followUp: { status: "started" } });
  expect(w.workflows.started.map((s) => s.input)).toMatchObject([
    { commitId: "c2", fromCommit: "c1" },
  ]);
  expect(w.state).toMatchObject({ state: "in-progress", commitId: "c2" });
  expect(w.state.pendingExplicit).toBeUndefined();
});

it("a continuous branch still exports a head commit events queued", async () => {
  const { w, ended, start } = runningBranch();
  expect(await start("event")).toMatchObject({ status: "queued" });
  expect(await ended()).toMatchObject({ followUp: { status: "started", commitId: "c2" } });
  expect(w.workflows.started).toHaveLength(1);
});
