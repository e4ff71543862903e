// Finish step: the outcome of the export, from the status step (or, when even that failed, from
// the caught error). It records nothing: the export state is updated by the execution-ended
// handler once the execution has stopped (see watchdog.ts), so the branch stays in-progress
// until then and no start can launch a second execution of the branch while this one still
// runs. A failed outcome ends the execution in the ExportFailed state with the reason as cause.
import type { ExportOutcome } from "../domain/transitions";
import { type ExportWorkflowState, reasonOfCaughtError } from "../domain/workflow-state";

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
  /** The reason of a failed outcome (the cause of the ExportFailed state). */
  errorMessage?: string;
}

export function runFinishStep(state: ExportWorkflowState): FinishStepOutput {
  const outcome = outcomeOf(state);
  return outcome.status === "succeeded"
    ? { outcome: "succeeded" }
    : { outcome: "failed", errorMessage: outcome.errorMessage.slice(0, 30_000) };
}

/** The Fail state's error name: the execution-ended handler takes its cause as the reason. */
export const EXPORT_FAILED_ERROR = "ExportFailed";
