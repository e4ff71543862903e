import { runFinishStep } from "../app/finish-export";
import type { ExportWorkflowState } from "../domain/workflow-state";

export const handler = async (event: ExportWorkflowState) => runFinishStep(event);
