// Re-driving a crashed start (in-progress state without an execution) after the configuration
// changed: the state's mode (incremental from the last export) was decided for the old
// configuration. Without an execution, the start is re-decided for the new configuration (the
// whole commit to the new export path, recorded as the new version); if the crashed start did
// reach Step Functions, its execution finishes as decided and the head is queued behind it.
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
const MACHINE = "arn:aws:states:us-east-1:0:stateMachine:export";

/** c1 exported to a/ (version 1); c2's start crashed; then the path moved to b/ (version 2). */
function crashedStartAfterPathChange() {
  const configA: ExportConfig = {
    repository: "repo",
    branch: "main",
    exportPath: "s3://out/a",
    lastKeysInPrefixRegexp: [],
    isContinuous: true,
    updatedAt: iso(T0),
    configVersion: 1,
  };
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
  // Commit c2: the trigger's compare-and-set succeeds, then the Lambda crashes (no
  // executionArn recorded).
  const d = decideStart(exported, {
    commitId: "c2",
    trigger: "event",
    isContinuous: true,
    configVersion: 1,
    now: iso(T0 + 1000),
    exportIdFor: (n) => exportIdFor("repo", "main", "c2", n),
  });
  if (d.kind !== "start") throw new Error(d.kind);
  expect(d.next.mode).toBe("incremental");
  // A minute later the export path moves to b/ (accepted while in progress).
  const version = nextConfigVersion(configA, d.next, {
    exportPath: "s3://out/b",
    lastKeysInPrefixRegexp: [],
  });
  expect(version).toBe(2);
  const config: ExportConfig = { ...configA, exportPath: "s3://out/b", configVersion: version };
  const world = {
    state: d.next as ExportState,
    recorded: [] as string[],
    followUps: [] as string[],
    workflows: new FakeWorkflowStarter(),
  };
  const deps = {
    exports: {
      getConfig: async () => config,
      getState: async () => world.state,
      // The store's conditions: a start never overwrites in-progress; updateRunningState
      // rewrites the running export itself.
      compareAndSetState: async (_r: string, _b: string, v: number | undefined, n: ExportState) => {
        if (world.state.version !== v) return false;
        if (n.state === "in-progress" && world.state.state === "in-progress") return false;
        world.state = n;
        return true;
      },
      updateRunningState: async (_r: string, _b: string, v: number, n: ExportState) => {
        if (world.state.version !== v || world.state.state !== "in-progress") return false;
        if (world.state.exportId !== n.exportId) return false;
        world.state = n;
        return true;
      },
      recordExecution: async (_r: string, _b: string, _id: string, arn: string) => {
        world.recorded.push(arn);
        world.state = { ...world.state, executionArn: arn };
        return true;
      },
      requestFollowUp: async (_r: string, _b: string, _id: string, head: string) => {
        world.followUps.push(head);
        return true;
      },
      markStartFailed: async () => true,
    },
    lakefs: {
      getRepository: async () => ({ id: "repo", storage_namespace: "s3://ns/repo" }),
      getBranch: async () => ({ id: "main", commit_id: "c3" }),
    },
    workflows: world.workflows,
    exportStateMachineArn: MACHINE,
    // Ten minutes after the crash a commit event re-drives the crashed start.
    now: () => new Date(T0 + 10 * 60_000),
  } as unknown as StartExportDeps;
  return { world, deps, exportId: d.next.exportId };
}

it("re-decides a crashed start for the new configuration: the whole commit to the new path", async () => {
  const { world, deps } = crashedStartAfterPathChange();
  const result = await startExport(deps, { repository: "repo", branch: "main", trigger: "event" });
  expect(result.status).toBe("started");
  const input = world.workflows.started[0]!.input as ExportWorkflowInput;
  // A full export of c2 into b/ (extra keys there deleted), as version 2. (It used to be an
  // incremental c1 -> c2, diff only, into b/, which held nothing.)
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
  expect(world.state).toMatchObject({ mode: "full-copy", configVersion: 2 });

  // On success the branch records version 2: the next start for the same head is up to date,
  // not another full copy.
  const done = decideDone(world.state, {
    exportId: input.exportId,
    commitId: input.commitId,
    outcome: { status: "succeeded" },
    now: iso(T0 + 11 * 60_000),
  });
  if (done.kind !== "done") throw new Error(done.kind);
  expect(done.next).toMatchObject({ state: "exported-successfully", exportedConfigVersion: 2 });
  const again = decideStart(done.next, {
    commitId: "c2",
    trigger: "event",
    isContinuous: true,
    configVersion: 2,
    now: iso(T0 + 12 * 60_000),
    exportIdFor: (n) => exportIdFor("repo", "main", "c2", n),
  });
  expect(again.kind).toBe("up-to-date");
});

it("lets a crashed start that did reach Step Functions finish as decided, and queues the head", async () => {
  const { world, deps, exportId } = crashedStartAfterPathChange();
  // StartExecution succeeded before the crash: the execution exists (incremental to a/, v1).
  const arn = `${MACHINE.replace(":stateMachine:", ":execution:")}:${exportId}`;
  world.workflows.status.set(arn, "RUNNING");
  const result = await startExport(deps, { repository: "repo", branch: "main", trigger: "event" });
  expect(result).toMatchObject({ status: "queued", runningExportId: exportId, pendingHead: "c3" });
  expect(world.workflows.started).toHaveLength(0);
  expect(world.recorded).toEqual([arn]);
  // The branch still says what that execution exports: version 1, so the next start (of c3,
  // queued) exports to b/ in full.
  expect(world.state).toMatchObject({ mode: "incremental", configVersion: 1, executionArn: arn });
});
