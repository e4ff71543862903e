import { lambdaHandler } from "../../shared/lambda-handler";
import { type EndMarkEvent, runEndMarkStep } from "../app/end-mark";
import { gcDepsFromEnv, gcKeysOf, runInputOf } from "./deps";

export const handler = lambdaHandler({
  name: "GC end of mark",
  keys: gcKeysOf,
  run: async (event: EndMarkEvent) =>
    runEndMarkStep(gcDepsFromEnv(), { ...runInputOf(event), plan: event.plan }),
});
