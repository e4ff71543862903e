import { runPlanStep } from "../app/plan-step";
import type { ExportWorkflowState } from "../domain/workflow-state";
import {
  exportObjectStore,
  type LambdaContextLike,
  lakeFsClient,
  PLAN_TIME_MARGIN_MS,
  workBucket,
} from "./deps";

export const handler = async (event: ExportWorkflowState, context?: LambdaContextLike) => {
  const remaining = context?.getRemainingTimeInMillis;
  return runPlanStep(
    { store: exportObjectStore(), lakefs: await lakeFsClient(), workBucket: workBucket() },
    event,
    { shouldContinue: () => !remaining || remaining() > PLAN_TIME_MARGIN_MS },
  );
};
