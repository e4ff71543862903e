import { runMarkersStep } from "../app/markers-step";
import type { ExportWorkflowState } from "../domain/workflow-state";
import { exportObjectStore, lakeFsClient, s3Client, workBucket } from "./deps";

export const handler = async (event: ExportWorkflowState) =>
  runMarkersStep(
    {
      store: exportObjectStore(),
      s3: s3Client(),
      lakefs: await lakeFsClient(),
      workBucket: workBucket(),
    },
    event,
  );
