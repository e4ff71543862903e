// An export execution that ended (failed, aborted, timed out) can be redriven from the Step
// Functions console: it continues where it stopped, with its old input, and writes its old
// commit's objects, markers and status into the export path, possibly long after the branch
// moved on (a repair, newer exports). Its end event then names an export that is not the
// branch's: recording it used to be refused and nothing else happened, so the branch kept
// saying exported-successfully while its export path held the older commit's writes. A run
// that stopped after the branch's latest export started is such a re-run: the branch must not
// promise success, and the next repair must bring back what the re-run touched.
import { expect, it } from "vitest";
import { handleExecutionStatusChange } from "../../lambdas/export/app/finish-export";
import { type StartExportDeps, startExport } from "../../lambdas/export/app/start-export";
import type { ExportConfig } from "../../lambdas/export/domain/export-config";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { decideDone } from "../../lambdas/export/domain/transitions";
import type { ExportWorkflowInput } from "../../lambdas/export/domain/workflow-input";
import type { CompleteExportInput } from "../../lambdas/export/ports";
import { FakeWorkflowStarter } from "../support/api-fakes";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const MACHINE = "arn:aws:states:us-east-1:0:stateMachine:export";
const arnOf = (id: string) => `${MACHINE.replace(":stateMachine:", ":execution:")}:${id}`;

/** The in-memory export store with the store's conditions. */
function world(initial: ExportState, configChanges: Partial<ExportConfig> = {}) {
  const config: ExportConfig = {
    repository: "repo",
    branch: "main",
    exportPath: "s3://out/exp",
    lastKeysInPrefixRegexp: [],
    isContinuous: true,
    updatedAt: at(-600).toISOString(),
    configVersion: 1,
    ...configChanges,
  };
  const w = { state: initial, clock: at(0), workflows: new FakeWorkflowStarter() };
  const running = (id: string) => w.state.state === "in-progress" && w.state.exportId === id;
  const exports = {
    getConfig: async () => config,
    getState: async () => w.state,
    compareAndSetState: async (_r: string, _b: string, v: number | undefined, n: ExportState) => {
      if (w.state.version !== v) return false;
      if (n.state === "in-progress" && w.state.state === "in-progress") return false;
      w.state = n;
      return true;
    },
    updateRunningState: async (_r: string, _b: string, v: number, n: ExportState) => {
      if (w.state.version !== v || !running(n.exportId)) return false;
      w.state = n;
      return true;
    },
    requestFollowUp: async () => false,
    recordExecution: async (_r: string, _b: string, id: string, arn: string) => {
      if (!running(id)) return false;
      w.state = { ...w.state, executionArn: arn, version: w.state.version + 1 };
      return true;
    },
    markStartFailed: async () => true,
    completeExport: async (i: CompleteExportInput, now: string) => {
      const d = decideDone(w.state, { ...i, now });
      if (d.kind === "refused") return { applied: false as const, reason: d.reason };
      w.state = d.next;
      return { applied: true as const, state: d.next, followUp: d.followUp };
    },
  };
  const deps = {
    exports,
    lakefs: {
      getRepository: async () => ({ id: "repo", storage_namespace: "s3://ns/repo" }),
      getBranch: async () => ({ id: "main", commit_id: "c3" }),
    },
    workflows: w.workflows,
    exportStateMachineArn: MACHINE,
    now: () => w.clock,
  } as unknown as StartExportDeps;
  return { w, deps };
}

/** e1 exported c1 from c0 (incremental) and was aborted at minute 0; the branch moved on. */
const OLD_INPUT = {
  repository: "repo",
  branch: "main",
  exportId: "repo-main-c1-2-old",
  fromCommit: "c0",
  commitId: "c1",
  exportPath: "s3://out/exp",
  lastKeysInPrefixRegexp: [],
  repaired: false,
  mode: "incremental",
  reconcileExports: [],
  configVersion: 1,
};

const ended = (status: string, stopDate: Date) => ({
  detail: {
    executionArn: arnOf(OLD_INPUT.exportId),
    name: OLD_INPUT.exportId,
    status,
    startDate: at(-5).getTime(),
    stopDate: stopDate.getTime(),
    input: JSON.stringify(OLD_INPUT),
    error: null,
    cause: null,
  },
});

/** After e1's failure, a repair r1 exported c2 (minute 20 to 25): the branch is repaired. */
const repaired: ExportState = {
  state: "export-repaired",
  commitId: "c2",
  lastExportedCommit: "c2",
  exportedConfigVersion: 1,
  configVersion: 1,
  mode: "incremental",
  exportId: "repo-main-c2-3-rep",
  startedAt: at(20).toISOString(),
  updatedAt: at(25).toISOString(),
  repaired: true,
  attempt: 3,
  version: 12,
};

it("an export redriven after the branch moved on leaves the branch failed, to be repaired", async () => {
  const { w, deps } = world(repaired);
  // An hour later someone redrives e1 in the console; it copies c1's objects and succeeds.
  w.clock = at(70);
  const out = await handleExecutionStatusChange(deps, ended("SUCCEEDED", at(70)));
  expect(out).toMatchObject({ action: "recorded" });
  // The branch no longer promises c2: its export path holds what e1 wrote over it.
  expect(w.state).toMatchObject({
    state: "export-failed",
    commitId: "c2",
    lastExportedCommit: "c2",
    errorMessage: expect.stringMatching(/repo-main-c1-2-old .*ran again/),
  });
  // A repeated delivery of that end changes nothing more.
  const recorded = w.state;
  await handleExecutionStatusChange(deps, ended("SUCCEEDED", at(70)));
  expect(w.state).toEqual(recorded);
  // The repair is incremental from c2 and brings back every path e1 touched.
  const repair = await startExport(deps, { repository: "repo", branch: "main", trigger: "repair" });
  expect(repair).toMatchObject({ status: "started", fromCommit: "c2", commitId: "c3" });
  const input = w.workflows.started[0]!.input as ExportWorkflowInput;
  expect(input).toMatchObject({ mode: "incremental", reconcileExports: [OLD_INPUT.exportId] });
});

it("an export redriven while another runs makes that one's success a failure", async () => {
  const running: ExportState = {
    ...repaired,
    state: "in-progress",
    commitId: "c3",
    lastExportedCommit: "c2",
    exportId: "repo-main-c3-4-now",
    executionArn: arnOf("repo-main-c3-4-now"),
    startedAt: at(60).toISOString(),
    updatedAt: at(60).toISOString(),
    repaired: false,
    attempt: 4,
    version: 14,
  };
  const { w, deps } = world(running);
  w.clock = at(70);
  await handleExecutionStatusChange(deps, ended("SUCCEEDED", at(70)));
  expect(w.state).toMatchObject({ state: "in-progress", exportId: "repo-main-c3-4-now" });
  // The running export ends well; e1's writes may have landed over it.
  w.clock = at(75);
  await handleExecutionStatusChange(deps, {
    detail: {
      executionArn: arnOf("repo-main-c3-4-now"),
      name: "repo-main-c3-4-now",
      status: "SUCCEEDED",
      stopDate: at(75).getTime(),
      input: JSON.stringify({
        ...OLD_INPUT,
        exportId: "repo-main-c3-4-now",
        fromCommit: "c2",
        commitId: "c3",
      }),
    },
  });
  expect(w.state).toMatchObject({
    state: "export-failed",
    errorMessage: expect.stringMatching(/repo-main-c1-2-old .*ran again/),
  });
  const repair = await startExport(deps, { repository: "repo", branch: "main", trigger: "repair" });
  expect(repair).toMatchObject({ status: "started", fromCommit: "c2", commitId: "c3" });
  const input = w.workflows.started[0]!.input as ExportWorkflowInput;
  expect(input.reconcileExports).toEqual([OLD_INPUT.exportId, "repo-main-c3-4-now"]);
});

it("an export of another configuration redriven is reconciled by listing the export path", async () => {
  // e1 ran under version 1, whose expressions selected a/ (its markers step wrote
  // a/_lakefs_success); since then the expressions select b/ only (version 2), exported by r1.
  const { w, deps } = world(
    { ...repaired, configVersion: 2, exportedConfigVersion: 2 },
    { lastKeysInPrefixRegexp: ["^b/$"], configVersion: 2 },
  );
  w.clock = at(70);
  await handleExecutionStatusChange(deps, {
    detail: {
      ...ended("SUCCEEDED", at(70)).detail,
      input: JSON.stringify({ ...OLD_INPUT, lastKeysInPrefixRegexp: ["^a/$"] }),
    },
  });
  expect(w.state).toMatchObject({ state: "export-failed", exportedConfigVersion: 2 });
  // An incremental repair would bring e1's paths back but look at markers of b/ only: e1's
  // a/_lakefs_success would stay under a success line. Listing the export path deletes it.
  const repair = await startExport(deps, { repository: "repo", branch: "main", trigger: "repair" });
  expect(repair).toMatchObject({ status: "started", mode: "full-compare" });
  const input = w.workflows.started[0]!.input as ExportWorkflowInput;
  expect(input).toMatchObject({ mode: "full-compare", reconcileExports: [], configVersion: 2 });
});

it("a late or repeated delivery of an old end changes nothing", async () => {
  const { w, deps } = world(repaired);
  w.clock = at(70);
  // e1's own end (minute 0), delivered again long after: before the repair started.
  await handleExecutionStatusChange(deps, ended("ABORTED", at(0)));
  expect(w.state).toEqual(repaired);
});

/** The branch's own export e1 (OLD_INPUT) of c1 failed at minute 0, its end recorded. */
function failedOldExport(): ExportState {
  return {
    ...repaired,
    state: "export-failed",
    commitId: "c1",
    lastExportedCommit: "c0",
    exportId: OLD_INPUT.exportId,
    executionArn: arnOf(OLD_INPUT.exportId),
    errorMessage: "1 errors",
    startedAt: at(-5).toISOString(),
    updatedAt: at(0).toISOString(),
    repaired: false,
  };
}

it("the branch's own failed export redriven and aborted again makes the repair wait for its functions", async () => {
  // e1 failed at minute 0 (its end recorded then): nothing of it can still write.
  const failed: ExportState = {
    ...failedOldExport(),
    unreconciled: [
      {
        exportId: OLD_INPUT.exportId,
        startedAt: at(-5).toISOString(),
        full: false,
        configVersion: 1,
      },
    ],
  };
  const { w, deps } = world(failed);
  // A repeated delivery of that end changes nothing.
  w.clock = at(2);
  await handleExecutionStatusChange(deps, ended("FAILED", at(0)));
  expect(w.state).toEqual(failed);
  // Someone redrives e1 in the console and aborts it at minute 30: its copy functions may
  // still write c1's objects until their timeout.
  w.clock = at(31);
  await handleExecutionStatusChange(deps, ended("ABORTED", at(30)));
  const repair = await startExport(deps, { repository: "repo", branch: "main", trigger: "repair" });
  expect(repair).toMatchObject({ status: "refused-settling", until: at(46).toISOString() });
  expect(w.workflows.started).toHaveLength(0);
  // Once they have stopped, the repair reconciles e1's paths.
  w.clock = at(47);
  const later = await startExport(deps, { repository: "repo", branch: "main", trigger: "repair" });
  expect(later).toMatchObject({ status: "started", mode: "incremental" });
});

it("a repair waits while the branch's failed export runs again", async () => {
  const failed = failedOldExport();
  const { w, deps } = world(failed);
  // Someone redrives e1 in the console: it writes c1's objects until it stops. A repair now
  // would race it (c1's copies landing after the repair's, under its success line).
  w.workflows.status.set(arnOf(OLD_INPUT.exportId), "RUNNING");
  w.clock = at(30);
  const repair = await startExport(deps, { repository: "repo", branch: "main", trigger: "repair" });
  expect(repair).toEqual({ status: "refused-running", runningExportId: OLD_INPUT.exportId });
  expect(w.workflows.started).toHaveLength(0);
  expect(w.state).toEqual(failed);
  // Once it has stopped, the repair runs.
  w.workflows.status.set(arnOf(OLD_INPUT.exportId), "FAILED");
  const later = await startExport(deps, { repository: "repo", branch: "main", trigger: "repair" });
  expect(later).toMatchObject({ status: "started", commitId: "c3" });
});
