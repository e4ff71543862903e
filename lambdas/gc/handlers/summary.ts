import { runSummaryStep, type SummaryStepEvent } from "../steps/summary";
import { GcWorkflowInputSchema } from "../workflow-input";
import { gcDepsFromEnv } from "./deps";

export const handler = async (event: SummaryStepEvent) => {
  const { error, ...rest } = event;
  const input = GcWorkflowInputSchema.parse(pickInput(rest));
  return runSummaryStep(gcDepsFromEnv(), { ...input, ...(error ? { error } : {}) });
};

/** The state carries step results next to the run input; keep only the input's fields. */
function pickInput(state: Record<string, unknown>) {
  const { repository, runId, markId, doMark, doSweep, storageNamespace, rules, now } = state;
  return { repository, runId, markId, doMark, doSweep, storageNamespace, rules, now };
}
