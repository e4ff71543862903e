import { runCommitsStep } from "../steps/commits";
import { GcWorkflowInputSchema } from "../workflow-input";
import { gcDepsFromEnv } from "./deps";

export const handler = async (event: unknown) => {
  const input = GcWorkflowInputSchema.parse(event);
  const perPartition = Number(process.env.GC_ADDRESSES_PER_PARTITION ?? "");
  return runCommitsStep(gcDepsFromEnv(), input, {
    ...(perPartition > 0 ? { addressesPerPartition: perPartition } : {}),
  });
};
