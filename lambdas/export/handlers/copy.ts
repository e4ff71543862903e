import { type CopyBatchEvent, runCopyStep } from "../app/copy-step";
import { copyOptionsFromEnv, exportObjectStore, s3Client, workBucket } from "./deps";

export const handler = async (event: CopyBatchEvent) =>
  runCopyStep(
    {
      store: exportObjectStore(),
      s3: s3Client(),
      workBucket: workBucket(),
      copy: copyOptionsFromEnv(),
    },
    event,
  );
