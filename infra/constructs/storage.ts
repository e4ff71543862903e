// State table (single-table design of lambdas/shared/state/table.ts) and the work bucket
// (temporary shards of exports and GC runs).
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2 } from "aws-cdk-lib/cx-api";
import { Construct } from "constructs";
import { EXPORT_WORK_ROOT } from "../../lambdas/export/domain/work-layout";
import { GC_WORK_ROOT } from "../../lambdas/gc/domain/paths";
import {
  KIND_INDEX,
  PARTITION_KEY,
  SORT_KEY,
  TTL_ATTRIBUTE,
} from "../../lambdas/shared/dynamodb/table";

/** Objects under this prefix of the work bucket are temporary and expire. */
export const WORK_BUCKET_TEMPORARY_PREFIX = "tmp/";
/**
 * Every prefix of the work bucket holding temporary shards: exports (lambdas/export/domain/
 * work-layout.ts, `exports/<id>/`), GC runs (lambdas/gc/domain/paths.ts, `gc/<repo>/<run>/`)
 * and scratch space. No workflow runs for a week, so a week-old shard is garbage.
 */
export const WORK_BUCKET_EXPIRING_PREFIXES = [
  EXPORT_WORK_ROOT,
  GC_WORK_ROOT,
  WORK_BUCKET_TEMPORARY_PREFIX,
];
export const WORK_BUCKET_TEMPORARY_DAYS = 7;
/** Where distributed maps write their children's results (expiring with the temporary prefix). */
export const MAP_RESULTS_PREFIX = `${WORK_BUCKET_TEMPORARY_PREFIX}map-results`;

/**
 * A distributed map's ResultWriter into the work bucket. Without one, the children's results
 * come back as one array that Step Functions holds to 256 KB even when ResultPath is null:
 * past that, States.DataLimitExceeded, which States.ALL does not catch.
 */
export function mapResultWriter(workBucket: s3.IBucket): sfn.ResultWriterV2 {
  return new sfn.ResultWriterV2({ bucket: workBucket, prefix: MAP_RESULTS_PREFIX });
}

/** CDK renders ResultWriterV2 only under this flag: set on a workflow before its states. */
export function useResultWriterV2(scope: Construct): void {
  scope.node.setContext(STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
}
/** Server access logs of the work bucket are kept this long. */
export const ACCESS_LOG_DAYS = 90;

export interface StorageProps {
  /** RETAIN (default) keeps the table and bucket when the stack is deleted. */
  removalPolicy?: RemovalPolicy;
  /** Customer managed key of the table and the work bucket (default: AWS managed keys). */
  encryptionKey?: kms.IKey;
}

export class Storage extends Construct {
  readonly table: dynamodb.Table;
  readonly workBucket: s3.Bucket;
  /** Server access logs of the work bucket (S3 log delivery writes here). */
  readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.table = new dynamodb.Table(this, "State", {
      partitionKey: { name: PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: SORT_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      ...(props.encryptionKey
        ? {
            encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryptionKey: props.encryptionKey,
          }
        : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
      timeToLiveAttribute: TTL_ATTRIBUTE,
      removalPolicy,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: KIND_INDEX.name,
      partitionKey: { name: KIND_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: KIND_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    // S3 server access log delivery writes only to SSE-S3 buckets.
    this.accessLogsBucket = new s3.Bucket(this, "AccessLogs", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // S3 server access log delivery needs object writer ownership (no ACLs otherwise).
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      removalPolicy,
      lifecycleRules: [{ id: "expire-access-logs", expiration: Duration.days(ACCESS_LOG_DAYS) }],
    });

    this.workBucket = new s3.Bucket(this, "Work", {
      ...(props.encryptionKey
        ? {
            encryption: s3.BucketEncryption.KMS,
            encryptionKey: props.encryptionKey,
            bucketKeyEnabled: true,
          }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects: false,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: "work/",
      lifecycleRules: WORK_BUCKET_EXPIRING_PREFIXES.map((prefix) => ({
        id: `expire-${prefix.replace(/\W/g, "")}`,
        prefix,
        expiration: Duration.days(WORK_BUCKET_TEMPORARY_DAYS),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      })),
    });
  }
}

/**
 * What a workflow step may do in the work bucket, under `prefix` (its workflow's files): read
 * shards (GetObject) and, for "read-write", write them. Never delete: the lifecycle rules expire
 * shards. ListBucket stays on the bucket without an s3:prefix condition: S3 answers a read of a
 * missing key 404 (NoSuchKey, which the steps take for "not written yet") only to a caller
 * allowed to list the bucket, and whether it counts a prefix-conditioned grant there is not
 * documented; a list reveals key names only.
 */
export function grantWorkBucket(
  bucket: s3.IBucket,
  grantee: iam.IGrantable,
  access: "read" | "read-write",
  prefix: string,
): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: access === "read" ? ["s3:GetObject"] : ["s3:GetObject", "s3:PutObject"],
      resources: [bucket.arnForObjects(`${prefix}*`)],
    }),
  );
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ["s3:ListBucket"], resources: [bucket.bucketArn] }),
  );
}
