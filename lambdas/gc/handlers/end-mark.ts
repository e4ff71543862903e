import { type EndMarkEvent, runEndMarkStep } from "../app/end-mark";
import { GcWorkflowInputSchema } from "../domain/workflow-input";
import { gcDepsFromEnv, pickRunInput } from "./deps";

export const handler = async (event: EndMarkEvent) => {
  const input = GcWorkflowInputSchema.parse(pickRunInput(event));
  return runEndMarkStep(gcDepsFromEnv(), { ...input, plan: event.plan });
};
