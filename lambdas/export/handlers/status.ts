import { lambdaHandler } from "../../shared/lambda-handler";
import { powertoolsMetrics } from "../../shared/powertools-metrics";
import { runStatusStep } from "../app/status-step";
import type { ExportWorkflowState } from "../domain/workflow-state";
import {
  exportKeysOf,
  exportObjectStore,
  exportStore,
  lakeFsClient,
  progressStore,
  workBucket,
} from "./deps";

export const handler = lambdaHandler({
  name: "export status step",
  keys: exportKeysOf,
  run: async (event: ExportWorkflowState) =>
    runStatusStep(
      {
        store: exportObjectStore(),
        lakefs: await lakeFsClient(),
        workBucket: workBucket(),
        now: () => new Date(),
        metrics: powertoolsMetrics(),
        progress: progressStore(),
        exports: exportStore(),
      },
      event,
    ),
});
