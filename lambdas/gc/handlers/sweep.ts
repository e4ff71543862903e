import { runSweepStep, type SweepStepEvent } from "../app/sweep";
import { gcDepsFromEnv } from "./deps";

const recheckMs = Number(process.env.SWEEP_RECHECK_MS ?? "");

export const handler = async (event: SweepStepEvent) =>
  runSweepStep(gcDepsFromEnv(), event, {
    ...(Number.isInteger(recheckMs) && recheckMs >= 0 && process.env.SWEEP_RECHECK_MS
      ? { recheckMs }
      : {}),
  });
