import { lambdaHandler } from "../../shared/lambda-handler";
import { runCommitsStep } from "../app/commits";
import { gcDepsFromEnv, gcKeysOf, runInputOf } from "./deps";

export const handler = lambdaHandler({
  name: "GC commits step",
  keys: gcKeysOf,
  run: async (event: Record<string, unknown>) => {
    const perPartition = Number(process.env.GC_ADDRESSES_PER_PARTITION ?? "");
    return runCommitsStep(gcDepsFromEnv(), runInputOf(event), {
      ...(perPartition > 0 ? { addressesPerPartition: perPartition } : {}),
    });
  },
});
