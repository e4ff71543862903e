import { runCommitsStep } from "../app/commits";
import { GcWorkflowInputSchema } from "../domain/workflow-input";
import { gcDepsFromEnv, pickRunInput } from "./deps";

export const handler = async (event: Record<string, unknown>) => {
  const input = GcWorkflowInputSchema.parse(pickRunInput(event));
  const perPartition = Number(process.env.GC_ADDRESSES_PER_PARTITION ?? "");
  return runCommitsStep(gcDepsFromEnv(), input, {
    ...(perPartition > 0 ? { addressesPerPartition: perPartition } : {}),
  });
};
