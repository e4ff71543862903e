import { lambdaHandler } from "../../shared/lambda-handler";
import { runMarkersStep } from "../app/markers-step";
import type { ExportWorkflowState } from "../domain/workflow-state";
import { exportKeysOf, exportObjectStore, lakeFsClient, s3Client, workBucket } from "./deps";

export const handler = lambdaHandler({
  name: "export markers step",
  keys: exportKeysOf,
  run: async (event: ExportWorkflowState) =>
    runMarkersStep(
      {
        store: exportObjectStore(),
        s3: s3Client(),
        lakefs: await lakeFsClient(),
        workBucket: workBucket(),
      },
      event,
    ),
  summary: ({ errorSamples: _samples, ...counts }) => counts,
});
