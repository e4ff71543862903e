import { lambdaHandler } from "../../shared/lambda-handler";
import { type CopyEndInput, runCopyEndStep } from "../app/copy-end";
import { copyEndDepsFromEnv, gcKeysOf } from "./deps";

export const handler = lambdaHandler({
  name: "GC copy end",
  keys: gcKeysOf,
  run: async (event: CopyEndInput) => runCopyEndStep(copyEndDepsFromEnv(), event),
});
