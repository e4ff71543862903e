import { runSummaryStep, type SummaryStepEvent } from "../app/summary";
import { GcWorkflowInputSchema } from "../domain/workflow-input";
import { gcDepsFromEnv, pickRunInput } from "./deps";

export const handler = async (event: SummaryStepEvent) => {
  const { error, ...rest } = event;
  const input = GcWorkflowInputSchema.parse(pickRunInput(rest));
  return runSummaryStep(gcDepsFromEnv(), { ...input, ...(error ? { error } : {}) });
};
