import { lambdaHandler } from "../../shared/lambda-handler";
import { type MarkStepEvent, runMarkStep } from "../app/mark";
import { gcDepsFromEnv, gcKeysOf } from "./deps";

export const handler = lambdaHandler({
  name: "GC mark step",
  keys: gcKeysOf,
  run: async (event: MarkStepEvent) => runMarkStep(gcDepsFromEnv(), event),
});
