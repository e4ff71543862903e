// A copy batch whose Lambda call failed on Step Functions' side (a service error, a dropped
// connection: retried, then failed for good) may leave its invocation copying the export's
// commit for up to the function's timeout. The export ends failed with that shard unreported,
// and a repair made meanwhile could be overwritten by the older commit's copies landing after
// it. The status step says so, the Fail state names it, and the branch records until when the
// copies may run: the repair waits, as after an aborted export.
import { expect, it } from "vitest";
import { outcomeOfEndedExecution, runFinishStep } from "../../lambdas/export/app/finish-export";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { decideDone, decideStart } from "../../lambdas/export/domain/transitions";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import type { ExportWorkflowState } from "../../lambdas/export/domain/workflow-state";
import { statusDepsOf } from "../support/export-steps";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-c1-1";
const keys = exportWorkKeys(exportId);
const input = {
  repository: "repo",
  branch: "main",
  exportId,
  fromCommit: null,
  commitId: "c1",
  exportPath: "s3://out/exp",
  exportStatusPath: "s3://out/status",
  lastKeysInPrefixRegexp: [],
  repaired: false,
  mode: "full-copy" as const,
};
const counts = { copies: 2, deletes: 0, copyBytes: 2, shards: 2 };
const plan = { done: true, cursor: { afterPath: "b", counts }, counts };
const STOP = Date.parse("2026-01-01T01:00:05Z");
const SETTLED = new Date(STOP + 16 * 60_000).toISOString();

const running: ExportState = {
  state: "in-progress",
  commitId: "c1",
  exportId,
  updatedAt: "2026-01-01T00:59:00.000Z",
  startedAt: "2026-01-01T00:59:00.000Z",
  repaired: false,
  attempt: 1,
  version: 3,
  mode: "full-copy",
  configVersion: 1,
};

/** Status, Finish and the execution's end of an export whose shards in `reported` reported. */
async function failedExportEnd(reported: number[], failedOperation = false) {
  const store = new MemoryExportStore();
  for (const [i, path] of ["a", "b"].entries()) {
    await store.put(
      "work",
      keys.taskShard(i),
      `${JSON.stringify({ op: "copy", path, sourceAddress: `s3://ns/data/${path}`, destKey: `exp/${path}`, etag: "e", size: 1 })}\n`,
    );
  }
  for (const i of reported) {
    const failed = failedOperation ? [{ path: "a", code: "AccessDenied", message: "no" }] : [];
    await store.put(
      "work",
      keys.shardResult(i),
      JSON.stringify({ version: 1, shard: i, copied: 1, deleted: 0, copiedBytes: 1, failed }),
    );
  }
  const state: ExportWorkflowState = { ...input, plan };
  state.status = await runStatusStep(
    {
      ...statusDepsOf(store, () => new Date("2026-01-01T01:00:00Z")),
    },
    state,
  );
  const finish = runFinishStep(state);
  if (finish.outcome !== "failed") throw new Error("the export should have failed");
  // The ExportFailed state: its error from the Finish step, its cause the reason.
  const outcome = outcomeOfEndedExecution({
    status: "FAILED",
    error: finish.error,
    cause: finish.errorMessage,
    stopDate: STOP,
  });
  const done = decideDone(running, {
    exportId,
    commitId: "c1",
    outcome,
    now: new Date(STOP + 1000).toISOString(),
  });
  if (done.kind !== "done") throw new Error(done.kind);
  return { status: state.status, finish, failed: done.next };
}

const repairAt = (ms: number) => ({
  commitId: "c1",
  trigger: "repair" as const,
  isContinuous: true,
  configVersion: 1,
  now: new Date(ms).toISOString(),
  exportIdFor: (n: number) => `repo-main-c1-${n}`,
});

it("a failed export with an unreported copy batch makes its repair wait for the copy function's timeout", async () => {
  const { status, failed } = await failedExportEnd([0]);
  expect(status).toMatchObject({ status: "export-failed", copiesMayRun: true });
  expect(failed).toMatchObject({ state: "export-failed", settlesAt: SETTLED });
  expect(failed.errorMessage).toContain("the copy batch of shard 1 did not complete");
  expect(decideStart(failed, repairAt(STOP + 16 * 60_000 - 1))).toEqual({
    kind: "refused-settling",
    until: SETTLED,
  });
  expect(decideStart(failed, repairAt(STOP + 16 * 60_000 + 1)).kind).toBe("start");
});

it("a failed export whose every batch reported (its invocations ended) is repaired at once", async () => {
  const { status, finish, failed } = await failedExportEnd([0, 1], true);
  expect(status).toMatchObject({ status: "export-failed" });
  expect(status.copiesMayRun).toBeUndefined();
  expect(finish.error).toBe("ExportFailed");
  expect(failed.settlesAt).toBeUndefined();
  expect(decideStart(failed, repairAt(STOP + 1000)).kind).toBe("start");
});

it("a failure caught before any status, after the copy map was planned, waits too", () => {
  const caught = { Error: "States.Runtime", Cause: "status step failed" };
  const afterMap = runFinishStep({ ...input, plan, error: caught });
  expect(afterMap).toMatchObject({ outcome: "failed", error: "ExportFailedCopiesMayRun" });
  // Even when the markers step, after the map, found every shard reported: only the status
  // step lists the writers, and an earlier attempt of a batch that reported may still copy.
  const markers = { markers: 0, withheld: 0, failed: 0, errorSamples: [] };
  expect(runFinishStep({ ...input, plan, markers, error: caught }).error).toBe(
    "ExportFailedCopiesMayRun",
  );
  // A plan that failed (or planned no shard) started no copy.
  const noCopy = runFinishStep({ ...input, error: caught });
  expect(noCopy).toMatchObject({ outcome: "failed", error: "ExportFailed" });
  const noShard = { ...plan, counts: { ...counts, shards: 0 } };
  expect(runFinishStep({ ...input, plan: noShard, error: caught }).error).toBe("ExportFailed");
});
