import { runStatusStep } from "../app/status-step";
import type { ExportWorkflowState } from "../domain/workflow-state";
import { exportObjectStore, lakeFsClient, workBucket } from "./deps";

export const handler = async (event: ExportWorkflowState) =>
  runStatusStep(
    {
      store: exportObjectStore(),
      lakefs: await lakeFsClient(),
      workBucket: workBucket(),
      now: () => new Date(),
    },
    event,
  );
