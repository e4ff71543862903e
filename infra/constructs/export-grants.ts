// Least privilege for the export workflow's functions (export.ts): each gets what its code
// uses of the state table (by partition), the work bucket (exports/ only), Step Functions,
// lakeFS's credentials and the storage and export buckets.
import { Arn, ArnFormat, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { EXPORT_WORK_ROOT } from "../../lambdas/export/domain/work-layout";
import { EXPORT_PROGRESS_PK_PREFIX, REPO_PK_PREFIX } from "../../lambdas/shared/dynamodb/table";
import type { WorkflowProps } from "./shared-props";
import { grantWorkBucket } from "./storage";
import { grantItems, grantKindQuery } from "./table-grants";

export type ExportFunctions = Record<
  | "trigger"
  | "plan"
  | "copy"
  | "markers"
  | "manifestGroup"
  | "status"
  | "finish"
  | "writersCheck"
  | "watchdog"
  | "stuckCheck",
  lambda.IFunction
>;

const allow = (f: lambda.IFunction, actions: string[], resources: string[]) =>
  f.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));

/** Least privilege. */
export function grantExportFunctions(
  functions: ExportFunctions,
  props: WorkflowProps,
  machine: { stateMachineName: string; stateMachineArn: string },
): void {
  const { trigger, plan, copy, markers, manifestGroup, status, watchdog, stuckCheck } = functions;
  for (const f of [trigger, plan, markers, status, watchdog, stuckCheck]) {
    props.lakeFsSecret.grantRead(f);
  }
  // An export's files live under exports/<export id>/ (work-layout.ts).
  for (const f of [plan, copy, markers, manifestGroup, status]) {
    grantWorkBucket(props.workBucket, f, "read-write", EXPORT_WORK_ROOT);
  }
  grantWorkBucket(props.workBucket, functions.writersCheck, "read", EXPORT_WORK_ROOT);
  grantExportState(functions, props);
  grantStarts(functions, machine);
  grantExportBuckets(functions, props);
}

/** The state table: every statement names the partitions (or kinds) the code touches. */
function grantExportState(functions: ExportFunctions, props: WorkflowProps): void {
  const { trigger, plan, copy, status, watchdog, stuckCheck } = functions;
  // The trigger and the execution-ended handler read and write one branch's configuration
  // and export state (ExportStore): items of the repository's partition only.
  for (const f of [trigger, watchdog]) {
    const actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"];
    grantItems(f, props.table, actions, [REPO_PK_PREFIX]);
  }
  for (const f of [trigger, watchdog, stuckCheck]) {
    // A start is recorded only if the configuration it was decided with is still stored: a
    // TransactWriteItems whose ConditionCheck on the configuration item (ExportStore
    // compareAndSetState) IAM authorizes as dynamodb:ConditionCheckItem, not PutItem.
    // Configurations live in the repository's partition only.
    grantItems(f, props.table, ["dynamodb:ConditionCheckItem"], [REPO_PK_PREFIX]);
  }
  for (const f of [plan, copy, status]) {
    grantItems(f, props.table, ["dynamodb:UpdateItem"], [EXPORT_PROGRESS_PK_PREFIX]);
  }
  // The status step reads the branch's export state: a run that is no longer the branch's
  // latest export (a redrive of an older execution) writes no success line.
  grantItems(status, props.table, ["dynamodb:GetItem"], [REPO_PK_PREFIX]);
  // The stuck check lists export states (the kind index), re-reads and fails them, and starts
  // a lost follow-up export or a missed head as the watchdog would: reading the configuration,
  // writing the state (the repository's partition).
  grantItems(
    stuckCheck,
    props.table,
    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    [REPO_PK_PREFIX],
  );
  grantKindQuery(stuckCheck, props.table, ["export-state"]);
}

/** StartExecution and DescribeExecution of this state machine, for the functions that start. */
function grantStarts(
  functions: ExportFunctions,
  machine: { stateMachineName: string; stateMachineArn: string },
): void {
  const { trigger, watchdog, stuckCheck } = functions;
  // Every function that starts exports looks an execution up by name: after a StartExecution
  // whose answer was lost (start-export.ts launch), and before re-deciding a crashed start.
  const executions = Arn.format(
    {
      service: "states",
      resource: "execution",
      resourceName: `${machine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    },
    Stack.of(trigger),
  );
  for (const f of [trigger, watchdog, stuckCheck]) {
    allow(f, ["states:StartExecution"], [machine.stateMachineArn]);
    allow(f, ["states:DescribeExecution"], [executions]);
  }
}

/** The storage buckets (copy sources) and the export buckets (copies, markers, status files). */
function grantExportBuckets(functions: ExportFunctions, props: WorkflowProps): void {
  const { plan, copy, markers, manifestGroup, status } = functions;
  const objectsOf = (buckets: s3.IBucket[]) => buckets.map((b) => b.arnForObjects("*"));
  const bucketsOf = (buckets: s3.IBucket[]) => buckets.map((b) => b.bucketArn);
  // The copies read their sources (CopyObject, UploadPartCopy, HEAD of a source of unknown
  // size: s3:GetObject; no request names a version) and write, delete and abort multipart
  // uploads in the export buckets, where they read nothing. A copy of a tagged source asks
  // for the tagging permissions on both sides (S3's rule for copying objects with tags),
  // even though the export's copies replace the tags with none.
  if (props.storageBuckets.length > 0) {
    allow(copy, ["s3:GetObject", "s3:GetObjectTagging"], objectsOf(props.storageBuckets));
  }
  if (props.exportBuckets.length === 0) return;
  const exportObjects = objectsOf(props.exportBuckets);
  allow(
    copy,
    ["s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject", "s3:AbortMultipartUpload"],
    exportObjects,
  );
  // A multipart copy's lost CompleteMultipartUpload answer: the destination is HEADed.
  allow(copy, ["s3:GetObject"], exportObjects);
  // Markers of directories an export emptied are deleted.
  allow(markers, ["s3:PutObject", "s3:DeleteObject"], exportObjects);
  // Full exports list the export path against the commit (deleting what is extra); an
  // incremental export reads the previous manifest's index (status files live in an export
  // bucket) to tell whether it can merge with it; the first call deletes the status line and
  // document of the commit.
  allow(plan, ["s3:ListBucket"], bucketsOf(props.exportBuckets));
  allow(plan, ["s3:GetObject", "s3:DeleteObject"], exportObjects);
  // Status files live in an export bucket too; the previous manifest is read back.
  allow(status, ["s3:PutObject", "s3:GetObject"], exportObjects);
  allow(status, ["s3:ListBucket"], bucketsOf(props.exportBuckets));
  // A full export's manifest parts and their CSV twins, beside the status files.
  allow(manifestGroup, ["s3:PutObject"], exportObjects);
}
