import { type EndMarkEvent, runEndMarkStep } from "../steps/end-mark";
import { GcWorkflowInputSchema } from "../workflow-input";
import { gcDepsFromEnv, pickRunInput } from "./deps";

export const handler = async (event: EndMarkEvent) => {
  const input = GcWorkflowInputSchema.parse(pickRunInput(event));
  return runEndMarkStep(gcDepsFromEnv(), { ...input, plan: event.plan });
};
