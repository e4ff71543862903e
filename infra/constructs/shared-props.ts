import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as events from "aws-cdk-lib/aws-events";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as secrets from "aws-cdk-lib/aws-secretsmanager";

/** What the export and GC workflow constructs share. */
export interface WorkflowProps {
  table: dynamodb.ITable;
  workBucket: s3.IBucket;
  eventBus: events.IEventBus;
  lakeFsEndpoint: string;
  /** JSON {accessKeyId, secretAccessKey} for lakeFS. */
  lakeFsSecret: secrets.ISecret;
  /** Buckets holding repositories' storage namespaces: read by export, cleaned by GC. */
  storageBuckets: string[];
  /** Buckets export may write to. */
  exportBuckets: string[];
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
