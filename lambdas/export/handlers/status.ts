import type { ExportWorkflowState } from "../workflow/state";
import { runStatusStep } from "../workflow/status-step";
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
