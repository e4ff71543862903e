// The props the export and GC workflow constructs take in infra tests: a stack's own storage,
// a bus, a lakeFS secret, one storage and one export bucket.
import type { Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import type { Storage } from "../../infra/constructs/storage";

export function workflowPropsOf(stack: Stack, storage: Storage) {
  return {
    table: storage.table,
    workBucket: storage.workBucket,
    eventBus: new events.EventBus(stack, "Bus"),
    lakeFsEndpoint: "https://lakefs.example.com",
    lakeFsSecret: secrets.Secret.fromSecretCompleteArn(
      stack,
      "LakeFs",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:lakefs-AbCdEf",
    ),
    storageBuckets: [s3.Bucket.fromBucketArn(stack, "Data", "arn:aws:s3:::lake-data")],
    exportBuckets: [s3.Bucket.fromBucketArn(stack, "Exports", "arn:aws:s3:::lake-exports")],
    maxConcurrency: 7,
    logRetention: logs.RetentionDays.ONE_WEEK,
  };
}
