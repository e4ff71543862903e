// Continuous export: the export workflow, its trigger and its watchdog (lambdas/export).
//
//   Start (Pass: start time) -> Plan -> PlanDone?
//     -- no --> CopyWhilePlanning (Parallel): CopySegment (distributed map over the shards the
//     |           last call wrote, when it wrote some) beside PlanNext (the next call: the first
//     |           call stops after a few shards, a later one near its deadline) -> PlanDone?
//     -- yes, shards planned --> CopyAndManifest (Parallel):
//          |                     CopyShards (distributed map over the last call's shard index
//          |                       JSONL, batches of shards, failures counted by Status)
//          |                     ManifestGroups (a full export's manifest, a group of shards
//          |                       per child; failures left to Status)
//          v
//     -> Markers -> Status (status line LAST) -> ExportSucceeded? -> WritersRunning? -> Done
//        |                      | yes: WaitForWriters (10 s) -> WritersCheck -> loop until
//        |                      |   no writer of the export path runs (check failed: wait
//        |                      |   until the latest time they could run) -> Done
//        | Finish (the reason) -> ExportFailed (cause: the reason; error: ExportFailed, or
//          ExportFailedCopiesMayRun when a copy batch did not report or a writer still runs)
//   any error (Catch) -> StatusAfterFailure -> FinishAfterFailure -> ExportFailed
//
// Trigger: rule on the Lakeport bus (lakeport.lakefs commit, merge, revert, cherry-pick events) -> trigger Lambda.
// Watchdog (execution-ended handler): rule on the default bus (aws.states execution status
// changes of this state machine) -> watchdog Lambda: records the ended execution's outcome on
// the branch (SUCCEEDED: done; ExportFailed, FAILED, TIMED_OUT, ABORTED: export-failed; after an
// abort, a time-out or ExportFailedCopiesMayRun, repair waits for the functions), then starts
// the follow-up export asked for meanwhile: two executions of a branch never overlap.
// Stuck check (scheduled, every 5 minutes): in-progress branches whose workflow never started or
// whose ended execution was never recorded become export-failed; counted in a metric.
import { Arn, ArnFormat, Duration, Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { ENDED_EXECUTION_STATUSES } from "../../lambdas/export/app/finish-export";
import { LAKEFS_EVENT_SOURCE, LAKEFS_EVENT_TYPES } from "../../lambdas/export/domain/lakefs-event";
import { EXPORT_WORKER_TIMEOUT_MINUTES } from "../../lambdas/export/domain/settling";
import { type ExportFunctions, grantExportFunctions } from "./export-grants";
import { lakeportFunction, lakeportLambdaStep } from "./function";
import type { WorkflowProps } from "./shared-props";
import { mapResultWriter, useResultWriterV2 } from "./storage";

const J = sfn.JsonPath;
/** A copy map child's batch, and how many times Step Functions retried it (copy-step.ts). */
const COPY_BATCH_PAYLOAD = sfn.TaskInput.fromObject({
  Items: J.listAt("$.Items"),
  BatchInput: J.objectAt("$.BatchInput"),
  retryCount: J.numberAt("$$.State.RetryCount"),
});

/** Memory of the export copy Lambda (MB). */
export const COPY_MEMORY_MB = 1769;
/** How often a success whose writers still run asks again whether they have ended. */
const WRITERS_CHECK_INTERVAL_SECONDS = 10;
export interface ExportWorkflowOptions {
  /** Objects above this many bytes use multipart copy (default: S3's 5 GiB). */
  multipartThresholdBytes?: number;
  /** S3 operations in flight per copy Lambda. Default 32. */
  copyConcurrency?: number;
  /**
   * Task shards (up to 1 000 copies each) per distributed map child. Default: the plan call's
   * (lambdas/export/domain/copy-batches.ts), one per child until the call has eight times as
   * many shards as the map runs children at once, then more, up to 10. Fixed at 4, a 20-shard
   * export ran its fifth batch alone while the other copy workers idled.
   */
  shardsPerBatch?: number;
  /**
   * Task shards per manifest group of a full export (one map child each). Default 100: one
   * manifest part of up to 100 000 objects per child.
   */
  manifestShardsPerGroup?: number;
  /** A running export older than this counts as stuck in progress. Default 6 hours. */
  stuckAfter?: Duration;
}

/** The shards of the plan call's segment (plan-segments.ts), when it wrote some. */
const segmentHasShards = sfn.Condition.and(
  sfn.Condition.isPresent("$.plan.indexKey"),
  sfn.Condition.isPresent("$.plan.segmentShards"),
  sfn.Condition.numberGreaterThan("$.plan.segmentShards", 0),
);

export class ExportWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: ExportFunctions;

  constructor(
    scope: Construct,
    id: string,
    props: WorkflowProps & { export?: ExportWorkflowOptions },
  ) {
    super(scope, id);
    useResultWriterV2(this);
    const opts = this.options(props);
    const stack = Stack.of(this);
    // Name-based ARN: the Lambdas that start executions need it before the machine exists.
    const stateMachineName = `${stack.stackName}-Export`.slice(0, 80);
    const stateMachineArn = Arn.format(
      {
        service: "states",
        resource: "stateMachine",
        resourceName: stateMachineName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      stack,
    );
    this.functions = this.createFunctions(props, opts, stateMachineArn);
    grantExportFunctions(this.functions, props, { stateMachineName, stateMachineArn });
    this.stateMachine = this.createStateMachine(props, opts, stateMachineName);
    this.addRules(props, stateMachineArn);
  }

  private options(props: { export?: ExportWorkflowOptions }): ExportWorkflowOptions {
    // Context values let a deployment (or a test of the whole app) tune the copy engine.
    const ctx = (key: string): number | undefined => {
      const v = this.node.tryGetContext(`lakeport:export${key}`);
      return v === undefined ? undefined : Number(v);
    };
    return {
      ...(ctx("MultipartThresholdBytes")
        ? { multipartThresholdBytes: ctx("MultipartThresholdBytes") }
        : {}),
      ...(ctx("CopyConcurrency") ? { copyConcurrency: ctx("CopyConcurrency") } : {}),
      ...(ctx("ShardsPerBatch") ? { shardsPerBatch: ctx("ShardsPerBatch") } : {}),
      ...(ctx("ManifestShardsPerGroup")
        ? { manifestShardsPerGroup: ctx("ManifestShardsPerGroup") }
        : {}),
      ...props.export,
    };
  }

  private createFunctions(
    props: WorkflowProps,
    opts: ExportWorkflowOptions,
    stateMachineArn: string,
  ): ExportWorkflow["functions"] {
    const lakeFsEnv = {
      LAKEFS_ENDPOINT: props.lakeFsEndpoint,
      LAKEFS_SECRET_ARN: props.lakeFsSecret.secretArn,
    };
    const work = { WORK_BUCKET: props.workBucket.bucketName };
    const state = {
      TABLE_NAME: props.table.tableName,
      EXPORT_STATE_MACHINE_ARN: stateMachineArn,
    };
    const fn = (name: string, entry: string, memorySize: number, minutes: number, env = {}) =>
      lakeportFunction(this, `${name}Function`, {
        entry: `lambdas/export/handlers/${entry}.ts`,
        environment: env,
        memorySize,
        timeout: Duration.minutes(minutes),
        logRetention: props.logRetention,
        description: `Lakeport export: ${entry}`,
        ...(props.lakeFsNetwork ? { lakeFsNetwork: props.lakeFsNetwork } : {}),
        ...(props.logsKey ? { logsKey: props.logsKey } : {}),
      });
    const trigger = fn("Trigger", "trigger", 256, 1, { ...state, ...lakeFsEnv });
    // Plan, copy and status record the export's counts (TABLE_NAME: its progress item only).
    const progress = { TABLE_NAME: props.table.tableName };
    // No heap flags: Lambda's Node.js bootstrap gives a tenth of the memory to the young
    // generation (semi-spaces of 51 MB at 1 024 MB, 88 at 1 769; V8's own default is 16), which
    // the plan, status and manifest steps, allocating a page or a shard at a time, want.
    const plan = fn("Plan", "plan", 1024, EXPORT_WORKER_TIMEOUT_MINUTES, {
      ...work,
      ...lakeFsEnv,
      ...progress,
      ...(opts.manifestShardsPerGroup
        ? { MANIFEST_SHARDS_PER_GROUP: String(opts.manifestShardsPerGroup) }
        : {}),
      // Shards per copy map child follow from how many children run at once.
      COPY_MAP_CONCURRENCY: String(props.maxConcurrency),
    });
    // The copy workers are CPU-bound on SDK requests (signing, serialising, parsing): 1 769 MB
    // is one full vCPU on Lambda, and a V8 heap limit that far above what a batch holds
    // spends less time collecting (bench/copy-handler-cpu.ts measured the 1 024 MB limit's cost).
    const copy = fn("Copy", "copy", COPY_MEMORY_MB, EXPORT_WORKER_TIMEOUT_MINUTES, {
      ...work,
      ...progress,
      MULTIPART_THRESHOLD_BYTES: String(opts.multipartThresholdBytes ?? 5 * 1024 ** 3),
      COPY_CONCURRENCY: String(opts.copyConcurrency ?? 32),
    });
    // Markers look up in lakeFS whether a directory the export emptied still has objects.
    const markers = fn("Markers", "markers", 1024, EXPORT_WORKER_TIMEOUT_MINUTES, {
      ...work,
      ...lakeFsEnv,
    });
    const status = fn("Status", "status", 1024, EXPORT_WORKER_TIMEOUT_MINUTES, {
      ...work,
      ...lakeFsEnv,
      ...progress,
    });
    // A full export's manifest, a group of shards per invocation, side by side.
    const manifestGroup = fn(
      "ManifestGroup",
      "manifest-group",
      1024,
      EXPORT_WORKER_TIMEOUT_MINUTES,
      {
        ...work,
      },
    );
    const finish = fn("Finish", "finish", 256, 1);
    // After a success whose writers may still run: lists which still do (work bucket only).
    const writersCheck = fn("WritersCheck", "writers-check", 256, 1, { ...work });
    const watchdog = fn("Watchdog", "watchdog", 256, 1, { ...state, ...lakeFsEnv });
    const stuckAfter = opts.stuckAfter ?? Duration.hours(6);
    if (stuckAfter.toMinutes() < 15 || stuckAfter.toHours({ integral: false }) > 24) {
      throw new Error(
        `stuckAfter: must be from 15 minutes to 24 hours (got ${stuckAfter.toHumanString()})`,
      );
    }
    // The check also starts a queued follow-up export the watchdog could not start.
    const stuckCheck = fn("StuckCheck", "stuck-check", 256, 5, {
      ...state,
      ...lakeFsEnv,
      STUCK_EXPORT_AFTER_MINUTES: String(stuckAfter.toMinutes()),
    });
    return {
      trigger,
      plan,
      copy,
      markers,
      manifestGroup,
      status,
      finish,
      writersCheck,
      watchdog,
      stuckCheck,
    };
  }

  private createStateMachine(
    props: WorkflowProps,
    opts: ExportWorkflowOptions,
    stateMachineName: string,
  ): sfn.StateMachine {
    const { plan, copy, markers, manifestGroup, status, finish, writersCheck } = this.functions;
    const invoke = (name: string, f: lambda.IFunction, o: Partial<tasks.LambdaInvokeProps> = {}) =>
      lakeportLambdaStep(this, name, f, o);

    // The Finish step names the error: ExportFailed, or ExportFailedCopiesMayRun when a copy
    // batch did not report (its invocation may still run; the repair waits, settling.ts).
    const exportFailed = new sfn.Fail(this, "ExportFailed", {
      errorPath: J.stringAt("$.finish.error"),
      causePath: J.stringAt("$.finish.errorMessage"),
    });
    const finishAfterFailure = invoke("FinishAfterFailure", finish, { resultPath: "$.finish" });
    finishAfterFailure.next(exportFailed);
    const statusAfterFailure = invoke("StatusAfterFailure", status, { resultPath: "$.status" });
    // Even the status could not be written: finish from the caught error alone.
    statusAfterFailure.addCatch(finishAfterFailure, {
      errors: ["States.ALL"],
      resultPath: "$.statusError",
    });
    statusAfterFailure.next(finishAfterFailure);
    const catchAll = <T extends sfn.TaskStateBase | sfn.DistributedMap | sfn.Parallel>(s: T): T => {
      s.addCatch(statusAfterFailure, { errors: ["States.ALL"], resultPath: "$.error" });
      return s;
    };

    const start = new sfn.Pass(this, "Start", {
      parameters: { "startedAt.$": "$$.Execution.StartTime" },
      resultPath: "$.meta",
    });
    const planTask = catchAll(invoke("Plan", plan, { resultPath: "$.plan" }));

    // A copy batch is told its retry count: a retry leaves alone the shards already complete.
    const copyBatch = (name: string) => invoke(name, copy, { payload: COPY_BATCH_PAYLOAD });
    const copyShards = this.copyShardsMap("CopyShards", props, opts, copyBatch("CopyBatch"));

    const markersTask = catchAll(invoke("Markers", markers, { resultPath: "$.markers" }));
    const statusTask = catchAll(invoke("Status", status, { resultPath: "$.status" }));
    // A full export's manifest is written while the copies run: its groups read only the task
    // shards. Nothing there fails the export: the status step writes a group left without a
    // descriptor itself (every group, when the map itself fails).
    const manifestGroups = this.manifestGroupsMap(props, invoke("ManifestGroup", manifestGroup));
    manifestGroups.addCatch(new sfn.Pass(this, "ManifestGroupsFailed"), {
      errors: ["States.ALL"],
      resultPath: "$.manifestGroupsError",
    });
    const copyAndManifest = catchAll(
      new sfn.Parallel(this, "CopyAndManifest", { resultPath: J.DISCARD })
        .branch(
          new sfn.Choice(this, "LastSegmentShards?")
            .when(segmentHasShards, copyShards)
            .otherwise(new sfn.Pass(this, "NoLastSegmentShards")),
        )
        .branch(
          new sfn.Choice(this, "ManifestGroups?")
            .when(
              sfn.Condition.and(
                sfn.Condition.isPresent("$.plan.manifestGroups"),
                sfn.Condition.numberGreaterThan("$.plan.manifestGroups", 0),
              ),
              manifestGroups,
            )
            .otherwise(new sfn.Pass(this, "NoManifestGroups")),
        ),
    );
    const finishTask = invoke("Finish", finish, { resultPath: "$.finish" });
    const done = new sfn.Succeed(this, "Done");
    finishTask.next(
      new sfn.Choice(this, "FinishedFailed?")
        .when(sfn.Condition.stringEquals("$.finish.outcome", "failed"), exportFailed)
        .otherwise(done),
    );
    // A success ends once the writers it found still running have ended (successEnd).
    const checkWriters = invoke("WritersCheck", writersCheck, { resultPath: "$.writers" });
    const successEnd = this.successEnd(checkWriters, done);
    markersTask.next(statusTask);
    statusTask.next(
      new sfn.Choice(this, "ExportSucceeded?")
        .when(
          sfn.Condition.and(
            sfn.Condition.isPresent("$.status.status"),
            sfn.Condition.not(sfn.Condition.stringEquals("$.status.status", "export-failed")),
          ),
          successEnd,
        )
        .otherwise(finishTask),
    );

    const planDone = new sfn.Choice(this, "PlanDone?");
    const copyWhilePlanning = catchAll(
      this.copyWhilePlanning(
        this.copyShardsMap("CopySegment", props, opts, copyBatch("CopySegmentBatch")),
        invoke("PlanNext", plan, { resultPath: "$.plan" }),
      ),
    );
    copyWhilePlanning.next(planDone);
    const definition = start
      .next(planTask)
      .next(
        planDone
          .when(sfn.Condition.booleanEquals("$.plan.done", false), copyWhilePlanning)
          .when(
            sfn.Condition.numberGreaterThan("$.plan.counts.shards", 0),
            copyAndManifest.next(markersTask),
          )
          .otherwise(markersTask),
      );

    return new sfn.StateMachine(this, "StateMachine", {
      stateMachineName,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.hours(24),
    });
  }

  /**
   * A plan call that is not the last hands its shards to a copy map while the next call lists;
   * the branch of the next call's state goes on. Failing, it leaves the state of the call
   * whose shards were being copied (the status step counts them, finish-export.ts).
   */
  private copyWhilePlanning(copySegment: sfn.DistributedMap, planNext: sfn.IChainable) {
    return new sfn.Parallel(this, "CopyWhilePlanning", { outputPath: "$[1]" })
      .branch(
        new sfn.Choice(this, "SegmentShards?")
          .when(segmentHasShards, copySegment)
          .otherwise(new sfn.Pass(this, "NoSegmentShards")),
      )
      .branch(planNext);
  }

  /**
   * After the status step's success line, nothing may fail the execution (the branch would
   * say export-failed under that line): a success ends once the writers of the export path it
   * found still running (an earlier attempt of a batch that reported) have ended, so that the
   * branch's next export starts after them (writers.ts). Should the check fail, the execution
   * waits until the latest time they could run.
   */
  private successEnd(writersCheckTask: tasks.LambdaInvoke, done: sfn.Succeed): sfn.Choice {
    const waitForWriters = new sfn.Wait(this, "WaitForWriters", {
      time: sfn.WaitTime.duration(Duration.seconds(WRITERS_CHECK_INTERVAL_SECONDS)),
    });
    writersCheckTask.addCatch(
      new sfn.Wait(this, "WaitForWritersDeadline", {
        time: sfn.WaitTime.timestampPath("$.status.writersRunUntil"),
      }).next(done),
      { errors: ["States.ALL"], resultPath: "$.writersError" },
    );
    waitForWriters
      .next(writersCheckTask)
      .next(
        new sfn.Choice(this, "WritersStillRunning?")
          .when(sfn.Condition.isPresent("$.writers.until"), waitForWriters)
          .otherwise(done),
      );
    return new sfn.Choice(this, "WritersRunning?")
      .when(sfn.Condition.isPresent("$.status.writersRunUntil"), waitForWriters)
      .otherwise(done);
  }

  /** The copy batches: a distributed map over a plan call's shard index. */
  private copyShardsMap(
    id: string,
    props: WorkflowProps,
    opts: ExportWorkflowOptions,
    child: sfn.IChainable,
  ): sfn.DistributedMap {
    const map = new sfn.DistributedMap(this, id, {
      itemReader: new sfn.S3JsonLItemReader({
        bucket: props.workBucket,
        key: J.stringAt("$.plan.indexKey"),
      }),
      // CDK renders BatchInput as given: path fields need their ".$" suffix spelled out.
      // Shards per child: the plan's (copy-batches.ts) unless the deployment fixes them.
      itemBatcher: new sfn.ItemBatcher({
        ...(opts.shardsPerBatch
          ? { maxItemsPerBatch: opts.shardsPerBatch }
          : { maxItemsPerBatchPath: "$.plan.shardsPerBatch" }),
        batchInput: {
          "exportId.$": "$.exportId",
          "exportPath.$": "$.exportPath",
          "lastKeysInPrefixRegexp.$": "$.lastKeysInPrefixRegexp",
        },
      }),
      maxConcurrency: props.maxConcurrency,
      // A failed batch is counted by the status step (its shards have no result), not fatal.
      toleratedFailurePercentage: 100,
      // In S3, not inline: one array of every shard's result would pass 256 KB (uncatchable
      // States.DataLimitExceeded, even with ResultPath null) past a few thousand shards.
      resultWriterV2: mapResultWriter(props.workBucket),
      resultPath: J.DISCARD,
      label: id,
    });
    map.itemProcessor(child);
    return map;
  }

  /**
   * A full export's manifest groups (plan/manifest-groups.jsonl), each child writing its
   * group's manifest parts (lambdas/export/domain/manifest-groups.ts).
   */
  private manifestGroupsMap(props: WorkflowProps, child: sfn.IChainable): sfn.DistributedMap {
    const map = new sfn.DistributedMap(this, "ManifestGroups", {
      itemReader: new sfn.S3JsonLItemReader({
        bucket: props.workBucket,
        key: J.stringAt("$.plan.manifestGroupsKey"),
      }),
      // A group per child (a group is already up to 100 000 objects); the execution's state
      // tells the child which export it writes.
      itemBatcher: new sfn.ItemBatcher({ maxItemsPerBatch: 1, batchInput: { "state.$": "$" } }),
      maxConcurrency: props.maxConcurrency,
      // A failed child leaves its group to the status step.
      toleratedFailurePercentage: 100,
      resultWriterV2: mapResultWriter(props.workBucket),
      resultPath: J.DISCARD,
      label: "ManifestGroups",
    });
    map.itemProcessor(child);
    return map;
  }

  /** The commit rule (trigger), the execution-ended rule (watchdog) and the stuck check. */
  private addRules(props: WorkflowProps, stateMachineArn: string): void {
    const { trigger, watchdog, stuckCheck } = this.functions;
    new events.Rule(this, "CommitRule", {
      eventBus: props.eventBus,
      description: "lakeFS post-commit/merge/revert/cherry-pick -> continuous export start",
      eventPattern: { source: [LAKEFS_EVENT_SOURCE], detailType: [...LAKEFS_EVENT_TYPES] },
      targets: [
        new targets.LambdaFunction(trigger, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });
    new events.Rule(this, "WatchdogRule", {
      description: "export execution ended: record its outcome; start the follow-up export",
      eventPattern: {
        source: ["aws.states"],
        detailType: ["Step Functions Execution Status Change"],
        detail: {
          status: [...ENDED_EXECUTION_STATUSES],
          stateMachineArn: [stateMachineArn],
        },
      },
      targets: [new targets.LambdaFunction(watchdog, { retryAttempts: 8 })],
    });
    new events.Rule(this, "StuckCheckRule", {
      description: "every 5 minutes: exports stuck in progress -> export-failed / metric",
      schedule: events.Schedule.rate(Duration.minutes(5)),
      targets: [
        new targets.LambdaFunction(stuckCheck, {
          retryAttempts: 2,
          // The next run comes in 5 minutes anyway.
          maxEventAge: Duration.minutes(10),
        }),
      ],
    });
  }
}
