import { lambdaHandler } from "../../shared/lambda-handler";
import { runSweepStep, type SweepStepEvent } from "../app/sweep";
import { gcDepsFromEnv, gcKeysOf } from "./deps";

const recheckMs = Number(process.env.SWEEP_RECHECK_MS ?? "");

export const handler = lambdaHandler({
  name: "GC sweep step",
  keys: gcKeysOf,
  run: async (event: SweepStepEvent) =>
    runSweepStep(gcDepsFromEnv(), event, {
      ...(Number.isInteger(recheckMs) && recheckMs >= 0 && process.env.SWEEP_RECHECK_MS
        ? { recheckMs }
        : {}),
    }),
});
