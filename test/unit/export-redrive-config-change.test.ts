// Re-driving a crashed start (in-progress state without an execution) after the configuration
// changed: the state's mode (incremental from the last export) was decided for the old
// configuration, so the re-driven export must copy the whole commit to the new export path,
// or the path would be left incomplete under a success status line.
import { expect, it } from "vitest";
import { type StartExportDeps, startExport } from "../../lambdas/export/app/start-export";
import { type ExportConfig, nextConfigVersion } from "../../lambdas/export/domain/export-config";
import { exportIdFor } from "../../lambdas/export/domain/export-id";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { decideDone, decideStart } from "../../lambdas/export/domain/transitions";
import type { ExportWorkflowInput } from "../../lambdas/export/domain/workflow-input";
import { FakeWorkflowStarter } from "../support/api-fakes";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

it("a re-driven start after an export path change does not export incrementally into the new path", async () => {
  const configA: ExportConfig = {
    repository: "repo",
    branch: "main",
    exportPath: "s3://out/a",
    lastKeysInPrefixRegexp: [],
    isContinuous: true,
    updatedAt: iso(T0),
    configVersion: 1,
  };
  // c1 was exported to a/ (version 1).
  const exported: ExportState = {
    state: "exported-successfully",
    commitId: "c1",
    lastExportedCommit: "c1",
    exportedConfigVersion: 1,
    configVersion: 1,
    mode: "full-copy",
    exportId: exportIdFor("repo", "main", "c1", 1),
    updatedAt: iso(T0),
    repaired: false,
    attempt: 1,
    version: 3,
  };
  // 1. Commit c2: the trigger's compare-and-set succeeds, then the Lambda crashes before
  //    StartExecution (no execution, no executionArn).
  const d = decideStart(exported, {
    commitId: "c2",
    trigger: "event",
    isContinuous: true,
    configVersion: 1,
    now: iso(T0 + 1000),
    exportIdFor: (n) => exportIdFor("repo", "main", "c2", n),
  });
  if (d.kind !== "start") throw new Error(d.kind);
  let state: ExportState | undefined = d.next;
  expect(state.mode).toBe("incremental");

  // 2. A minute later the user moves the export path to b/: version 2 (the PUT is accepted
  //    while in-progress; its own start is queued).
  const version = nextConfigVersion(configA, state, {
    exportPath: "s3://out/b",
    lastKeysInPrefixRegexp: [],
  });
  expect(version).toBe(2);
  const config: ExportConfig = { ...configA, exportPath: "s3://out/b", configVersion: version };

  // 3. Ten minutes after the crash a commit event re-drives the crashed start.
  const workflows = new FakeWorkflowStarter();
  const deps = {
    exports: {
      getConfig: async () => config,
      getState: async () => state,
      compareAndSetState: async (_r: string, _b: string, v: number | undefined, n: ExportState) => {
        if (state?.version !== v) return false;
        state = n;
        return true;
      },
      recordExecution: async () => true,
      requestFollowUp: async () => true,
      markStartFailed: async () => true,
    },
    lakefs: {
      getRepository: async () => ({ id: "repo", storage_namespace: "s3://ns/repo" }),
      getBranch: async () => ({ id: "main", commit_id: "c3" }),
    },
    workflows,
    exportStateMachineArn: "arn:aws:states:us-east-1:0:stateMachine:export",
    now: () => new Date(T0 + 10 * 60_000),
  } as unknown as StartExportDeps;
  const result = await startExport(deps, { repository: "repo", branch: "main", trigger: "event" });
  expect(result.status).toBe("started");
  const input = workflows.started[0]!.input as ExportWorkflowInput;

  // What the branch records when the re-driven execution succeeds. (Its input used to be an
  // incremental c1 -> c2, diff only, into b/, which held nothing.)
  const done = decideDone(state, {
    exportId: input.exportId,
    commitId: input.commitId,
    outcome: { status: "succeeded" },
    now: iso(T0 + 11 * 60_000),
  });
  if (done.kind !== "done") throw new Error(done.kind);

  // A full export of c2 into the new path b/ (extra keys there deleted), as the new version.
  expect(done.next.state).toBe("exported-successfully");
  expect({
    exportPath: input.exportPath,
    mode: input.mode,
    configVersion: input.configVersion,
    reconcileExports: input.reconcileExports,
  }).toEqual({
    exportPath: "s3://out/b",
    mode: "full-copy",
    configVersion: 2,
    reconcileExports: [],
  });
});
