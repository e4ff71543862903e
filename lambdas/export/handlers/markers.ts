import { runMarkersStep } from "../workflow/markers-step";
import type { ExportWorkflowState } from "../workflow/state";
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
