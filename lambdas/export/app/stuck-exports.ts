// The stuck-export check, run on a schedule: every branch whose export state is in-progress
// is compared with its Step Functions execution (lambdas/export/domain/stuck.ts decides).
// A workflow that never started, or an execution that ended without the watchdog recording
// it, is recorded as export-failed (compare-and-set on the same export id, so a newer export
// is never touched); a very long execution is only reported. A success still holding a queued
// head long after it was recorded (the watchdog's follow-up start failed for good) gets its
// follow-up export started. A continuous branch whose head moved without an export (lakeFS
// delivers a webhook once and does not retry it; a hard reset sends none) gets its head
// exported once the commit is older than the start grace. Every stuck branch counts in the
// ExportsStuckInProgress metric that the "stuck in progress" alarm watches.

import { NotFoundError } from "../../shared/errors";
import { getBranchHead } from "../../shared/lakefs/refs";
import type { LakeFsApi } from "../../shared/lakefs/types";
import { executionArnOf } from "../../shared/workflow-starter";
import type { ExportState } from "../domain/export-state";
import { settlesAt } from "../domain/settling";
import { DEFAULT_STUCK_POLICY, judgeInProgressExport, type StuckPolicy } from "../domain/stuck";
import type { ExecutionLookup, ExportStateStore } from "../ports";
import type { StartExportResult } from "./start-export";

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
  /**
   * Exports the head of a continuous branch that moved without an export (a commit whose
   * webhook delivery was lost, a hard reset); none: not looked for.
   */
  missedHeads?: {
    lakefs: Pick<LakeFsApi, "getBranch" | "getCommit">;
    configs: Pick<ExportStateStore, "getConfig">;
    start: (repository: string, branch: string) => Promise<StartExportResult>;
  };
}

/** A continuous branch's head that no export followed, and what its start did. */
export interface MissedHead {
  repository: string;
  branch: string;
  head: string;
  exportedCommit: string;
  outcome: StartExportResult["status"];
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
  /** Heads of continuous branches found not exported, each started (or settled) now. */
  missedHeads: MissedHead[];
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
    missedHeads: [],
    errors: [],
  };
  // Missed heads are looked for after every other branch was checked: they need lakeFS, and a
  // lakeFS that is down or hangs must not keep stuck exports from being recorded.
  const exported: { repository: string; branch: string; commitId: string }[] = [];
  for await (const page of deps.exports.listStates()) {
    for (const listed of page) {
      result.branches++;
      if (deps.missedHeads && isExported(listed.state) && listed.state.pendingHead === undefined) {
        exported.push({ ...listed, commitId: listed.state.commitId });
      }
      const check = checkOf(listed.state);
      if (!check) continue;
      try {
        await check(deps, policy, listed.repository, listed.branch, result);
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
  await checkMissedHeads(deps, policy, exported, result);
  return result;
}

/**
 * Each exported branch's head against the commit it exported. The first branch whose check
 * fails ends the pass for this run (the next run, minutes later, tries again): with lakeFS
 * down, every branch would wait out the client's timeouts and retries in turn.
 */
async function checkMissedHeads(
  deps: StuckCheckDeps,
  policy: StuckPolicy,
  branches: { repository: string; branch: string; commitId: string }[],
  result: StuckCheckResult,
): Promise<void> {
  for (const [i, b] of branches.entries()) {
    try {
      await checkMissedHead(deps, policy, b.repository, b.branch, result, b.commitId);
    } catch (err) {
      const rest = branches.length - i - 1;
      result.errors.push({
        repository: b.repository,
        branch: b.branch,
        message:
          ((err as Error)?.message ?? String(err)) +
          (rest > 0 ? ` (${rest} more branches' heads not checked in this run)` : ""),
      });
      return;
    }
  }
}

type BranchCheck = (
  deps: StuckCheckDeps,
  policy: StuckPolicy,
  repository: string,
  branch: string,
  result: StuckCheckResult,
) => Promise<void>;

/** What a listed state (the index may lag: each check reads the state again) is checked for. */
function checkOf(state: ExportState): BranchCheck | undefined {
  if (state.state === "in-progress") return checkBranch;
  if (state.pendingHead !== undefined) return checkQueuedHead;
  return undefined;
}

function isExported(state: ExportState): boolean {
  return state.state === "exported-successfully" || state.state === "export-repaired";
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

/**
 * A continuous branch whose head is not the commit it exported, with nothing running or
 * queued: the event of the commit was lost (or a hard reset sent none). The commit's own event
 * gets the start grace (by the commit's date) before the head is started here, as the event
 * would have; the start decides on the state as any start does (a racing event makes it
 * up-to-date or queues behind it). A failed export waits for its repair and is not looked at.
 * A branch whose head is the listed commit costs one lakeFS call, nothing more.
 */
async function checkMissedHead(
  deps: StuckCheckDeps,
  policy: StuckPolicy,
  repository: string,
  branch: string,
  result: StuckCheckResult,
  listedCommit: string,
): Promise<void> {
  const missed = deps.missedHeads;
  if (!missed) return;
  let head: string;
  try {
    head = await getBranchHead(missed.lakefs, repository, branch);
  } catch (err) {
    // The branch was deleted in lakeFS: nothing to export (its configuration stays until removed).
    if (err instanceof NotFoundError) return;
    throw err;
  }
  if (head === listedCommit) return;
  const config = await missed.configs.getConfig(repository, branch);
  if (!config?.isContinuous) return;
  // The index may lag: decide on the current state.
  const state = await deps.exports.getState(repository, branch);
  if (!state || !isExported(state) || state.pendingHead !== undefined) return;
  if (head === state.commitId) return;
  const commit = await missed.lakefs.getCommit(repository, head);
  if (deps.now().getTime() - commit.creation_date * 1000 <= policy.startGraceMs) return;
  const started = await missed.start(repository, branch);
  result.missedHeads.push({
    repository,
    branch,
    head,
    exportedCommit: state.commitId,
    outcome: started.status,
  });
}
