import { type CopyMarkInput, runCopyPlanStep } from "../steps/copy-mark";
import { gcDepsFromEnv } from "./deps";

export const handler = async (event: CopyMarkInput) => runCopyPlanStep(gcDepsFromEnv(), event);
