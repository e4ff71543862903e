// A distributed Map state: one child execution per item (or per batch of items), at most
// MaxConcurrency in flight, tolerated failures, a map run record the API describes, and the
// children's results returned inline or written to S3 by ResultWriter.
import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { S3Client } from "@aws-sdk/client-s3";
import { abortError, type ChildController, childController } from "./cancellation";
import { StatesError, toStatesError } from "./errors";
import { batchItems } from "./item-source";
import { mapLimit } from "./map-limit";
import { type Json, queryPath } from "./paths";
import { applyTemplate } from "./payload";
import { checkSize } from "./payload-limit";
import {
  addEvent,
  type ExecutionEnv,
  type ExecutionRecord,
  emptyCounts,
  type MapRunCounts,
  type MapRunRecord,
  newExecution,
} from "./records";
import { resultEntry, writeMapRunResults } from "./result-writer";
import { resolveNumber } from "./state-fields";
import type { MachineDef, StateDef } from "./validate";

/** What a distributed map needs from the runner that owns the execution. */
export interface DistributedMapHost {
  readonly region: string;
  readonly accountId: string;
  /** Where ResultWriter writes. */
  s3(): S3Client | undefined;
  /** Makes the map run visible to DescribeMapRun and ListMapRuns. */
  registerMapRun(run: MapRunRecord): void;
  /** Makes a child execution visible to DescribeExecution and ListExecutions(mapRunArn). */
  registerExecution(child: ExecutionRecord): void;
  /** Runs the item processor's states for one child execution. */
  runProcessor(processor: MachineDef, input: Json, env: ExecutionEnv): Promise<Json>;
}

export type ItemProcessor = MachineDef & {
  ProcessorConfig?: { Mode?: string; ExecutionType?: string };
};

/** A Map state whose ProcessorConfig Mode is DISTRIBUTED, its items read and selected. */
export interface DistributedMapRequest {
  name: string;
  state: StateDef;
  processor: ItemProcessor;
  /** The state's effective input. */
  input: Json;
  /** The context object ($$) of the state. */
  context: Json;
  env: ExecutionEnv;
  items: Json[];
  /** The items after ItemSelector. */
  inputs: Json[];
  maxConcurrency: number;
  /** Children in flight at once. */
  limit: number;
}

/** Runs a distributed map to its end; returns the state's result. */
export function runDistributedMap(
  host: DistributedMapHost,
  request: DistributedMapRequest,
): Promise<Json> {
  return new DistributedMapRun(host, request).run();
}

interface Batches {
  childInputs: Json[];
  /** How many items each child input carries. */
  itemsPerChild: number[];
}

/** ItemBatcher: children get `{"Items": [...], "BatchInput": {...}}`; without it, one item each. */
function childBatches(req: DistributedMapRequest): Batches {
  const { state: s, input: eff, context: c, inputs } = req;
  const batcher = s.ItemBatcher as Record<string, Json> | undefined;
  if (!batcher) return { childInputs: inputs, itemsPerChild: inputs.map(() => 1) };
  const num = (f: string) =>
    batcher[`${f}Path`] !== undefined
      ? (queryPath(batcher[`${f}Path`] as string, eff, c) as number)
      : (batcher[f] as number | undefined);
  const batches = batchItems(inputs, {
    maxItems: num("MaxItemsPerBatch"),
    maxBytes: num("MaxInputBytesPerBatch"),
    batchInput:
      batcher.BatchInput !== undefined ? applyTemplate(batcher.BatchInput, eff, c) : undefined,
  });
  return {
    childInputs: batches,
    itemsPerChild: batches.map((b) => ((b as { Items: Json[] }).Items ?? []).length),
  };
}

interface FailureTolerance {
  count: number;
  percentage: number;
  /** Whether `failedItems` failed items end the map run. */
  exceeded(failedItems: number): boolean;
}

/** ToleratedFailureCount/Percentage (or their paths); without either, any failure ends it. */
function failureTolerance(s: StateDef, eff: Json, c: Json, totalItems: number): FailureTolerance {
  const hasCount =
    s.ToleratedFailureCount !== undefined || s.ToleratedFailureCountPath !== undefined;
  const hasPct =
    s.ToleratedFailurePercentage !== undefined || s.ToleratedFailurePercentagePath !== undefined;
  const count = resolveNumber(s, "ToleratedFailureCount", eff, c, 0);
  const percentage = resolveNumber(s, "ToleratedFailurePercentage", eff, c, 0);
  return {
    count,
    percentage,
    exceeded: (failedItems) => {
      if (failedItems === 0) return false;
      if (!hasCount && !hasPct) return true;
      if (hasCount && failedItems > count) return true;
      return hasPct && totalItems > 0 && (failedItems / totalItems) * 100 > percentage;
    },
  };
}

function move(counts: MapRunCounts, from: keyof MapRunCounts, to: keyof MapRunCounts, n: number) {
  counts[from] -= n;
  counts[to] += n;
}

class DistributedMapRun {
  private readonly label: string;
  private readonly smName: string;
  private readonly mapRunId = randomUUID();
  private readonly mapRunArn: string;
  private readonly childSmArn: string;
  private readonly express: boolean;
  private readonly batches: Batches;
  private readonly tolerance: FailureTolerance;
  private readonly record: MapRunRecord;
  private readonly ctl: ChildController;
  private readonly children: (ExecutionRecord | undefined)[];
  private failedItems = 0;
  private thresholdExceeded = false;

  constructor(
    private readonly host: DistributedMapHost,
    private readonly req: DistributedMapRequest,
  ) {
    const { region, accountId } = host;
    const { state: s, env } = req;
    this.label = (s.Label as string | undefined) ?? req.name;
    this.smName = env.machine.name;
    this.mapRunArn = `arn:aws:states:${region}:${accountId}:mapRun:${this.smName}/${this.label}:${this.mapRunId}`;
    this.childSmArn = `arn:aws:states:${region}:${accountId}:stateMachine:${this.smName}/${this.label}`;
    this.express = req.processor.ProcessorConfig?.ExecutionType === "EXPRESS";
    this.batches = childBatches(req);
    this.tolerance = failureTolerance(s, req.input, req.context, req.items.length);
    const { childInputs } = this.batches;
    this.record = {
      mapRunArn: this.mapRunArn,
      executionArn: env.exec.executionArn,
      status: "RUNNING",
      startDate: new Date(),
      maxConcurrency: req.maxConcurrency,
      toleratedFailurePercentage: this.tolerance.percentage,
      toleratedFailureCount: this.tolerance.count,
      itemCounts: { ...emptyCounts(), total: req.items.length, pending: req.items.length },
      executionCounts: { ...emptyCounts(), total: childInputs.length, pending: childInputs.length },
    };
    this.ctl = childController(env.signal);
    // Each child running watches the map's signal until it ends: up to `limit` at once.
    setMaxListeners(Math.max(10, req.limit + 1), this.ctl.signal);
    this.children = childInputs.map(() => undefined);
  }

  async run(): Promise<Json> {
    try {
      return await this.runChildren();
    } finally {
      this.ctl.release();
    }
  }

  private async runChildren(): Promise<Json> {
    const { env } = this.req;
    const run = this.record;
    this.host.registerMapRun(run);
    addEvent(env.exec, "MapRunStarted", "mapRunStartedEventDetails", {
      mapRunArn: this.mapRunArn,
    });
    await mapLimit(this.batches.childInputs, this.req.limit, async (childInput, index) => {
      if (this.thresholdExceeded || this.ctl.signal.aborted) return null;
      await this.runChild(childInput, index);
      return null;
    });
    if (env.signal.aborted) {
      // The execution was stopped: the map run is aborted and nothing is exported.
      run.stopDate = new Date();
      run.status = "ABORTED";
      throw abortError();
    }
    const result = await this.result();
    run.stopDate = new Date();
    if (this.thresholdExceeded) {
      run.status = "FAILED";
      addEvent(env.exec, "MapRunFailed", "mapRunFailedEventDetails", {
        error: "States.ExceedToleratedFailureThreshold",
      });
      throw new StatesError(
        "States.ExceedToleratedFailureThreshold",
        "The specified tolerated failure threshold was exceeded",
      );
    }
    run.status = "SUCCEEDED";
    addEvent(env.exec, "MapRunSucceeded");
    return result;
  }

  /** One child execution, from its start to its end; failures are counted, not thrown. */
  private async runChild(childInput: Json, index: number): Promise<void> {
    const { region, accountId } = this.host;
    const { smName, label, mapRunId } = this;
    const machine = this.req.env.machine;
    const run = this.record;
    const childId = randomUUID();
    const childArn = this.express
      ? `arn:aws:states:${region}:${accountId}:express:${smName}/${label}:${mapRunId}:${childId}`
      : `arn:aws:states:${region}:${accountId}:execution:${smName}/${label}:${childId}`;
    const child = newExecution(childArn, this.childSmArn, childId, JSON.stringify(childInput));
    child.mapRunArn = this.mapRunArn;
    const ctl = childController(this.ctl.signal);
    child.abort = ctl;
    this.children[index] = child;
    this.host.registerExecution(child);
    const n = this.batches.itemsPerChild[index]!;
    move(run.itemCounts, "pending", "running", n);
    move(run.executionCounts, "pending", "running", 1);
    const childEnv: ExecutionEnv = {
      exec: child,
      machine,
      signal: child.abort.signal,
      context: {
        Execution: {
          Id: childArn,
          Name: childId,
          Input: childInput,
          StartTime: child.startDate.toISOString(),
          RoleArn: machine.roleArn,
          RedriveCount: 0,
        },
        StateMachine: { Id: this.childSmArn, Name: `${smName}/${label}` },
      },
    };
    addEvent(child, "ExecutionStarted", "executionStartedEventDetails", {
      input: child.input,
      roleArn: machine.roleArn,
    });
    try {
      checkSize(childInput, "input");
      const out = await this.host.runProcessor(this.req.processor, childInput, childEnv);
      child.status = "SUCCEEDED";
      child.output = JSON.stringify(out);
      addEvent(child, "ExecutionSucceeded", "executionSucceededEventDetails", {
        output: child.output,
        outputDetails: { truncated: false },
      });
      move(run.itemCounts, "running", "succeeded", n);
      move(run.executionCounts, "running", "succeeded", 1);
    } catch (e) {
      this.childFailed(child, toStatesError(e), n);
    } finally {
      ctl.release();
      child.stopDate = new Date();
    }
  }

  private childFailed(child: ExecutionRecord, err: StatesError, n: number): void {
    const run = this.record;
    const aborted = this.ctl.signal.aborted;
    child.status = aborted ? "ABORTED" : "FAILED";
    child.error = err.error;
    child.cause = err.cause;
    addEvent(
      child,
      aborted ? "ExecutionAborted" : "ExecutionFailed",
      aborted ? "executionAbortedEventDetails" : "executionFailedEventDetails",
      { error: err.error, cause: err.cause },
    );
    const key = aborted ? "aborted" : "failed";
    move(run.itemCounts, "running", key, n);
    move(run.executionCounts, "running", key, 1);
    if (!aborted) {
      this.failedItems += n;
      if (this.tolerance.exceeded(this.failedItems)) {
        this.thresholdExceeded = true;
        this.ctl.abort();
      }
    }
  }

  /** ResultWriter's manifest location, or the children's outputs in item order. */
  private async result(): Promise<Json> {
    const { state: s, input: eff, context: c } = this.req;
    const writer = s.ResultWriter as { Parameters: Json } | undefined;
    if (!writer) {
      return this.children.map((ch) =>
        ch?.status === "SUCCEEDED" ? (JSON.parse(ch.output!) as Json) : ch ? resultEntry(ch) : null,
      );
    }
    const p = applyTemplate(writer.Parameters, eff, c) as { Bucket: string; Prefix?: string };
    const key = await writeMapRunResults(this.host.s3(), {
      bucket: p.Bucket,
      prefix: p.Prefix,
      mapRunArn: this.mapRunArn,
      mapRunId: this.mapRunId,
      children: this.children,
      childInputs: this.batches.childInputs,
      run: this.record,
    });
    return { MapRunArn: this.mapRunArn, ResultWriterDetails: { Bucket: p.Bucket, Key: key } };
  }
}
