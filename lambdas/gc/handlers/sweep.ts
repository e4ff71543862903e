import { runSweepStep, type SweepStepEvent } from "../steps/sweep";
import { gcDepsFromEnv } from "./deps";

export const handler = async (event: SweepStepEvent) => runSweepStep(gcDepsFromEnv(), event);
