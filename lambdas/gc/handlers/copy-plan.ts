import { type CopyMarkInput, runCopyPlanStep } from "../app/copy-mark";
import { gcDepsFromEnv } from "./deps";

export const handler = async (event: CopyMarkInput) => runCopyPlanStep(gcDepsFromEnv(), event);
