import { lambdaHandler } from "../../shared/lambda-handler";
import { type CopyMarkInput, runCopyPlanStep } from "../app/copy-mark";
import { copyPlanDepsFromEnv, gcKeysOf } from "./deps";

export const handler = lambdaHandler({
  name: "GC copy plan",
  keys: gcKeysOf,
  run: async (event: CopyMarkInput) => runCopyPlanStep(copyPlanDepsFromEnv(), event),
});
