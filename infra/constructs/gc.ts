// Garbage collection: the GC workflow (lambdas/gc/steps).
//
//   ShouldMark? -- yes --> Commits -> CollectAddresses (distributed map over the work items,
//        |                 each child loops while its items need more Lambda time)
//        |              -> MarkPartitions (distributed map over the partitions)
//        v
//   ShouldSweep? -- yes --> SweepPlan -> SweepParts (distributed map over the marked text parts)
//        v
//   Summary -> Succeeded | RunFailed
//   any error (Catch) -> SummaryAfterFailure -> RunFailed
//
// Every map reads JSON Lines the previous step wrote to the work bucket (never a listing in
// the state payload) and discards its children's outputs: counts go through the work bucket.
import { Duration } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { lakeportFunction, lakeportLambdaStep } from "./function";
import type { WorkflowProps } from "./shared-props";
import { grantWorkBucket } from "./storage";

const J = sfn.JsonPath;

/** The run input (GcWorkflowInput) picked out of the state, for steps that validate it. */
const runInput = () =>
  sfn.TaskInput.fromObject({
    repository: J.stringAt("$.repository"),
    runId: J.stringAt("$.runId"),
    markId: J.stringAt("$.markId"),
    doMark: J.stringAt("$.doMark"),
    doSweep: J.stringAt("$.doSweep"),
    storageNamespace: J.stringAt("$.storageNamespace"),
    rules: J.objectAt("$.rules"),
    now: J.numberAt("$.now"),
  });

export class GcWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /**
   * Backup/restore of a mark: {repository, markId, storageNamespace, direction: "backup" |
   * "restore", location: "s3://bucket/prefix"}; CopyPlan -> CopyParts (distributed map).
   */
  readonly copyStateMachine: sfn.StateMachine;
  readonly functions: Record<
    "commits" | "addresses" | "mark" | "sweepPlan" | "sweep" | "summary" | "copyPlan" | "copyParts",
    lambda.IFunction
  >;

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    const base = { WORK_BUCKET: props.workBucket.bucketName };
    const lakeFsEnv = {
      LAKEFS_ENDPOINT: props.lakeFsEndpoint,
      LAKEFS_SECRET_ARN: props.lakeFsSecret.secretArn,
    };
    const fn = (name: string, entry: string, memorySize: number, minutes: number, env = {}) =>
      lakeportFunction(this, `${name}Function`, {
        entry: `lambdas/gc/handlers/${entry}.ts`,
        environment: { ...base, ...env },
        memorySize,
        timeout: Duration.minutes(minutes),
        logRetention: props.logRetention,
        description: `Lakeport GC: ${entry} step`,
      });
    const commits = fn("Commits", "commits", 1024, 15, lakeFsEnv);
    const addresses = fn("Addresses", "addresses", 1024, 15, lakeFsEnv);
    const mark = fn("Mark", "mark", 2048, 15);
    const sweepPlan = fn("SweepPlan", "sweep-plan", 512, 5);
    const sweep = fn("Sweep", "sweep", 1024, 15);
    const summary = fn("Summary", "summary", 512, 5, { TABLE_NAME: props.table.tableName });

    // Least privilege: lakeFS credentials only where lakeFS is read; the work bucket for all;
    // the storage namespaces' buckets: write reports, list the mark, delete only in the sweep.
    props.lakeFsSecret.grantRead(commits);
    props.lakeFsSecret.grantRead(addresses);
    for (const f of [commits, addresses, mark, sweepPlan, sweep, summary]) {
      grantWorkBucket(props.workBucket, f, "read-write");
    }
    const objects = props.storageBuckets.map((b) => `arn:aws:s3:::${b}/*`);
    const buckets = props.storageBuckets.map((b) => `arn:aws:s3:::${b}`);
    const allow = (f: lambda.IFunction, actions: string[], resources: string[]) =>
      f.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
    for (const f of [commits, mark, summary]) allow(f, ["s3:PutObject"], objects);
    allow(sweepPlan, ["s3:ListBucket"], buckets);
    allow(sweep, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], objects);
    props.table.grant(summary, "dynamodb:GetItem", "dynamodb:UpdateItem");

    const invoke = (name: string, f: lambda.IFunction, o: Partial<tasks.LambdaInvokeProps> = {}) =>
      lakeportLambdaStep(this, name, f, o);

    const runFailed = new sfn.Fail(this, "RunFailed", {
      error: "GcRunFailed",
      causePath: J.stringAt("$.summary.errorMessage"),
    });
    const failureSummary = invoke("SummaryAfterFailure", summary, {
      resultPath: "$.summary",
    }).next(runFailed);
    const catchAll = <T extends sfn.TaskStateBase | sfn.DistributedMap>(state: T): T => {
      state.addCatch(failureSummary, { errors: ["States.ALL"], resultPath: "$.error" });
      return state;
    };

    const mapOptions = (label: string, keyPath: string, batch: number, batchInput: object) => ({
      itemReader: new sfn.S3JsonLItemReader({
        bucket: props.workBucket,
        key: J.stringAt(keyPath),
      }),
      // CDK renders BatchInput as given: path fields need their ".$" suffix spelled out.
      itemBatcher: new sfn.ItemBatcher({ maxItemsPerBatch: batch, batchInput }),
      maxConcurrency: props.maxConcurrency,
      resultPath: J.DISCARD,
      label,
    });

    const commitsTask = catchAll(
      invoke("Commits", commits, { payload: runInput(), resultPath: "$.plan" }),
    );

    const collect = new sfn.DistributedMap(
      this,
      "CollectAddresses",
      mapOptions("CollectAddresses", "$.plan.itemsKey", 20, {
        "repository.$": "$.repository",
        "runId.$": "$.runId",
        "storageNamespace.$": "$.storageNamespace",
        "partitions.$": "$.plan.partitions",
      }),
    );
    const collectBatch = invoke("CollectBatch", addresses);
    collect.itemProcessor(
      collectBatch.next(
        new sfn.Choice(this, "BatchCollected?")
          .when(sfn.Condition.booleanEquals("$.done", true), new sfn.Succeed(this, "Collected"))
          .otherwise(collectBatch),
      ),
    );
    catchAll(collect);

    const markMap = new sfn.DistributedMap(
      this,
      "MarkPartitions",
      mapOptions("MarkPartitions", "$.plan.partitionsKey", 4, {
        "repository.$": "$.repository",
        "runId.$": "$.runId",
        "markId.$": "$.markId",
        "storageNamespace.$": "$.storageNamespace",
        "now.$": "$.now",
      }),
    );
    markMap.itemProcessor(invoke("MarkBatch", mark));
    catchAll(markMap);

    const sweepPlanTask = catchAll(
      invoke("SweepPlan", sweepPlan, { payload: runInput(), resultPath: "$.sweepPlan" }),
    );
    const sweepMap = new sfn.DistributedMap(
      this,
      "SweepParts",
      mapOptions("SweepParts", "$.sweepPlan.partsKey", 1, {
        "repository.$": "$.repository",
        "runId.$": "$.runId",
        "storageNamespace.$": "$.storageNamespace",
        "now.$": "$.now",
      }),
    );
    sweepMap.itemProcessor(invoke("SweepBatch", sweep));
    catchAll(sweepMap);

    const summaryTask = catchAll(invoke("Summary", summary, { resultPath: "$.summary" }));
    summaryTask.next(
      new sfn.Choice(this, "RunSucceeded?")
        .when(sfn.Condition.booleanEquals("$.summary.success", true), new sfn.Succeed(this, "Done"))
        .otherwise(runFailed),
    );

    const shouldSweep = new sfn.Choice(this, "ShouldSweep?")
      .when(
        sfn.Condition.booleanEquals("$.doSweep", true),
        sweepPlanTask.next(sweepMap).next(summaryTask),
      )
      .otherwise(summaryTask);
    const definition = new sfn.Choice(this, "ShouldMark?")
      .when(
        sfn.Condition.booleanEquals("$.doMark", true),
        commitsTask.next(collect).next(markMap).next(shouldSweep),
      )
      .otherwise(shouldSweep);

    this.stateMachine = new sfn.StateMachine(this, "StateMachine", {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.hours(24),
    });

    // Backup and restore: the objects of a mark copied out of the namespace and back, with the
    // export copy engine. Locations outside the namespace must be in storageBuckets or
    // exportBuckets (IAM).
    const copyPlan = fn("CopyPlan", "copy-plan", 512, 5);
    const copyParts = fn("CopyParts", "copy-parts", 1024, 15);
    grantWorkBucket(props.workBucket, copyPlan, "read-write");
    grantWorkBucket(props.workBucket, copyParts, "read");
    allow(copyPlan, ["s3:ListBucket"], buckets);
    const copyBuckets = [...new Set([...props.storageBuckets, ...props.exportBuckets])];
    allow(
      copyParts,
      ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
      copyBuckets.map((b) => `arn:aws:s3:::${b}/*`),
    );
    const copyPlanTask = invoke("CopyPlan", copyPlan, {
      payload: sfn.TaskInput.fromObject({
        repository: J.stringAt("$.repository"),
        copyId: J.stringAt("$$.Execution.Name"),
        markId: J.stringAt("$.markId"),
        storageNamespace: J.stringAt("$.storageNamespace"),
        direction: J.stringAt("$.direction"),
        location: J.stringAt("$.location"),
      }),
      resultPath: "$.plan",
    });
    const copyMap = new sfn.DistributedMap(
      this,
      "CopyParts",
      mapOptions("CopyParts", "$.plan.partsKey", 1, {
        "storageNamespace.$": "$.storageNamespace",
        "direction.$": "$.direction",
        "location.$": "$.location",
      }),
    );
    copyMap.itemProcessor(invoke("CopyBatch", copyParts));
    this.functions = { commits, addresses, mark, sweepPlan, sweep, summary, copyPlan, copyParts };
    this.copyStateMachine = new sfn.StateMachine(this, "CopyStateMachine", {
      definitionBody: sfn.DefinitionBody.fromChainable(copyPlanTask.next(copyMap)),
      timeout: Duration.hours(24),
    });
  }
}
