// A StartExecution call can fail after Step Functions has started the execution (the response
// is lost: a timeout, a reset connection, the SDK's retries run out). The branch must then not
// be recorded export-failed with "could not start": the execution runs and writes to the
// export path, a repair would run beside it, and what it wrote would never be reconciled.
import { expect, it } from "vitest";
import { type StartExportDeps, startExport } from "../../lambdas/export/app/start-export";
import type { ExportConfig } from "../../lambdas/export/domain/export-config";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { decideDone } from "../../lambdas/export/domain/transitions";
import type { CompleteExportInput } from "../../lambdas/export/ports";
import { FakeWorkflowStarter } from "../support/api-fakes";

const MACHINE = "arn:aws:states:us-east-1:0:stateMachine:export";
const NOW = "2026-01-01T00:00:00.000Z";

/** Starts the execution, then loses the answer (as a timed-out StartExecution request). */
class LostAnswerStarter extends FakeWorkflowStarter {
  lose = true;
  override async start(machine: string, name: string, input: unknown): Promise<string> {
    const arn = await super.start(machine, name, input);
    if (this.lose) throw new Error("socket hang up");
    return arn;
  }
}

function world(workflows: FakeWorkflowStarter) {
  const config: ExportConfig = {
    repository: "repo",
    branch: "main",
    exportPath: "s3://out/exp",
    lastKeysInPrefixRegexp: [],
    isContinuous: true,
    updatedAt: NOW,
    configVersion: 1,
  };
  let state: ExportState | undefined = {
    state: "exported-successfully",
    commitId: "c1",
    lastExportedCommit: "c1",
    exportedConfigVersion: 1,
    configVersion: 1,
    mode: "full-copy",
    exportId: "repo-main-c1-1",
    updatedAt: NOW,
    repaired: false,
    attempt: 1,
    version: 3,
  };
  const whileRunning = (id: string) => state?.state === "in-progress" && state.exportId === id;
  const deps = {
    exports: {
      getConfig: async () => config,
      getState: async () => state,
      compareAndSetState: async (_r: string, _b: string, v: number | undefined, n: ExportState) => {
        if (state?.version !== v) return false;
        state = n;
        return true;
      },
      recordExecution: async (_r: string, _b: string, id: string, arn: string) => {
        if (!whileRunning(id) || !state) return false;
        state = { ...state, executionArn: arn, version: state.version + 1 };
        return true;
      },
      requestFollowUp: async (_r: string, _b: string, id: string, head: string) => {
        if (!whileRunning(id) || !state) return false;
        state = { ...state, pendingHead: head, version: state.version + 1 };
        return true;
      },
      markStartFailed: async (_r: string, _b: string, id: string, reason: string) => {
        if (!whileRunning(id) || !state) return false;
        const { pendingHead: _p, executionArn: _a, ...rest } = state;
        state = {
          ...rest,
          state: "export-failed",
          errorMessage: `could not start the export workflow: ${reason}`,
          version: state.version + 1,
        };
        return true;
      },
      completeExport: async (i: CompleteExportInput) => {
        const d = decideDone(state, { ...i, now: NOW });
        if (d.kind === "refused") return { applied: false, reason: d.reason };
        state = d.next;
        return { applied: true, state: d.next, followUp: d.followUp };
      },
    },
    lakefs: {
      getRepository: async () => ({ id: "repo", storage_namespace: "s3://ns/repo" }),
      getBranch: async () => ({ id: "main", commit_id: "c2" }),
    },
    workflows,
    exportStateMachineArn: MACHINE,
    now: () => new Date(NOW),
  } as unknown as StartExportDeps;
  return { deps, state: () => state };
}

it("an execution started behind a failed StartExecution answer is the running export", async () => {
  const workflows = new LostAnswerStarter();
  const w = world(workflows);
  const result = await startExport(w.deps, { repository: "repo", branch: "main", trigger: "run" });

  // The execution exists: Step Functions runs it and it will write c2 into the export path.
  expect(workflows.started).toHaveLength(1);
  const { executionArn, name } = workflows.started[0]!;
  expect(result).toMatchObject({ status: "started", exportId: name, executionArn });
  // The branch follows it: in progress with its execution, not export-failed.
  expect(w.state()).toMatchObject({ state: "in-progress", exportId: name, executionArn });
  // So no repair can start a second execution beside it ...
  const repair = await startExport(w.deps, {
    repository: "repo",
    branch: "main",
    trigger: "repair",
  });
  expect(repair).toEqual({ status: "refused-running", runningExportId: name });
  expect(workflows.started).toHaveLength(1);
  // ... and its end is recorded on the branch.
  const ended = await w.deps.exports.completeExport(
    {
      repository: "repo",
      branch: "main",
      exportId: name,
      commitId: "c2",
      outcome: { status: "succeeded" },
    },
    NOW,
  );
  expect(ended.applied).toBe(true);
  expect(w.state()).toMatchObject({ state: "exported-successfully", lastExportedCommit: "c2" });
});

it("a StartExecution that failed without starting anything still fails the branch", async () => {
  const workflows = new FakeWorkflowStarter();
  workflows.failWith = "AccessDeniedException: not authorized to perform states:StartExecution";
  const w = world(workflows);
  const result = await startExport(w.deps, { repository: "repo", branch: "main", trigger: "run" });
  expect(result).toMatchObject({ status: "start-failed" });
  expect(w.state()).toMatchObject({
    state: "export-failed",
    errorMessage: expect.stringMatching(/could not start the export workflow: AccessDenied/),
  });
});

it("when Step Functions cannot even say whether it started, the branch stays in progress", async () => {
  const workflows = new FakeWorkflowStarter();
  workflows.failWith = "ThrottlingException: Rate exceeded";
  workflows.describe = async () => {
    throw new Error("ThrottlingException: Rate exceeded");
  };
  const w = world(workflows);
  const result = await startExport(w.deps, { repository: "repo", branch: "main", trigger: "run" });
  expect(result).toMatchObject({ status: "start-failed" });
  // Not export-failed: a repair could otherwise run beside an execution that did start. The
  // stuck-export check (or a re-driven start) settles it by the execution's name.
  expect(w.state()).toMatchObject({ state: "in-progress", commitId: "c2" });
  expect(w.state()?.executionArn).toBeUndefined();
});
