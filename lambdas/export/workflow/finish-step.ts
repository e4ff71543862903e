// Finish step: the outcome of the export from the status step (or, when even that failed, from
// the caught error), then finishExport (conditional "done", follow-up export when the head moved).
import { type FinishExportResult, finishExport } from "../start/finish-export";
import type { StartExportDeps } from "../start/start-export";
import type { ExportOutcome } from "../state/transitions";
import { type ExportWorkflowState, reasonOfCaughtError, workflowInputOf } from "./state";

export function outcomeOf(state: ExportWorkflowState): ExportOutcome {
  const s = state.status;
  if (s && s.status !== "export-failed") return { status: "succeeded" };
  const errorMessage =
    s?.errorMessage ??
    (state.error ? reasonOfCaughtError(state.error) : `${s?.signalledErrors ?? 1} errors`);
  return { status: "failed", errorMessage };
}

export interface FinishStepOutput {
  applied: boolean;
  outcome: ExportOutcome["status"];
  reason?: string;
  followUp?: { status: string; exportId?: string };
}

export async function runFinishStep(
  deps: StartExportDeps,
  state: ExportWorkflowState,
): Promise<FinishStepOutput> {
  const input = workflowInputOf(state);
  const outcome = outcomeOf(state);
  const r: FinishExportResult = await finishExport(deps, {
    repository: input.repository,
    branch: input.branch,
    exportId: input.exportId,
    toCommit: input.toCommit,
    outcome,
  });
  if (!r.applied) return { applied: false, outcome: outcome.status, reason: r.reason };
  const f = r.followUp;
  return {
    applied: true,
    outcome: outcome.status,
    ...(f
      ? { followUp: { status: f.status, ...("exportId" in f ? { exportId: f.exportId } : {}) } }
      : {}),
  };
}
