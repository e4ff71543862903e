// Finishing an export, in two steps that never overlap:
// 1. the workflow's Finish step says the outcome (from the status step, or the caught error
//    when even that failed). It records nothing: a failed outcome ends the execution in the
//    ExportFailed state with the reason as its cause;
// 2. once the execution has stopped, its "Execution Status Change" event reaches the
//    execution-ended handler (the watchdog), which records the outcome on the branch ("done")
//    and, after a success with a start asked for meanwhile (or, on a continuous branch, with the
//    head moved meanwhile without one), starts the next export at once from the newest head. So the branch stays in-progress until the execution has stopped, and two
//    executions of a branch never overlap.
// Outcomes of an ended execution:
// - SUCCEEDED: the status step said exported-successfully or export-repaired: succeeded.
// - FAILED in the ExportFailed state: failed, with the state's cause as the reason; when its
//   error says a copy batch did not report (ExportFailedCopiesMayRun), the branch also records
//   until when that batch's invocation may still copy (settling.ts), and a repair waits.
// - any other FAILED, TIMED_OUT, ABORTED: failed, with the execution's error; its functions may
//   still run, so a repair waits for them too (settling.ts).
// Recording is conditional (same export id and commit, still in-progress), so a repeated event
// or one for an older export changes nothing; a repeated delivery only starts the follow-up
// if no start has taken it yet.
import { z } from "zod";
import { NotFoundError } from "../../shared/errors";
import { type ExportState, exportModeOf } from "../domain/export-state";
import {
  EXPORT_FAILED_COPIES_MAY_RUN_ERROR,
  EXPORT_FAILED_ERROR,
  settlesAt,
} from "../domain/settling";
import { decideObsoleteRun, type ExportOutcome, type ObsoleteRun } from "../domain/transitions";
import { parseExportWorkflowInput } from "../domain/workflow-input";
import { type ExportWorkflowState, reasonOfCaughtError } from "../domain/workflow-state";
import { type StartExportDeps, type StartExportResult, startExport } from "./start-export";

/** The Fail state's error names: the execution-ended handler takes its cause as the reason. */
export { EXPORT_FAILED_COPIES_MAY_RUN_ERROR, EXPORT_FAILED_ERROR };

/** The outcome the workflow's state stands for. */
export function outcomeOf(state: ExportWorkflowState): ExportOutcome {
  const s = state.status;
  if (s && s.status !== "export-failed") return { status: "succeeded" };
  const errorMessage =
    s?.errorMessage ??
    (state.error ? reasonOfCaughtError(state.error) : `${s?.signalledErrors ?? 1} errors`);
  return { status: "failed", errorMessage };
}

export interface FinishStepOutput {
  outcome: ExportOutcome["status"];
  /** The error of a failed outcome (of the ExportFailed state). */
  error?: typeof EXPORT_FAILED_ERROR | typeof EXPORT_FAILED_COPIES_MAY_RUN_ERROR;
  /** The reason of a failed outcome (the cause of the ExportFailed state). */
  errorMessage?: string;
}

/** The workflow's Finish step. */
export function runFinishStep(state: ExportWorkflowState): FinishStepOutput {
  const outcome = outcomeOf(state);
  if (outcome.status === "succeeded") return { outcome: "succeeded" };
  return {
    outcome: "failed",
    error: copiesMayRun(state) ? EXPORT_FAILED_COPIES_MAY_RUN_ERROR : EXPORT_FAILED_ERROR,
    errorMessage: outcome.errorMessage.slice(0, 30_000),
  };
}

/**
 * Whether a copy invocation of the failed export may still run: its status step found a shard
 * without a result or a writer still running, or it failed once a plan call had written shards
 * (each call's are copied while the next lists; nothing else lists the writers: even with
 * every shard reported, an earlier attempt of a batch may still copy).
 */
function copiesMayRun(state: ExportWorkflowState): boolean {
  if (state.status) return state.status.copiesMayRun === true;
  return (state.plan?.counts.shards ?? 0) > 0;
}

const ExecutionStatusChangeSchema = z.looseObject({
  executionArn: z.string(),
  name: z.string(),
  status: z.string(),
  input: z.string().nullable().optional(),
  output: z.string().nullable().optional(),
  error: z.string().nullable().optional(),
  cause: z.string().nullable().optional(),
  startDate: z.number().nullable().optional(),
  stopDate: z.number().nullable().optional(),
});

export const FAILED_EXECUTION_STATUSES = ["FAILED", "TIMED_OUT", "ABORTED"] as const;
/** The statuses of an ended execution (the execution-ended rule matches these). */
export const ENDED_EXECUTION_STATUSES = ["SUCCEEDED", ...FAILED_EXECUTION_STATUSES] as const;

/** The outcome an ended execution stands for. */
export function outcomeOfEndedExecution(
  d: {
    status: string;
    error?: string | null;
    cause?: string | null;
    /** Epoch milliseconds (the status change event's). */
    stopDate?: number | null;
  },
  now: Date = new Date(),
): ExportOutcome {
  if (d.status === "SUCCEEDED") return { status: "succeeded" };
  const settles = settlesAt(
    d.status,
    typeof d.stopDate === "number" ? new Date(d.stopDate) : now,
    d.error,
  );
  if (
    d.status === "FAILED" &&
    (d.error === EXPORT_FAILED_ERROR || d.error === EXPORT_FAILED_COPIES_MAY_RUN_ERROR)
  ) {
    return {
      status: "failed",
      errorMessage: (d.cause || "export failed").slice(0, 1000),
      ...(settles !== undefined ? { settlesAt: settles } : {}),
    };
  }
  const detail = [d.error, d.cause].filter(Boolean).join(": ").slice(0, 800);
  return {
    status: "failed",
    errorMessage: `export execution ${d.status}${detail ? `: ${detail}` : ""}`,
    ...(settles !== undefined ? { settlesAt: settles } : {}),
  };
}

export interface FinishExportRequest {
  repository: string;
  branch: string;
  exportId: string;
  /** The commit the export exported. */
  commitId: string;
  outcome: ExportOutcome;
}

export type FinishExportResult =
  | { applied: false; reason: string; followUp?: StartExportResult | null }
  | { applied: true; followUp: StartExportResult | null };

export type WatchdogResult =
  | { action: "ignored"; reason: string }
  | { action: "recorded"; outcome: ExportOutcome["status"]; result: FinishExportResult };

/** The execution-ended handler: an export execution's status change, recorded once ended. */
export async function handleExecutionStatusChange(
  deps: StartExportDeps,
  event: { detail?: unknown },
): Promise<WatchdogResult> {
  const parsed = ExecutionStatusChangeSchema.safeParse(event.detail);
  if (!parsed.success) return { action: "ignored", reason: "not an execution status change" };
  const d = parsed.data;
  if (!(ENDED_EXECUTION_STATUSES as readonly string[]).includes(d.status)) {
    return { action: "ignored", reason: `status ${d.status}` };
  }
  let inputJson: unknown;
  try {
    inputJson = JSON.parse(d.input ?? "null");
  } catch {
    inputJson = undefined;
  }
  const input = parseExportWorkflowInput(inputJson);
  if (!input.success) {
    return { action: "ignored", reason: "execution input is not an export workflow input" };
  }
  const { repository, branch, exportId, commitId } = input.data;
  if (exportId !== d.name) return { action: "ignored", reason: "name is not the export id" };
  const outcome = outcomeOfEndedExecution(d, deps.now());
  const result = await finishExport(deps, { repository, branch, exportId, commitId, outcome });
  if (!result.applied && typeof d.stopDate === "number") {
    // Not the branch's running export: maybe an old one that ran again (a redrive).
    await recordObsoleteRun(deps, repository, branch, {
      record: {
        exportId,
        startedAt: new Date(d.startDate ?? d.stopDate).toISOString(),
        full: exportModeOf(input.data) !== "incremental",
        ...(input.data.configVersion !== undefined
          ? { configVersion: input.data.configVersion }
          : {}),
      },
      reason: `export ${exportId} of ${commitId} ran again after the branch moved on (a redrive of its execution) and may have written ${commitId} over the export path; repair`,
      stoppedAt: new Date(d.stopDate).toISOString(),
      ...(outcome.status === "failed" && outcome.settlesAt ? { settlesAt: outcome.settlesAt } : {}),
    });
  }
  return { action: "recorded", outcome: outcome.status, result };
}

/** decideObsoleteRun on the branch, compare-and-set (a running export keeps running). */
async function recordObsoleteRun(
  deps: StartExportDeps,
  repository: string,
  branch: string,
  run: ObsoleteRun,
): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const current = await deps.exports.getState(repository, branch);
    const next = decideObsoleteRun(current, run, deps.now().toISOString());
    if (!current || !next) return;
    const ok =
      current.state === "in-progress"
        ? await deps.exports.updateRunningState(repository, branch, current.version, next)
        : await deps.exports.compareAndSetState(repository, branch, current.version, next);
    if (ok) return;
  }
  throw new Error(`too much contention on the export state of lakefs://${repository}@${branch}`);
}

/** "done" on the branch's export state, then the follow-up export a start asked for. */
export async function finishExport(
  deps: StartExportDeps,
  req: FinishExportRequest,
): Promise<FinishExportResult> {
  const done = await deps.exports.completeExport(
    {
      repository: req.repository,
      branch: req.branch,
      exportId: req.exportId,
      commitId: req.commitId,
      outcome: req.outcome,
    },
    deps.now().toISOString(),
  );
  if (!done.applied) {
    // Recorded by an earlier delivery, which may have stopped before the follow-up started.
    const s = await deps.exports.getState(req.repository, req.branch);
    const succeeded = s?.state === "exported-successfully" || s?.state === "export-repaired";
    if (s?.exportId === req.exportId && succeeded) {
      if (s.pendingHead !== undefined) {
        return { ...done, followUp: await followUpExport(deps, req, s) };
      }
      return { ...done, followUp: await movedHeadExport(deps, req) };
    }
    return done;
  }
  if (done.followUp) {
    return { applied: true, followUp: await followUpExport(deps, req, done.state) };
  }
  const succeeded =
    done.state.state === "exported-successfully" || done.state.state === "export-repaired";
  return { applied: true, followUp: succeeded ? await movedHeadExport(deps, req) : null };
}

/**
 * After a success that no start queued a head behind: the export of a continuous branch whose
 * head moved meanwhile without an event (lakeFS delivers a webhook once and does not retry it;
 * a hard reset sends none) starts at once from the newest head. Null when the head is the
 * exported commit or the branch is not continuous. A failure (lakeFS down) fails the handler,
 * as a queued head's start does: a repeated delivery tries again, and the stuck-export check
 * exports the moved head later.
 */
async function movedHeadExport(
  deps: StartExportDeps,
  req: { repository: string; branch: string },
): Promise<StartExportResult | null> {
  const config = await deps.exports.getConfig(req.repository, req.branch);
  if (!config?.isContinuous) return null;
  const started = await followUpExport(deps, req, { pendingExplicit: false });
  return started?.status === "up-to-date" ? null : started;
}

/**
 * The export of the head a start queued while an export ran (also started by the stuck-export
 * check when this handler could not). Null when the configuration is gone, or when only commit
 * events asked for the head and the branch is no longer continuous: nothing more to export.
 */
export async function followUpExport(
  deps: StartExportDeps,
  req: { repository: string; branch: string },
  pending: Pick<ExportState, "pendingExplicit">,
): Promise<StartExportResult | null> {
  // A head a person asked for ("run") is exported whether or not the branch is continuous; one
  // only commit events queued, only while it still is ("event": the start settles the request
  // of a branch no longer continuous).
  try {
    const started = await startExport(deps, {
      repository: req.repository,
      branch: req.branch,
      trigger: pending.pendingExplicit ? "run" : "event",
    });
    return started.status === "not-continuous" ? null : started;
  } catch (err) {
    // The configuration (or the branch) was deleted meanwhile: nothing more to export.
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}
