import { lambdaHandler } from "../../shared/lambda-handler";
import { runRevalidateStep } from "../app/revalidate";
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
    runRevalidateStep(gcDepsFromEnv(), runInputOf(event), { maxMarkAgeHours }),
});
