// The stuck-export check, run on a schedule: every branch whose export state is in-progress
// is compared with its Step Functions execution (lambdas/export/domain/stuck.ts decides).
// A workflow that never started, or an execution that ended without the watchdog recording
// it, is recorded as export-failed (compare-and-set on the same export id, so a newer export
// is never touched); a very long execution is only reported. A success still holding a queued
// head long after it was recorded (the watchdog's follow-up start failed for good) gets its
// follow-up export started. Every stuck branch counts in the
// ExportsStuckInProgress metric that the "stuck in progress" alarm watches.

import { executionArnOf } from "../../shared/workflow-starter";
import type { ExportState } from "../domain/export-state";
import { settlesAt } from "../domain/settling";
import { DEFAULT_STUCK_POLICY, judgeInProgressExport, type StuckPolicy } from "../domain/stuck";
import type { ExecutionLookup, ExportStateStore } from "../ports";

export interface StuckCheckDeps {
  exports: Pick<ExportStateStore, "listStates" | "getState" | "completeExport">;
  executions: ExecutionLookup;
  exportStateMachineArn: string;
  now: () => Date;
  policy?: StuckPolicy;
  /**
   * Starts the export of a head queued behind a successful export that the execution-ended
   * handler did not start (its retries ran out); none: such branches are only reported.
   */
  followUp?: (
    repository: string,
    branch: string,
    pending: Pick<ExportState, "pendingExplicit">,
  ) => Promise<unknown | null>;
}

export interface StuckExport {
  repository: string;
  branch: string;
  exportId: string;
  /** follow-up: a queued head left behind by a successful export was started now. */
  action: "fail" | "report" | "follow-up";
  reason: string;
  /** For `fail`: the branch was recorded export-failed. */
  markedFailed?: boolean;
}

export interface StuckCheckResult {
  branches: number;
  inProgress: number;
  stuck: StuckExport[];
  markedFailed: number;
  /** Branches that could not be checked (a throttled or failed call); the others still were. */
  errors: { repository: string; branch: string; message: string }[];
}

export async function checkStuckExports(deps: StuckCheckDeps): Promise<StuckCheckResult> {
  const policy = deps.policy ?? DEFAULT_STUCK_POLICY;
  const result: StuckCheckResult = {
    branches: 0,
    inProgress: 0,
    stuck: [],
    markedFailed: 0,
    errors: [],
  };
  for await (const page of deps.exports.listStates()) {
    for (const listed of page) {
      result.branches++;
      const inProgress = listed.state.state === "in-progress";
      if (!inProgress && listed.state.pendingHead === undefined) continue;
      try {
        await (inProgress ? checkBranch : checkQueuedHead)(
          deps,
          policy,
          listed.repository,
          listed.branch,
          result,
        );
      } catch (err) {
        // One branch's failed call must not leave the others unchecked.
        result.errors.push({
          repository: listed.repository,
          branch: listed.branch,
          message: (err as Error)?.message ?? String(err),
        });
      }
    }
  }
  return result;
}

async function checkBranch(
  deps: StuckCheckDeps,
  policy: StuckPolicy,
  repository: string,
  branch: string,
  result: StuckCheckResult,
): Promise<void> {
  // The index is eventually consistent: decide on the current state.
  const state = await deps.exports.getState(repository, branch);
  if (state?.state !== "in-progress") return;
  result.inProgress++;
  const arn = state.executionArn ?? executionArnOf(deps.exportStateMachineArn, state.exportId);
  const execution = await deps.executions.lookup(arn);
  const verdict = judgeInProgressExport(state, execution, deps.now(), policy);
  if (!verdict.stuck) return;
  const stuck: StuckExport = {
    repository,
    branch,
    exportId: state.exportId,
    action: verdict.action,
    reason: verdict.reason,
  };
  if (verdict.action === "fail") {
    // An aborted or timed-out execution's functions (or a failed one's unreported copy batch)
    // may still write: as the watchdog records it, whatever the grace the check waited
    // (STUCK_EXPORT_GRACE_MINUTES can be 0).
    const settles =
      execution && settlesAt(execution.status, execution.stopDate ?? deps.now(), execution.error);
    const done = await deps.exports.completeExport(
      {
        repository,
        branch,
        exportId: state.exportId,
        commitId: state.commitId,
        outcome: {
          status: "failed",
          errorMessage: verdict.reason,
          ...(settles !== undefined ? { settlesAt: settles } : {}),
        },
      },
      deps.now().toISOString(),
    );
    // Not applied: the export was recorded meanwhile, so it was not stuck after all.
    if (!done.applied) return;
    stuck.markedFailed = true;
    result.markedFailed++;
  }
  result.stuck.push(stuck);
}

/**
 * A success that still holds a queued head long after it was recorded: the execution-ended
 * handler failed to start the follow-up (it does so within seconds, and a start takes the
 * head), so nothing would export that head until the next commit. Start it now.
 */
async function checkQueuedHead(
  deps: StuckCheckDeps,
  policy: StuckPolicy,
  repository: string,
  branch: string,
  result: StuckCheckResult,
): Promise<void> {
  const state = await deps.exports.getState(repository, branch);
  if (!state || state.pendingHead === undefined) return;
  if (state.state !== "exported-successfully" && state.state !== "export-repaired") return;
  const waiting = deps.now().getTime() - Date.parse(state.updatedAt);
  if (waiting <= policy.startGraceMs) return;
  const stuck: StuckExport = {
    repository,
    branch,
    exportId: state.exportId,
    action: deps.followUp ? "follow-up" : "report",
    reason: `the head ${state.pendingHead} queued behind ${state.exportId} was not exported ${Math.round(waiting / 60_000)} minutes after it succeeded`,
  };
  // Null: the configuration is gone, nothing more is exported (not stuck).
  if (deps.followUp && (await deps.followUp(repository, branch, state)) === null) return;
  result.stuck.push(stuck);
}
