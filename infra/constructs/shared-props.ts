import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as events from "aws-cdk-lib/aws-events";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as secrets from "aws-cdk-lib/aws-secretsmanager";
import type { LakeFsNetwork } from "./function";

/** What the export and GC workflow constructs share. */
export interface WorkflowProps {
  table: dynamodb.ITable;
  workBucket: s3.IBucket;
  eventBus: events.IEventBus;
  lakeFsEndpoint: string;
  /** JSON {accessKeyId, secretAccessKey} for lakeFS. */
  lakeFsSecret: secrets.ISecret;
  /** Buckets holding repositories' storage namespaces: read by export, cleaned by GC. */
  storageBuckets: s3.IBucket[];
  /** Buckets export may write to. */
  exportBuckets: s3.IBucket[];
  /** The VPC placement of the functions that call lakeFS. */
  lakeFsNetwork?: LakeFsNetwork;
  /** Customer managed key of the log groups. */
  logsKey?: kms.IKey;
  /** Upper bound of concurrent child executions of each distributed map. */
  maxConcurrency: number;
  logRetention: logs.RetentionDays;
}

/** What only the GC workflow takes. */
export interface GcWorkflowProps extends WorkflowProps {
  /** A mark older than this cannot be swept (hours, 1 to 168). */
  maxMarkAgeHours: number;
  /** Lifetime of the one-run-per-repository lease without renewal; default 30 minutes. */
  gcLeaseSeconds?: number;
}
