import { runFinishStep } from "../app/finish-step";
import type { ExportWorkflowState } from "../domain/workflow-state";

export const handler = async (event: ExportWorkflowState) => runFinishStep(event);
