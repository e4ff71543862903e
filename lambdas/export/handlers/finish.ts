import { runFinishStep } from "../workflow/finish-step";
import type { ExportWorkflowState } from "../workflow/state";
import { startDepsFromEnv } from "./deps";

export const handler = async (event: ExportWorkflowState) =>
  runFinishStep(await startDepsFromEnv(), event);
