import { lambdaHandler } from "../../shared/lambda-handler";
import { runSweepStep, type SweepStepEvent } from "../app/sweep";
import { gcDepsFromEnv, gcKeysOf, TIME_MARGIN_MS } from "./deps";

const recheckMs = Number(process.env.SWEEP_RECHECK_MS ?? "");

export const handler = lambdaHandler({
  name: "GC sweep step",
  keys: gcKeysOf,
  run: async (event: SweepStepEvent, context) => {
    const remaining = context?.getRemainingTimeInMillis;
    return runSweepStep(gcDepsFromEnv(), event, {
      ...(Number.isInteger(recheckMs) && recheckMs >= 0 && process.env.SWEEP_RECHECK_MS
        ? { recheckMs }
        : {}),
      ...(remaining ? { outOfTime: () => remaining() < TIME_MARGIN_MS } : {}),
    });
  },
});
