// The stuck-export check records an aborted, timed-out or failed execution whose end event was
// lost. Its functions may still write to the export path until their timeout, so the branch must
// say until when (settlesAt), as the execution-ended handler's record does: a repair before
// then could be overwritten by an older commit's copy. The check's grace after an ended
// execution (STUCK_EXPORT_GRACE_MINUTES, down to 0) must not be what keeps the repair waiting.
import { expect, it } from "vitest";
import { checkStuckExports } from "../../lambdas/export/app/stuck-exports";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { exportStillWriting } from "../../lambdas/export/domain/path-hold";
import { decideDone, decideStart } from "../../lambdas/export/domain/transitions";
import { stuckPolicyFromEnv } from "../../lambdas/export/handlers/stuck-check";
import type { CompleteExportInput } from "../../lambdas/export/ports";

const MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:Lakeport-Export";
const STOP = Date.parse("2026-11-23T10:00:00.000Z");
const SETTLED = new Date(STOP + 16 * 60_000).toISOString();

const running: ExportState = {
  state: "in-progress",
  commitId: "c2",
  exportId: "exp-c2-2",
  executionArn: "arn:aws:states:us-east-1:123456789012:execution:Lakeport-Export:exp-c2-2",
  updatedAt: "2026-11-23T09:30:00.000Z",
  startedAt: "2026-11-23T09:30:00.000Z",
  repaired: false,
  attempt: 2,
  version: 5,
  mode: "incremental",
  configVersion: 1,
  lastExportedCommit: "c1",
  exportedConfigVersion: 1,
};

/** The branch's export state in `w`, as the stuck check reads and completes it. */
function branchStates(w: { state: ExportState }) {
  return {
    async *listStates() {
      yield [{ repository: "repo", branch: "main", state: w.state }];
    },
    getState: async () => w.state,
    completeExport: async (i: CompleteExportInput, at: string) => {
      const d = decideDone(w.state, { ...i, now: at });
      if (d.kind === "refused") return { applied: false as const, reason: d.reason };
      w.state = d.next;
      return { applied: true as const, state: d.next, followUp: d.followUp };
    },
  };
}

async function checkedAt(status: "ABORTED" | "TIMED_OUT", now: Date) {
  const w = { state: running };
  await checkStuckExports({
    exports: branchStates(w),
    executions: {
      lookup: async () => ({
        status,
        startDate: new Date(Date.parse(running.startedAt!)),
        stopDate: new Date(STOP),
      }),
    },
    exportStateMachineArn: MACHINE,
    now: () => now,
    // The setting the app test of the check uses.
    policy: stuckPolicyFromEnv({ STUCK_EXPORT_GRACE_MINUTES: "0" }),
  });
  return w.state;
}

it("an aborted or timed-out execution recorded by the stuck check keeps a repair waiting until its functions have stopped", async () => {
  for (const status of ["ABORTED", "TIMED_OUT"] as const) {
    // Two minutes after the abort (the watchdog's event lost), the check records it.
    const now = new Date(STOP + 2 * 60_000);
    const failed = await checkedAt(status, now);
    expect(failed).toMatchObject({ state: "export-failed", settlesAt: SETTLED });
    const repair = decideStart(failed, {
      commitId: "c3",
      trigger: "repair",
      isContinuous: true,
      configVersion: 1,
      now: now.toISOString(),
      exportIdFor: (n) => `exp-c3-${n}`,
    });
    expect(repair).toEqual({ kind: "refused-settling", until: SETTLED });
    // Its paths stay held too (no move, no delete of the configuration).
    expect(exportStillWriting(failed, now.toISOString())).toMatch(/may still write until/);
  }
});

it("a failed execution recorded by the check settles unless every copy batch reported", async () => {
  const recorded = async (error: string) => {
    const w = { state: running };
    await checkStuckExports({
      exports: branchStates(w),
      executions: { lookup: async () => ({ status: "FAILED", stopDate: new Date(STOP), error }) },
      exportStateMachineArn: MACHINE,
      now: () => new Date(STOP + 2 * 60_000),
      policy: stuckPolicyFromEnv({ STUCK_EXPORT_GRACE_MINUTES: "0" }),
    });
    expect(w.state.state).toBe("export-failed");
    return w.state.settlesAt;
  };
  // Its status step found every batch's shards reported: nothing it started still runs.
  expect(await recorded("ExportFailed")).toBeUndefined();
  // A batch did not report (its invocation may still copy), or the Finish step itself failed.
  expect(await recorded("ExportFailedCopiesMayRun")).toBe(SETTLED);
  expect(await recorded("Runtime.ExitError")).toBe(SETTLED);
});
