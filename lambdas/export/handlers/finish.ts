import { runFinishStep } from "../workflow/finish-step";
import type { ExportWorkflowState } from "../workflow/state";
import { exportStore } from "./deps";

export const handler = async (event: ExportWorkflowState) =>
  runFinishStep({ exports: exportStore(), now: () => new Date() }, event);
