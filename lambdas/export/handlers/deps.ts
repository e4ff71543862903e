// Composition root of the export Lambdas: clients and stores from the function's environment
// (TABLE_NAME, WORK_BUCKET, EXPORT_STATE_MACHINE_ARN, LAKEFS_ENDPOINT + credentials,
// MULTIPART_THRESHOLD_BYTES, MULTIPART_PART_SIZE_BYTES, COPY_CONCURRENCY), built lazily once per
// container so a step only touches what it uses.
import type { S3Client } from "@aws-sdk/client-s3";
import { createDynamoDbClient, createS3Client, createSfnClient } from "../../shared/aws/clients";
import { S3ObjectStore } from "../../shared/aws/s3-object-store";
import { SfnWorkflowStarter } from "../../shared/aws/sfn-workflow-starter";
import { documentClient } from "../../shared/dynamodb/document-client";
import { optionalInteger, required } from "../../shared/env";
import type { LakeFsClient } from "../../shared/lakefs/client";
import { createLakeFsClientFromEnv } from "../../shared/lakefs/factory";
import type { LogKeys } from "../../shared/logger";
import type { CopyBatchOptions } from "../../shared/s3-copy";
import { ExportStore } from "../adapters/export-store";
import { DynamoExportProgressStore } from "../adapters/progress-store";
import type { StartExportDeps } from "../app/start-export";
import type { ExportWorkflowState } from "../domain/workflow-state";

let s3: S3Client | undefined;
export const s3Client = () => {
  s3 ??= createS3Client();
  return s3;
};

let objectStore: S3ObjectStore | undefined;
export const exportObjectStore = () => {
  objectStore ??= new S3ObjectStore(s3Client());
  return objectStore;
};

let lakefs: Promise<LakeFsClient> | undefined;
export const lakeFsClient = (): Promise<LakeFsClient> => {
  lakefs ??= createLakeFsClientFromEnv().catch((err) => {
    lakefs = undefined;
    throw err;
  });
  return lakefs;
};

let exports: ExportStore | undefined;
export const exportStore = () => {
  exports ??= new ExportStore(documentClient(createDynamoDbClient()), required("TABLE_NAME"));
  return exports;
};

let progress: DynamoExportProgressStore | undefined;
export const progressStore = () => {
  progress ??= new DynamoExportProgressStore(
    documentClient(createDynamoDbClient()),
    required("TABLE_NAME"),
  );
  return progress;
};

export const workBucket = () => required("WORK_BUCKET");

export function copyOptionsFromEnv(): CopyBatchOptions {
  const threshold = optionalInteger("MULTIPART_THRESHOLD_BYTES");
  const partSize = optionalInteger("MULTIPART_PART_SIZE_BYTES");
  const concurrency = optionalInteger("COPY_CONCURRENCY");
  return {
    ...(threshold ? { multipartThresholdBytes: threshold } : {}),
    ...(partSize ? { partSizeBytes: partSize } : {}),
    ...(concurrency ? { concurrency } : {}),
  };
}

export async function startDepsFromEnv(): Promise<StartExportDeps> {
  return {
    exports: exportStore(),
    lakefs: await lakeFsClient(),
    workflows: new SfnWorkflowStarter(createSfnClient()),
    exportStateMachineArn: required("EXPORT_STATE_MACHINE_ARN"),
    now: () => new Date(),
  };
}

/** Stop planning once less than this is left of the Lambda's time. */
export const PLAN_TIME_MARGIN_MS = 60_000;

/** The log keys of a workflow step's event: the export it works on. */
export function exportKeysOf(state: ExportWorkflowState): LogKeys {
  return { repository: state?.repository, branch: state?.branch, exportId: state?.exportId };
}
