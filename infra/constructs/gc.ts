// Garbage collection: the GC workflow (lambdas/gc/app), and the copy workflow of GC backup
// and restore.
//
//   ShouldMark? -- yes --> Commits -> CollectAddresses (distributed map over the work items,
//        |                 each child loops while its items need more Lambda time)
//        |              -> MarkPartitions (distributed map over the partitions) -> EndMark
//        v
//   ShouldSweep? -- yes --> Revalidate -> CollectRevived (distributed map: what became
//        |                 referenced again since the mark) -> CatchUp -> Settled? (no: what
//        |                 was committed meanwhile, CollectRevived again) -> SweepParts
//        |                 (distributed map over the marked text parts, each delete request
//        |                 checked again)
//        v
//   Summary -> Succeeded | RunFailed
//   any error (Catch) -> SummaryAfterFailure -> RunFailed
//
// Every map reads JSON Lines the previous step wrote to the work bucket (never a listing in
// the state payload) and discards its children's outputs: counts go through the work bucket.
import { Duration } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { BACKUP_RECORD_NAME } from "../../lambdas/gc/domain/backup-record";
import { GC_OUTPUT_PREFIXES, GC_WORK_ROOT } from "../../lambdas/gc/domain/paths";
import { SWEEP_FUNCTION_TIMEOUT_SECONDS } from "../../lambdas/gc/domain/restore-after-sweep";
import { GcWorkflowInputSchema } from "../../lambdas/gc/domain/workflow-input";
import {
  EXPORT_PATHS_PK,
  GC_BACKUPS_PK,
  GC_LEASE_PK_PREFIX,
  REPO_PK_PREFIX,
} from "../../lambdas/shared/dynamodb/table";
import { lakeportFunction, lakeportLambdaStep } from "./function";
import type { GcWorkflowProps } from "./shared-props";
import { grantWorkBucket, mapResultWriter, useResultWriterV2 } from "./storage";
import { grantItems, grantKindQuery, grantPartitions } from "./table-grants";

const J = sfn.JsonPath;

/** The run input (GcWorkflowInput's fields) picked out of the state, for steps that validate it. */
const runInput = () =>
  sfn.TaskInput.fromObject(
    Object.fromEntries(
      Object.keys(GcWorkflowInputSchema.shape).map((k) => [k, J.stringAt(`$.${k}`)]),
    ),
  );

const allow = (f: lambda.IFunction, actions: string[], resources: string[]) =>
  f.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
const bucketArns = (buckets: s3.IBucket[]) => buckets.map((b) => b.bucketArn);

type GcSteps = Record<
  "commits" | "addresses" | "mark" | "endMark" | "revalidate" | "sweep" | "summary",
  lambda.IFunction
>;

/** Object ARNs under `prefix` of a namespace in `bucket`, whether at the root or below. */
export function gcObjectArns(bucket: s3.IBucket, prefix: string): string[] {
  return [bucket.arnForObjects(`${prefix}*`), bucket.arnForObjects(`*/${prefix}*`)];
}

export class GcWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /**
   * Backup/restore of a mark: {repository, markId, storageNamespace, direction: "backup" |
   * "restore", location: "s3://bucket/prefix", acceptIncompleteBackup?: boolean};
   * CopyOptionsGiven? (-> CopyDefaults) -> CopyPlan -> CopyParts (distributed map) -> CopyEnd.
   * The plan checks the location's backup record (a backup writes it in-progress); a
   * restore's CopyPlan retires the mark once its checks passed (refused while a sweep of it
   * runs), before CopyParts copies anything back. CopyEnd sums the parts' counts (`$.end`),
   * completes a backup's record, and fails a restore that finds less than its backup saved.
   */
  readonly copyStateMachine: sfn.StateMachine;
  readonly functions: Record<
    | "commits"
    | "addresses"
    | "mark"
    | "endMark"
    | "revalidate"
    | "sweep"
    | "summary"
    | "copyPlan"
    | "copyParts"
    | "copyEnd",
    lambda.IFunction
  >;

  constructor(scope: Construct, id: string, props: GcWorkflowProps) {
    super(scope, id);
    useResultWriterV2(this);
    const steps = this.createSteps(props);
    this.grantSteps(props, steps);
    this.stateMachine = this.createStateMachine(props, steps);
    const copy = this.createCopyWorkflow(props);
    this.functions = {
      ...steps,
      copyPlan: copy.copyPlan,
      copyParts: copy.copyParts,
      copyEnd: copy.copyEnd,
    };
    this.copyStateMachine = copy.stateMachine;
  }

  /** One GC function: the run's settings, its own memory, time and extra settings. */
  private stepFunction(
    props: GcWorkflowProps,
    name: string,
    entry: string,
    memorySize: number,
    minutes: number,
    env: Record<string, string> = {},
  ) {
    return lakeportFunction(this, `${name}Function`, {
      entry: `lambdas/gc/handlers/${entry}.ts`,
      environment: {
        WORK_BUCKET: props.workBucket.bucketName,
        TABLE_NAME: props.table.tableName,
        ...(props.gcLeaseSeconds ? { GC_LEASE_SECONDS: String(props.gcLeaseSeconds) } : {}),
        ...env,
      },
      memorySize,
      timeout: Duration.minutes(minutes),
      logRetention: props.logRetention,
      description: `Lakeport GC: ${entry} step`,
      ...(props.lakeFsNetwork ? { lakeFsNetwork: props.lakeFsNetwork } : {}),
      ...(props.logsKey ? { logsKey: props.logsKey } : {}),
    });
  }

  private createSteps(props: GcWorkflowProps) {
    const lakeFsEnv = lakeFsEnvOf(props);
    const fn = this.stepFunction.bind(this, props);
    return {
      commits: fn("Commits", "commits", 1024, 15, lakeFsEnv),
      addresses: fn("Addresses", "addresses", 1024, 15, lakeFsEnv),
      mark: fn("Mark", "mark", 2048, 15),
      endMark: fn("EndMark", "end-mark", 256, 1),
      revalidate: fn("Revalidate", "revalidate", 1024, 15, {
        ...lakeFsEnv,
        GC_MAX_MARK_AGE_HOURS: String(props.maxMarkAgeHours),
      }),
      sweep: fn("Sweep", "sweep", 1024, SWEEP_FUNCTION_TIMEOUT_SECONDS / 60, lakeFsEnv),
      summary: fn("Summary", "summary", 512, 5),
    };
  }

  /**
   * Least privilege. lakeFS credentials where lakeFS is read; the work bucket's gc/. In
   * the storage buckets GC writes only its reports and logs (GC_OUTPUT_PREFIXES), reads only
   * its own reports, and only the sweep deletes. Every step renews the repository's lease
   * (its own partition key prefix); only the steps that record runs and marks update those.
   */
  private grantSteps(props: GcWorkflowProps, steps: GcSteps): void {
    const { commits, addresses, mark, endMark, revalidate, sweep, summary } = steps;
    const all = Object.values(steps);
    for (const f of [commits, addresses, revalidate, sweep]) props.lakeFsSecret.grantRead(f);
    // The work bucket: the run's own files under gc/ only; the summary only reads the counts,
    // the end of the mark touches none.
    for (const f of [commits, addresses, mark, revalidate, sweep]) {
      grantWorkBucket(props.workBucket, f, "read-write", GC_WORK_ROOT);
    }
    grantWorkBucket(props.workBucket, summary, "read", GC_WORK_ROOT);
    const [retention, gcLogs] = GC_OUTPUT_PREFIXES;
    const under = (prefix: string) => props.storageBuckets.flatMap((b) => gcObjectArns(b, prefix));
    const write = ["s3:PutObject", "s3:AbortMultipartUpload"];
    allow(commits, write, under(retention));
    allow(mark, write, [...under(retention), ...under(gcLogs)]);
    allow(summary, write, under(retention));
    allow(revalidate, ["s3:GetObject"], under(retention));
    allow(revalidate, ["s3:ListBucket"], bucketArns(props.storageBuckets));
    allow(sweep, ["s3:GetObject"], under(retention));
    allow(sweep, write, under(gcLogs));
    // A list of more than a part is a multipart upload: a CompleteMultipartUpload whose answer
    // was lost is retried, answered NoSuchUpload, and the object HEADed to tell whether it
    // completed (s3-copy/copy-object.ts completeMultipartUpload).
    allow(mark, ["s3:GetObject"], [...under(retention), ...under(gcLogs)]);
    allow(sweep, ["s3:GetObject"], under(gcLogs));
    allow(
      sweep,
      ["s3:DeleteObject"],
      props.storageBuckets.map((b) => b.arnForObjects("*")),
    );
    for (const f of all) {
      grantItems(f, props.table, ["dynamodb:GetItem", "dynamodb:UpdateItem"], [GC_LEASE_PK_PREFIX]);
    }
    // Runs, marks and rules are in the repository's partition (REPO#): the end of the mark
    // updates the mark (GcStore.endMark); revalidation reads the mark and the rules and claims
    // the mark for its sweep (beginSweep); the summary reads and ends the run and its mark and
    // releases the lease (completeRun, releaseLease: the lease's own partition).
    // (An end whose update failed its condition is read back: its own earlier write, whose
    // answer was lost, or a real failure.)
    grantItems(endMark, props.table, ["dynamodb:GetItem", "dynamodb:UpdateItem"], [REPO_PK_PREFIX]);
    for (const f of [revalidate, summary]) {
      grantItems(f, props.table, ["dynamodb:GetItem", "dynamodb:UpdateItem"], [REPO_PK_PREFIX]);
    }
    grantItems(summary, props.table, ["dynamodb:DeleteItem"], [GC_LEASE_PK_PREFIX]);
    // The sweep's last-moment checks read the repository's GC rules (read only).
    grantItems(sweep, props.table, ["dynamodb:GetItem"], [REPO_PK_PREFIX]);
  }

  private invoke(name: string, f: lambda.IFunction, o: Partial<tasks.LambdaInvokeProps> = {}) {
    return lakeportLambdaStep(this, name, f, o);
  }

  /** A distributed map over the JSON Lines at `keyPath` of the state, in batches. */
  private map(
    props: GcWorkflowProps,
    label: string,
    keyPath: string,
    batch: number,
    batchInput: object,
  ) {
    return new sfn.DistributedMap(this, label, {
      itemReader: new sfn.S3JsonLItemReader({
        bucket: props.workBucket,
        key: J.stringAt(keyPath),
      }),
      // CDK renders BatchInput as given: path fields need their ".$" suffix spelled out.
      itemBatcher: new sfn.ItemBatcher({ maxItemsPerBatch: batch, batchInput }),
      maxConcurrency: props.maxConcurrency,
      // The children's results go to S3: returned inline they are one array, which Step
      // Functions holds to 256 KB even with ResultPath null (States.DataLimitExceeded, which
      // no Catch takes), a few thousand children in.
      resultWriterV2: mapResultWriter(props.workBucket),
      resultPath: J.DISCARD,
      label,
    });
  }

  /**
   * The address step over work items, each child looping while its items need more Lambda
   * time: into the mark's area, or ("revived") what revalidation spares.
   */
  private addressMap(
    props: GcWorkflowProps,
    addresses: lambda.IFunction,
    names: { map: string; batch: string; done: string; succeed: string },
    from: "$.plan" | "$.revalidation",
    area?: "revived",
  ) {
    const map = this.map(props, names.map, `${from}.itemsKey`, 20, {
      "repository.$": "$.repository",
      "runId.$": "$.runId",
      "storageNamespace.$": "$.storageNamespace",
      "partitions.$": `${from}.partitions`,
      ...(area ? { area } : {}),
    });
    const batch = this.invoke(names.batch, addresses);
    map.itemProcessor(
      batch.next(
        new sfn.Choice(this, names.done)
          .when(sfn.Condition.booleanEquals("$.done", true), new sfn.Succeed(this, names.succeed))
          .otherwise(batch),
      ),
    );
    return map;
  }

  private createStateMachine(props: GcWorkflowProps, steps: GcSteps): sfn.StateMachine {
    const { commits, addresses, mark, endMark, revalidate, sweep, summary } = steps;
    const runFailed = new sfn.Fail(this, "RunFailed", {
      error: "GcRunFailed",
      causePath: J.stringAt("$.summary.errorMessage"),
    });
    const failureSummary = this.invoke("SummaryAfterFailure", summary, {
      resultPath: "$.summary",
    }).next(runFailed);
    const catchAll = <T extends sfn.TaskStateBase | sfn.DistributedMap>(state: T): T => {
      state.addCatch(failureSummary, { errors: ["States.ALL"], resultPath: "$.error" });
      return state;
    };
    const commitsTask = catchAll(
      this.invoke("Commits", commits, { payload: runInput(), resultPath: "$.plan" }),
    );
    const collect = catchAll(
      this.addressMap(
        props,
        addresses,
        {
          map: "CollectAddresses",
          batch: "CollectBatch",
          done: "BatchCollected?",
          succeed: "Collected",
        },
        "$.plan",
      ),
    );
    // One partition a child: the partition count is planned from a guess (commits.ts), and a
    // partition may hold many times its share, each a Lambda's work of its own.
    const markMap = this.map(props, "MarkPartitions", "$.plan.partitionsKey", 1, {
      "repository.$": "$.repository",
      "runId.$": "$.runId",
      "markId.$": "$.markId",
      "storageNamespace.$": "$.storageNamespace",
      "now.$": "$.now",
    });
    markMap.itemProcessor(this.invoke("MarkBatch", mark));
    catchAll(markMap);
    const endMarkTask = catchAll(
      this.invoke("EndMark", endMark, {
        payload: sfn.TaskInput.fromObject({
          ...runInput().value,
          plan: { partitions: J.numberAt("$.plan.partitions") },
        }),
        resultPath: J.DISCARD,
      }),
    );
    const summaryTask = catchAll(this.invoke("Summary", summary, { resultPath: "$.summary" }));
    summaryTask.next(
      new sfn.Choice(this, "RunSucceeded?")
        .when(sfn.Condition.booleanEquals("$.summary.success", true), new sfn.Succeed(this, "Done"))
        .otherwise(runFailed),
    );
    const shouldSweep = new sfn.Choice(this, "ShouldSweep?")
      .when(
        sfn.Condition.booleanEquals("$.doSweep", true),
        this.sweepPhase(props, { addresses, revalidate, sweep }, catchAll, summaryTask),
      )
      .otherwise(summaryTask);
    const definition = new sfn.Choice(this, "ShouldMark?")
      .when(
        sfn.Condition.booleanEquals("$.doMark", true),
        commitsTask.next(collect).next(markMap).next(endMarkTask).next(shouldSweep),
      )
      .otherwise(shouldSweep);
    return new sfn.StateMachine(this, "StateMachine", {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.hours(24),
    });
  }

  /**
   * Revalidate -> CollectRevived -> CatchUp -> Settled? (no: CollectRevived again over what
   * was committed meanwhile) -> SweepParts -> `next`.
   */
  private sweepPhase(
    props: GcWorkflowProps,
    steps: Pick<GcSteps, "addresses" | "revalidate" | "sweep">,
    catchAll: <T extends sfn.TaskStateBase | sfn.DistributedMap>(state: T) => T,
    next: sfn.IChainable,
  ): sfn.IChainable {
    const { addresses, revalidate, sweep } = steps;
    const revalidateTask = catchAll(
      this.invoke("Revalidate", revalidate, { payload: runInput(), resultPath: "$.revalidation" }),
    );
    const revivedMap = catchAll(
      this.addressMap(
        props,
        addresses,
        {
          map: "CollectRevived",
          batch: "RevivedBatch",
          done: "RevivedCollected?",
          succeed: "Revived",
        },
        "$.revalidation",
        "revived",
      ),
    );
    const sweepMap = this.map(props, "SweepParts", "$.revalidation.partsKey", 1, {
      "repository.$": "$.repository",
      "runId.$": "$.runId",
      "storageNamespace.$": "$.storageNamespace",
      "now.$": "$.now",
    });
    sweepMap.itemProcessor(this.invoke("SweepBatch", sweep));
    catchAll(sweepMap);
    const catchUpTask = catchAll(
      this.invoke("CatchUp", revalidate, {
        payload: sfn.TaskInput.fromObject({
          ...runInput().value,
          catchUp: true,
          revalidation: J.objectAt("$.revalidation"),
        }),
        resultPath: "$.revalidation",
      }),
    );
    const settled = new sfn.Choice(this, "Settled?")
      .when(sfn.Condition.booleanEquals("$.revalidation.settled", true), sweepMap.next(next))
      .otherwise(revivedMap);
    revivedMap.next(catchUpTask).next(settled);
    return revalidateTask.next(revivedMap);
  }

  /**
   * Backup and restore: the objects of a mark copied out of the namespace and back, with the
   * shared copy engine. Locations outside the namespace must be in storageBuckets or
   * exportBuckets (IAM).
   */
  private createCopyWorkflow(props: GcWorkflowProps) {
    // The plan reads lakeFS's list of repositories: a backup goes outside every namespace.
    const copyPlan = this.stepFunction(props, "CopyPlan", "copy-plan", 512, 5, lakeFsEnvOf(props));
    props.lakeFsSecret.grantRead(copyPlan);
    const copyParts = this.stepFunction(props, "CopyParts", "copy-parts", 1024, 15);
    const copyEnd = this.stepFunction(props, "CopyEnd", "copy-end", 512, 5);
    this.grantCopySteps(props, { copyPlan, copyParts, copyEnd });
    const copyInput = {
      repository: J.stringAt("$.repository"),
      copyId: J.stringAt("$$.Execution.Name"),
      markId: J.stringAt("$.markId"),
      storageNamespace: J.stringAt("$.storageNamespace"),
      direction: J.stringAt("$.direction"),
      location: J.stringAt("$.location"),
    };
    const copyPlanTask = this.invoke("CopyPlan", copyPlan, {
      payload: sfn.TaskInput.fromObject({
        ...copyInput,
        acceptIncompleteBackup: J.objectAt("$.acceptIncompleteBackup"),
      }),
      resultPath: "$.plan",
    });
    // acceptIncompleteBackup is optional in the input: false unless given.
    const options = new sfn.Choice(this, "CopyOptionsGiven?")
      .when(sfn.Condition.isPresent("$.acceptIncompleteBackup"), copyPlanTask)
      .otherwise(
        new sfn.Pass(this, "CopyDefaults", {
          result: sfn.Result.fromBoolean(false),
          resultPath: "$.acceptIncompleteBackup",
        }).next(copyPlanTask),
      );
    const copyMap = this.map(props, "CopyParts", "$.plan.partsKey", 1, {
      "repository.$": "$.repository",
      "copyId.$": "$$.Execution.Name",
      "storageNamespace.$": "$.storageNamespace",
      "direction.$": "$.direction",
      "location.$": "$.location",
    });
    copyMap.itemProcessor(this.invoke("CopyBatch", copyParts));
    const copyEndTask = this.invoke("CopyEnd", copyEnd, {
      payload: sfn.TaskInput.fromObject({ ...copyInput, plan: J.objectAt("$.plan") }),
      resultPath: "$.end",
    });
    copyPlanTask.next(copyMap).next(copyEndTask);
    copyMap.addCatch(this.copyFailure(copyEnd, copyInput), {
      errors: ["States.ALL"],
      resultPath: "$.error",
    });
    const stateMachine = new sfn.StateMachine(this, "CopyStateMachine", {
      definitionBody: sfn.DefinitionBody.fromChainable(options),
      timeout: Duration.hours(24),
    });
    return { copyPlan, copyParts, copyEnd, stateMachine };
  }

  /**
   * After the copy map failed: a backup's record says failed (the end step with the caught
   * error), then the workflow fails with the map's own error and cause.
   */
  private copyFailure(copyEnd: lambda.IFunction, copyInput: Record<string, string>) {
    const failed = new sfn.Fail(this, "CopyFailed", {
      errorPath: J.stringAt("$.error.Error"),
      causePath: J.stringAt("$.error.Cause"),
    });
    const recordFailure = this.invoke("CopyEndAfterFailure", copyEnd, {
      payload: sfn.TaskInput.fromObject({
        ...copyInput,
        plan: J.objectAt("$.plan"),
        failure: J.objectAt("$.error"),
      }),
      resultPath: "$.end",
    });
    // The map's error is what the execution reports, whether or not the record was written.
    recordFailure.addCatch(failed, { errors: ["States.ALL"], resultPath: "$.recordError" });
    return new sfn.Choice(this, "CopyFailedBackup?")
      .when(sfn.Condition.stringEquals("$.direction", "backup"), recordFailure.next(failed))
      .otherwise(failed);
  }

  /**
   * The copy steps' grants. The plan reads and writes the backup record of a location (its key
   * only), the end step reads and writes it and reads the mark (repository partition); the copies write
   * their counts to the work bucket, the end step reads them.
   */
  private grantCopySteps(
    props: GcWorkflowProps,
    f: Record<"copyPlan" | "copyParts" | "copyEnd", lambda.IFunction>,
  ): void {
    const { copyPlan, copyParts, copyEnd } = f;
    grantWorkBucket(props.workBucket, copyPlan, "read-write", GC_WORK_ROOT);
    grantWorkBucket(props.workBucket, copyParts, "read-write", GC_WORK_ROOT);
    grantWorkBucket(props.workBucket, copyEnd, "read", GC_WORK_ROOT);
    allow(copyPlan, ["s3:ListBucket"], bucketArns(props.storageBuckets));
    // A restore from a location without a record reads the mark's lists (GC's own reports) to
    // look for one of its objects there before retiring the mark.
    const [retention] = GC_OUTPUT_PREFIXES;
    allow(
      copyPlan,
      ["s3:GetObject"],
      props.storageBuckets.flatMap((b) => gcObjectArns(b, retention)),
    );
    const copyBuckets = [
      ...new Map(
        [...props.storageBuckets, ...props.exportBuckets].map((b) => [b.bucketName, b]),
      ).values(),
    ];
    // Backups and restores keep each object's tags: read at the source, written with the copy.
    allow(
      copyParts,
      [
        "s3:GetObject",
        "s3:GetObjectTagging",
        "s3:PutObject",
        "s3:PutObjectTagging",
        "s3:AbortMultipartUpload",
      ],
      copyBuckets.map((b) => b.arnForObjects("*")),
    );
    // A missing source answers 404 (an absent object), not 403, only with ListBucket; the plan
    // checks that a restore's location holds a backup (and reads its record: 404 when none).
    allow(copyParts, ["s3:ListBucket"], bucketArns(copyBuckets));
    allow(copyPlan, ["s3:ListBucket"], bucketArns(copyBuckets));
    // The backup record of a location, by its name only: the plan reads it and claims the
    // location with a backup's started record, the end step writes the finished one over it
    // (both conditional writes; the end reads the record again when it changed, and a 404
    // for a record removed needs ListBucket).
    const records = copyBuckets.map((b) => b.arnForObjects(`*${BACKUP_RECORD_NAME}`));
    allow(copyPlan, ["s3:GetObject", "s3:PutObject"], records);
    allow(copyEnd, ["s3:GetObject", "s3:PutObject"], records);
    allow(copyEnd, ["s3:ListBucket"], bucketArns(copyBuckets));
    // A restore's plan retires the mark (GcStore.retireMark): it reads the mark and the
    // repository's lease (a live sweep refuses it) and updates the mark: repository and
    // lease partitions only (IAM narrows items no further than their partition key).
    grantItems(copyPlan, props.table, ["dynamodb:GetItem"], [REPO_PK_PREFIX, GC_LEASE_PK_PREFIX]);
    grantItems(copyPlan, props.table, ["dynamodb:UpdateItem"], [REPO_PK_PREFIX]);
    // A backup claims its location (BackupLocationStore: put, update, a withdrawal's delete;
    // the GCBACKUPS partition only) and reads every branch's export paths (the path claims'
    // partition and the configurations' kind index, read-only) around the claim.
    grantPartitions(
      copyPlan,
      props.table,
      // A refused put reads the claim it found (ALL_OLD): GetItem too.
      ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
      [GC_BACKUPS_PK],
    );
    grantPartitions(copyPlan, props.table, ["dynamodb:Query"], [EXPORT_PATHS_PK]);
    grantKindQuery(copyPlan, props.table, ["export-config"]);
    // The end step reads the mark: did a sweep of it begin during the backup?
    grantItems(copyEnd, props.table, ["dynamodb:GetItem"], [REPO_PK_PREFIX]);
  }
}

/** Where a step finds lakeFS: its endpoint and the secret holding its key pair. */
function lakeFsEnvOf(props: GcWorkflowProps): Record<string, string> {
  return {
    LAKEFS_ENDPOINT: props.lakeFsEndpoint,
    LAKEFS_SECRET_ARN: props.lakeFsSecret.secretArn,
  };
}
