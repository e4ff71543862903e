// An aborted or timed-out export execution stops its state machine, not the Lambda invocations
// it started: the branch records until when they may still write to the export path, and a
// repair waits until then.
import { describe, expect, it } from "vitest";
import { startedLine } from "../../cli/describe";
import { startResultResponse } from "../../lambdas/api/handlers/export";
import { outcomeOfEndedExecution } from "../../lambdas/export/app/finish-export";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { EXPORT_WORKER_TIMEOUT_MINUTES } from "../../lambdas/export/domain/settling";
import { decideDone, decideStart, type StartInput } from "../../lambdas/export/domain/transitions";
import { ConflictError } from "../../lambdas/shared/errors";

const STOP = Date.parse("2026-11-23T10:00:00.000Z");
const SETTLED = new Date(STOP + 16 * 60_000).toISOString();

const running: ExportState = {
  state: "in-progress",
  commitId: "c2",
  exportId: "exp-c2-2",
  updatedAt: "2026-11-23T09:59:00.000Z",
  startedAt: "2026-11-23T09:59:00.000Z",
  repaired: false,
  attempt: 2,
  version: 5,
  mode: "incremental",
  configVersion: 1,
  lastExportedCommit: "c1",
  exportedConfigVersion: 1,
};

const repairAt = (iso: string, full = false): StartInput => ({
  commitId: "c3",
  trigger: "repair",
  isContinuous: true,
  configVersion: 1,
  now: iso,
  exportIdFor: (n) => `exp-c3-${n}`,
  ...(full ? { full: true } : {}),
});

describe("an export execution that ended while its functions may still run", () => {
  it("settles the functions' timeout and a minute after an abort, a timeout or a failure not known settled", () => {
    expect(EXPORT_WORKER_TIMEOUT_MINUTES).toBe(15);
    for (const status of ["ABORTED", "TIMED_OUT"]) {
      expect(outcomeOfEndedExecution({ status, stopDate: STOP })).toEqual({
        status: "failed",
        errorMessage: `export execution ${status}`,
        settlesAt: SETTLED,
      });
    }
    // Without the event's stop date: from when the watchdog saw it.
    expect(outcomeOfEndedExecution({ status: "ABORTED" }, new Date(STOP))).toMatchObject({
      settlesAt: SETTLED,
    });
    // A failure in the ExportFailed state: every copy batch reported, nothing is left running.
    const failed = outcomeOfEndedExecution({ status: "FAILED", error: "ExportFailed", cause: "x" });
    expect(failed).toEqual({ status: "failed", errorMessage: "x" });
    // Any other failure (a Finish step that crashed) does not say whether its batches did.
    expect(
      outcomeOfEndedExecution({ status: "FAILED", error: "States.Runtime", stopDate: STOP }),
    ).toEqual({
      status: "failed",
      errorMessage: "export execution FAILED: States.Runtime",
      settlesAt: SETTLED,
    });
    expect(outcomeOfEndedExecution({ status: "SUCCEEDED" })).toEqual({ status: "succeeded" });
  });

  it("records the time on the branch, refuses repairs until then, and forgets it once restarted", () => {
    const done = decideDone(running, {
      exportId: "exp-c2-2",
      commitId: "c2",
      outcome: outcomeOfEndedExecution({ status: "ABORTED", stopDate: STOP }),
      now: new Date(STOP + 1000).toISOString(),
    });
    if (done.kind !== "done") throw new Error(done.kind);
    const failed = done.next;
    expect(failed).toMatchObject({ state: "export-failed", settlesAt: SETTLED });

    const justBefore = new Date(STOP + 16 * 60_000 - 1).toISOString();
    expect(decideStart(failed, repairAt(justBefore))).toEqual({
      kind: "refused-settling",
      until: SETTLED,
    });
    expect(decideStart(failed, repairAt(justBefore, true))).toEqual({
      kind: "refused-settling",
      until: SETTLED,
    });
    // A commit event still says "repair first", as for any failed export.
    expect(decideStart(failed, { ...repairAt(justBefore), trigger: "event" }).kind).toBe(
      "refused-failed",
    );

    const after = decideStart(failed, repairAt(new Date(STOP + 16 * 60_000 + 1).toISOString()));
    if (after.kind !== "start") throw new Error(after.kind);
    expect(after.next.state).toBe("in-progress");
    expect(after.next.settlesAt).toBeUndefined();
    // The repair reconciles what the aborted export touched (its shards may be partly copied).
    expect(after.next.unreconciled?.map((u) => u.exportId)).toEqual(["exp-c2-2"]);
  });

  it("answers 409 naming the time, and the CLI says when to repair", () => {
    const r = { status: "refused-settling" as const, until: SETTLED };
    expect(() => startResultResponse(r)).toThrow(ConflictError);
    expect(() => startResultResponse(r)).toThrow(`until ${SETTLED}; repair after that`);
    expect(startedLine(r)).toBe(
      `export not started: the failed export was aborted, timed out or left a copy batch unreported; its functions may still write to the export path until ${SETTLED}, repair after that`,
    );
  });
});
