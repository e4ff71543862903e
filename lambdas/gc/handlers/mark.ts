import { type MarkStepEvent, runMarkStep } from "../app/mark";
import { gcDepsFromEnv } from "./deps";

export const handler = async (event: MarkStepEvent) => runMarkStep(gcDepsFromEnv(), event);
