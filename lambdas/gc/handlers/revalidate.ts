import { runRevalidateStep } from "../app/revalidate";
import { parseMaxMarkAgeHours } from "../domain/mark-lifecycle";
import { GcWorkflowInputSchema } from "../domain/workflow-input";
import { gcDepsFromEnv, pickRunInput } from "./deps";

const maxMarkAgeHours = parseMaxMarkAgeHours(
  process.env.GC_MAX_MARK_AGE_HOURS,
  "GC_MAX_MARK_AGE_HOURS",
);

export const handler = async (event: Record<string, unknown>) =>
  runRevalidateStep(gcDepsFromEnv(), GcWorkflowInputSchema.parse(pickRunInput(event)), {
    maxMarkAgeHours,
  });
