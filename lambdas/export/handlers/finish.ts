import { runFinishStep } from "../workflow/finish-step";
import type { ExportWorkflowState } from "../workflow/state";

export const handler = async (event: ExportWorkflowState) => runFinishStep(event);
