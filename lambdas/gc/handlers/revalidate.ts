import { lambdaHandler } from "../../shared/lambda-handler";
import { type RevalidateResult, runCatchUpStep, runRevalidateStep } from "../app/revalidate";
import { parseMaxMarkAgeHours } from "../domain/mark-lifecycle";
import { gcDepsFromEnv, gcKeysOf, runInputOf } from "./deps";

const maxMarkAgeHours = parseMaxMarkAgeHours(
  process.env.GC_MAX_MARK_AGE_HOURS,
  "GC_MAX_MARK_AGE_HOURS",
);

export const handler = lambdaHandler({
  name: "GC revalidation step",
  keys: gcKeysOf,
  run: async (event: Record<string, unknown>) =>
    // The same function runs the catch-up rounds after the revalidation map.
    event.catchUp === true
      ? runCatchUpStep(gcDepsFromEnv(), runInputOf(event), event.revalidation as RevalidateResult)
      : runRevalidateStep(gcDepsFromEnv(), runInputOf(event), { maxMarkAgeHours }),
});
