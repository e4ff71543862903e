import { lambdaHandler } from "../../shared/lambda-handler";
import { type CopyBatchEvent, runCopyStep } from "../app/copy-step";
import { copyOptionsFromEnv, exportObjectStore, progressStore, s3Client, workBucket } from "./deps";

export const handler = lambdaHandler({
  name: "export copy batch",
  keys: (event: CopyBatchEvent) => ({ exportId: event?.BatchInput?.exportId }),
  run: async (event: CopyBatchEvent) =>
    runCopyStep(
      {
        store: exportObjectStore(),
        s3: s3Client(),
        workBucket: workBucket(),
        copy: copyOptionsFromEnv(),
        progress: progressStore(),
      },
      event,
    ),
});
