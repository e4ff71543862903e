// The "start an export" use case: shared by the API (run, set, repair), the EventBridge
// starter Lambda (commit/merge events) and the execution-ended handler (follow-ups).

import { NotFoundError } from "../../shared/errors";
import { getBranchHead, getRepositoryOrThrow } from "../../shared/lakefs/refs";
import type { LakeFsApi } from "../../shared/lakefs/types";
import { executionArnOf, type WorkflowStarter } from "../../shared/workflow-starter";
import type { ExportConfig } from "../domain/export-config";
import { configVersionOf } from "../domain/export-config";
import { exportIdFor } from "../domain/export-id";
import { decideExportMode } from "../domain/export-mode";
import {
  type ExportMode,
  type ExportState,
  type ExportStateName,
  exportModeOf,
  type StartTrigger,
} from "../domain/export-state";
import { startOf } from "../domain/stuck";
import {
  decideStart,
  reconcileExportsOf,
  type StartDecision,
  type StartInput,
} from "../domain/transitions";
import { type ExportWorkflowInput, ExportWorkflowInputSchema } from "../domain/workflow-input";
import type { ExportStateStore } from "../ports";

export interface StartExportDeps {
  exports: ExportStateStore;
  lakefs: Pick<LakeFsApi, "getBranch" | "getRepository">;
  workflows: WorkflowStarter;
  exportStateMachineArn: string;
  now: () => Date;
}

export interface StartExportRequest {
  repository: string;
  branch: string;
  trigger: StartTrigger;
  /** With trigger "repair": reconcile the whole export path with the head. */
  full?: boolean;
}

export type StartExportResult =
  | {
      status: "started";
      exportId: string;
      executionArn: string;
      fromCommit: string | null;
      commitId: string;
      repaired: boolean;
      mode: ExportMode;
    }
  /** The head is already exported (or being exported). */
  | { status: "up-to-date"; commitId: string }
  /** An event for a branch whose export is not continuous. */
  | { status: "not-continuous" }
  /** An export is running; the head was recorded and will be exported when it ends. */
  | { status: "queued"; runningExportId: string; pendingHead: string }
  /** A full repair was asked while an export runs: ask again once it has ended. */
  | { status: "refused-running"; runningExportId: string }
  /** The last export failed: a person must repair first. */
  | { status: "refused-failed"; errorMessage?: string }
  /** The failed execution was aborted, timed out or left a copy batch unreported: its functions may write until `until`. */
  | { status: "refused-settling"; until: string }
  /** repair asked for a branch whose export has not failed. */
  | { status: "refused-not-failed"; state: ExportStateName | "never-exported" }
  /**
   * StartExecution failed; the branch is now export-failed with the reason (or, when even
   * whether the execution exists could not be told, still in-progress for the stuck check).
   */
  | { status: "start-failed"; exportId: string; errorMessage: string };

const MAX_CAS_ATTEMPTS = 20;

export async function startExport(
  deps: StartExportDeps,
  req: StartExportRequest,
): Promise<StartExportResult> {
  const { repository, branch } = req;
  let config = await configOrThrow(deps, repository, branch);
  const repo = await getRepositoryOrThrow(deps.lakefs, repository);

  /** This start's head was queued behind a re-driven crashed start. */
  let queued = false;
  /** A person asked (not a commit event): the queued head is exported even if not continuous. */
  const explicit = req.trigger !== "event";
  for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
    const current = await deps.exports.getState(repository, branch);
    // Read after the state, every round: a head read before a lost race may be older than what
    // was exported meanwhile; an export started since makes the compare-and-set fail.
    const commitId = await getBranchHead(deps.lakefs, repository, branch);
    const now = deps.now().toISOString();
    const input = startInputOf(config, req, commitId, now);
    const decision = await unlessRerunning(deps, current, decideStart(current, input));
    switch (decision.kind) {
      case "up-to-date":
        // A follow-up asked for meanwhile found nothing newer: the request is settled.
        if (current?.pendingHead !== undefined) await settlePending(deps, req, current, now);
        return { status: "up-to-date", commitId };
      case "refused-running":
        return { status: "refused-running", runningExportId: decision.exportId };
      case "not-continuous":
        // A head only commit events queued, once the branch stopped being continuous: the
        // request is settled (a follow-up is not exported).
        if (current?.pendingHead !== undefined && current.state !== "in-progress") {
          if (!current.pendingExplicit) await settlePending(deps, req, current, now);
        }
        return { status: "not-continuous" };
      case "refused-failed":
        return { status: "refused-failed", errorMessage: decision.errorMessage };
      case "refused-not-failed":
        return { status: "refused-not-failed", state: decision.state };
      case "refused-settling":
        return { status: "refused-settling", until: decision.until };
      case "refused-in-progress": {
        // A start that crashed between its state write and StartExecution left no execution:
        // re-drive it under the same name (StartExecution is idempotent per name).
        // From the start, not updatedAt: every queued head rewrites that, and on a busy
        // branch a crashed start would never be re-driven.
        if (current && !current.executionArn && isStale(startOf(current), deps.now())) {
          if (commitId !== current.commitId && current.pendingHead === undefined && !queued) {
            // The newer head this start was asked for is queued first, so that it is exported
            // once the re-driven export ends; then decide again on the state it wrote.
            queued = await deps.exports.requestFollowUp(
              repository,
              branch,
              current.exportId,
              commitId,
              now,
              explicit,
            );
            continue;
          }
          const version = configVersionOf(config);
          if (current.configVersion === undefined || current.configVersion === version) {
            return launch(deps, workflowInput(config, repo.storage_namespace, current));
          }
          // The configuration changed since this start was decided: see redecided().
          const arn = executionArnOf(deps.exportStateMachineArn, current.exportId);
          if (await executionExists(deps.workflows, arn)) {
            // It did start, with the configuration of its time: let it finish as decided
            // (the branch records that version) and queue the head behind it.
            await deps.exports.recordExecution(repository, branch, current.exportId, arn, now);
            continue;
          }
          const next = redecided(current, config, deps.now());
          // The branch's own running export rewritten (a start's compare-and-set never
          // overwrites in-progress).
          if (!(await deps.exports.updateRunningState(repository, branch, current.version, next)))
            continue;
          return launch(deps, workflowInput(config, repo.storage_namespace, next));
        }
        // Lost race with the execution-ended handler? Then re-read and decide again.
        const ok = await deps.exports.requestFollowUp(
          repository,
          branch,
          decision.exportId,
          commitId,
          now,
          explicit,
        );
        if (ok) {
          return { status: "queued", runningExportId: decision.exportId, pendingHead: commitId };
        }
        continue;
      }
      case "start": {
        // Recorded only if the configuration is still the one decided with: one deleted or
        // moved meanwhile has released its paths (path-hold.ts), so decide again on the new one.
        const ok = await deps.exports.compareAndSetState(
          repository,
          branch,
          current?.version,
          decision.next,
          config,
        );
        if (!ok) {
          config = await configOrThrow(deps, repository, branch);
          continue;
        }
        return launch(deps, workflowInput(config, repo.storage_namespace, decision.next));
      }
    }
  }
  throw new Error(`too much contention on the export state of lakefs://${repository}@${branch}`);
}

/** What decideStart needs to decide on `config` for the head `commitId`. */
function startInputOf(
  config: ExportConfig,
  req: StartExportRequest,
  commitId: string,
  now: string,
): StartInput {
  return {
    commitId,
    trigger: req.trigger,
    isContinuous: config.isContinuous,
    configVersion: configVersionOf(config),
    exportPath: config.exportPath,
    ...(req.full ? { full: true } : {}),
    now,
    exportIdFor: (attempt) => exportIdFor(req.repository, req.branch, commitId, attempt),
  };
}

/** Forgets the pending head of an ended export (compare-and-set: lost races change nothing). */
async function settlePending(
  deps: StartExportDeps,
  req: StartExportRequest,
  current: ExportState,
  now: string,
): Promise<void> {
  const { pendingHead: _p, pendingExplicit: _e, ...settled } = current;
  await deps.exports.compareAndSetState(req.repository, req.branch, current.version, {
    ...settled,
    updatedAt: now,
    version: current.version + 1,
  });
}

async function configOrThrow(deps: StartExportDeps, repository: string, branch: string) {
  const config = await deps.exports.getConfig(repository, branch);
  if (!config) {
    throw new NotFoundError(`no export configuration for lakefs://${repository}@${branch}`);
  }
  return config;
}

/** An in-progress state this old without an execution is a crashed start. */
export const STALLED_START_MS = 5 * 60 * 1000;

function isStale(since: string, now: Date): boolean {
  return now.getTime() - Date.parse(since) > STALLED_START_MS;
}

/** The workflow input of the export `state` describes. */
function workflowInput(
  config: ExportConfig,
  storageNamespace: string,
  state: ExportState,
): ExportWorkflowInput {
  return ExportWorkflowInputSchema.parse({
    repository: config.repository,
    branch: config.branch,
    exportId: state.exportId,
    fromCommit: state.lastExportedCommit ?? null,
    commitId: state.commitId,
    exportPath: config.exportPath,
    ...(config.exportStatusPath ? { exportStatusPath: config.exportStatusPath } : {}),
    lastKeysInPrefixRegexp: config.lastKeysInPrefixRegexp,
    repaired: state.repaired,
    storageNamespace,
    mode: exportModeOf({ mode: state.mode, fromCommit: state.lastExportedCommit ?? null }),
    reconcileExports: reconcileExportsOf(state),
    configVersion: state.configVersion ?? configVersionOf(config),
  });
}

/**
 * A crashed start re-decided for the current configuration: its mode (say incremental from the
 * last export) was decided for the old one, and the export path or regexes are the new ones
 * now, so it exports the whole commit to them (an incremental export into a new path would
 * leave it incomplete) and the branch records the version it exports.
 */
function redecided(state: ExportState, config: ExportConfig, now: Date): ExportState {
  const configVersion = configVersionOf(config);
  const choice = decideExportMode(state, { configVersion, fullRequested: false, now });
  return {
    ...state,
    mode: choice.mode,
    configVersion,
    exportPath: config.exportPath,
    updatedAt: now.toISOString(),
    version: state.version + 1,
  };
}

/**
 * A repair of a failed export whose execution runs again (a Step Functions redrive) would race
 * it: the older commit's copies could land after the repair's, under its success line (the
 * run's end is recorded only once it stops). Refused, as a full repair while an export runs.
 */
async function unlessRerunning(
  deps: StartExportDeps,
  current: ExportState | undefined,
  decision: StartDecision,
): Promise<StartDecision> {
  if (decision.kind !== "start" || !decision.next.repaired) return decision;
  if (current?.state !== "export-failed" || current.executionArn === undefined) return decision;
  let status: string;
  try {
    status = (await deps.workflows.describe(current.executionArn)).status;
  } catch (err) {
    if (isNoSuchExecution(err)) return decision;
    throw err;
  }
  return status === "RUNNING" || status === "PENDING_REDRIVE"
    ? { kind: "refused-running", exportId: current.exportId }
    : decision;
}

/** Whether Step Functions knows the execution (a crashed start may have reached it). */
async function executionExists(workflows: WorkflowStarter, executionArn: string) {
  try {
    await workflows.describe(executionArn);
    return true;
  } catch (err) {
    if (isNoSuchExecution(err)) return false;
    throw err;
  }
}

function isNoSuchExecution(err: unknown): boolean {
  const e = err as Error;
  return e?.name === "ExecutionDoesNotExist" || /ExecutionDoesNotExist/.test(e?.message ?? "");
}

async function launch(
  deps: StartExportDeps,
  input: ExportWorkflowInput,
): Promise<StartExportResult> {
  const { repository, branch, exportId } = input;
  const now = () => deps.now().toISOString();
  let executionArn: string;
  try {
    executionArn = await deps.workflows.start(deps.exportStateMachineArn, exportId, input);
  } catch (err) {
    const reason = (err as Error).message || String(err);
    // A failed answer does not prove nothing started (a lost response): an execution that
    // exists is this export, and the branch must follow it rather than say export-failed.
    const arn = executionArnOf(deps.exportStateMachineArn, exportId);
    const exists = await executionExists(deps.workflows, arn).catch(() => undefined);
    if (exists === undefined) {
      // Unknown: the branch stays in-progress; a later start re-drives it under the same name,
      // or the stuck-export check fails it if no execution ever appears.
      return { status: "start-failed", exportId, errorMessage: reason };
    }
    if (!exists) {
      // Never leave the branch in-progress without a live execution.
      await deps.exports.markStartFailed(repository, branch, exportId, reason, now());
      return { status: "start-failed", exportId, errorMessage: reason };
    }
    executionArn = arn;
  }
  // The execution may already have finished and completed the state: then nothing to record.
  await deps.exports.recordExecution(repository, branch, exportId, executionArn, now());
  return {
    status: "started",
    exportId,
    executionArn,
    fromCommit: input.fromCommit,
    commitId: input.commitId,
    repaired: input.repaired,
    mode: input.mode ?? "incremental",
  };
}
