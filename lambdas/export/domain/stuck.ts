// Is an in-progress export stuck? The export state says in-progress from the compare-and-set
// start until the execution-ended handler (the watchdog) records the outcome of the ended
// execution.
// It can stay there wrongly when the workflow never started (the trigger crashed between the
// start and StartExecution) or when the execution ended and its status event was lost (the
// watchdog's retries ran out). Both are unblocked by recording the export as failed, which a
// person then repairs. An execution that simply runs very long is only reported.
import type { ExecutionStatus as ExecutionStatusName } from "../../shared/workflow-starter";
import type { ExportState } from "./export-state";

/** What Step Functions says about the export's execution; undefined: no such execution. */
export interface ExecutionFacts {
  status: ExecutionStatusName;
  startDate?: Date;
  stopDate?: Date;
  error?: string;
  cause?: string;
}

export interface StuckPolicy {
  /** An in-progress state without an execution is left alone this long (the start is racing). */
  startGraceMs: number;
  /** An ended execution leaves the watchdog this long to record it. */
  endedGraceMs: number;
  /** A running execution older than this is reported (not touched). */
  maxRunMs: number;
}

export const DEFAULT_STUCK_POLICY: StuckPolicy = {
  startGraceMs: 15 * 60_000,
  // Longer than an export function's timeout (settling.ts): an aborted execution's functions
  // have stopped writing by the time the check records it, so a repair can follow at once.
  endedGraceMs: 17 * 60_000,
  maxRunMs: 6 * 3_600_000,
};

export type StuckVerdict =
  | { stuck: false }
  /** `fail`: record the export as export-failed with `reason`; `report`: only count it. */
  | { stuck: true; action: "fail" | "report"; reason: string };

/**
 * When the in-progress export was started: startedAt, not updatedAt, which every queued head
 * rewrites (a busy branch would otherwise never look stalled). States from before startedAt
 * existed have only updatedAt.
 */
export function startOf(state: Pick<ExportState, "startedAt" | "updatedAt">): string {
  return state.startedAt ?? state.updatedAt;
}

const ENDED_FAILED = new Set<ExecutionStatusName>(["FAILED", "TIMED_OUT", "ABORTED"]);

export function judgeInProgressExport(
  state: ExportState,
  execution: ExecutionFacts | undefined,
  now: Date,
  policy: StuckPolicy = DEFAULT_STUCK_POLICY,
): StuckVerdict {
  if (state.state !== "in-progress") return { stuck: false };
  const age = (since: Date | string | undefined) =>
    since === undefined ? Number.POSITIVE_INFINITY : now.getTime() - new Date(since).getTime();
  const minutes = (ms: number) => Math.round(ms / 60_000);

  if (!execution) {
    const since = startOf(state);
    if (age(since) <= policy.startGraceMs) return { stuck: false };
    return {
      stuck: true,
      action: "fail",
      reason: `the export workflow of ${state.exportId} never started (in progress for ${minutes(age(since))} minutes without an execution)`,
    };
  }
  if (execution.status === "RUNNING" || execution.status === "PENDING_REDRIVE") {
    const running = age(execution.startDate);
    if (running <= policy.maxRunMs) return { stuck: false };
    return {
      stuck: true,
      action: "report",
      reason: `export execution ${state.exportId} has been running for ${minutes(running)} minutes (limit ${minutes(policy.maxRunMs)})`,
    };
  }
  // The execution ended but the branch still says in-progress.
  if (age(execution.stopDate) <= policy.endedGraceMs) return { stuck: false };
  if (ENDED_FAILED.has(execution.status)) {
    const detail = [execution.error, execution.cause].filter(Boolean).join(": ").slice(0, 800);
    return {
      stuck: true,
      action: "fail",
      reason: `export execution ${execution.status}${detail ? `: ${detail}` : ""} (recorded by the stuck-export check)`,
    };
  }
  return {
    stuck: true,
    action: "fail",
    reason:
      "export execution SUCCEEDED but its outcome was never recorded; repair to export the branch again",
  };
}
