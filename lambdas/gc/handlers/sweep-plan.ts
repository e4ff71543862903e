import { runSweepPlanStep } from "../steps/sweep";
import { GcWorkflowInputSchema } from "../workflow-input";
import { gcDepsFromEnv } from "./deps";

export const handler = async (event: unknown) =>
  runSweepPlanStep(gcDepsFromEnv(), GcWorkflowInputSchema.parse(event));
