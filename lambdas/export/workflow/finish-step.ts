// Finish step: the outcome of the export from the status step (or, when even that failed, from
// the caught error), then the conditional "done" on the export state. A follow-up export (the
// head moved meanwhile) is NOT started here but once this execution has ended, by the
// execution-ended handler reading `followUp` from the execution's output: two executions of a
// branch never overlap.
import type { ExportStore } from "../../shared/state/export-store";
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
  /** A newer head was asked for meanwhile: export it once this execution has ended. */
  followUp: boolean;
}

export async function runFinishStep(
  deps: { exports: Pick<ExportStore, "completeExport">; now: () => Date },
  state: ExportWorkflowState,
): Promise<FinishStepOutput> {
  const input = workflowInputOf(state);
  const outcome = outcomeOf(state);
  const r = await deps.exports.completeExport(
    {
      repository: input.repository,
      branch: input.branch,
      exportId: input.exportId,
      currentRef: input.toCommit,
      outcome,
    },
    deps.now().toISOString(),
  );
  if (!r.applied) {
    return { applied: false, outcome: outcome.status, reason: r.reason, followUp: false };
  }
  return { applied: true, outcome: outcome.status, followUp: r.followUp };
}
