// The local Step Functions runner: registered state machines, executions and map runs, and
// the interpreter for the JSONPath dialect of the Amazon States Language.
import { randomUUID } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { evaluateChoiceRule } from "./choice";
import { runtimeError, StatesError, TERMINAL_ERRORS, toStatesError } from "./errors";
import { type EventSink, type IntegrationDeps, type LambdaInvoker, runTask } from "./integrations";
import { evaluateIntrinsic, isIntrinsic } from "./intrinsics";
import { batchItems, type ReaderConfig, readItems } from "./item-source";
import { type Json, queryPath, setAtPath } from "./paths";
import { applyTemplate } from "./payload";
import { type MachineDef, type StateDef, validateMachine } from "./validate";

export const PAYLOAD_LIMIT_BYTES = 262_144;

export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";

export interface RunnerOptions {
  region?: string;
  accountId?: string;
  /** Multiplies every Retry delay (0.001 makes a 1 s retry take 1 ms). Default 1. */
  retryDelayScale?: number;
  /** Multiplies every Wait state duration. Default 1. */
  waitScale?: number;
  /** Concurrency used when a Map says MaxConcurrency 0 (unbounded). Default 40. */
  unboundedConcurrency?: number;
  lambda?: LambdaInvoker;
  s3?: S3Client;
  dynamodb?: DynamoDBClient;
  /** Target of events:putEvents tasks and of the execution status change events. */
  events?: EventSink;
  /** Emit "Step Functions Execution Status Change" events to the default bus. Default true. */
  emitStatusEvents?: boolean;
}

export interface StateMachineRecord {
  stateMachineArn: string;
  name: string;
  definition: MachineDef;
  definitionString: string;
  roleArn: string;
  type: "STANDARD" | "EXPRESS";
  creationDate: Date;
}

export interface HistoryEvent {
  timestamp: Date;
  type: string;
  id: number;
  previousEventId: number;
  details?: Record<string, unknown>;
  detailsKey?: string;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
  history: HistoryEvent[];
  mapRunArn?: string;
  done: Promise<void>;
  abort: AbortController;
}

export interface MapRunCounts {
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  aborted: number;
  total: number;
  resultsWritten: number;
}

export interface MapRunRecord {
  mapRunArn: string;
  executionArn: string;
  status: "RUNNING" | "SUCCEEDED" | "FAILED" | "ABORTED";
  startDate: Date;
  stopDate?: Date;
  maxConcurrency: number;
  toleratedFailurePercentage: number;
  toleratedFailureCount: number;
  itemCounts: MapRunCounts;
  executionCounts: MapRunCounts;
}

export class RunnerApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

interface Env {
  exec: ExecutionRecord;
  /** $$.Execution and $$.StateMachine of the (child) execution being run. */
  context: { Execution: Record<string, Json>; StateMachine: Record<string, Json> };
  machine: StateMachineRecord;
  signal: AbortSignal;
}

const emptyCounts = (): MapRunCounts => ({
  pending: 0,
  running: 0,
  succeeded: 0,
  failed: 0,
  timedOut: 0,
  aborted: 0,
  total: 0,
  resultsWritten: 0,
});

function abortError(): StatesError {
  return new StatesError("States.Aborted", "Execution was aborted");
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const t = setTimeout(
      () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError());
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function childController(parent: AbortSignal): AbortController {
  const c = new AbortController();
  if (parent.aborted) c.abort();
  else parent.addEventListener("abort", () => c.abort(), { once: true });
  return c;
}

function checkSize(value: Json, what: string): void {
  const size = Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
  if (size > PAYLOAD_LIMIT_BYTES) {
    throw new StatesError(
      "States.DataLimitExceeded",
      `The state/task ${what} of ${size} bytes exceeds the maximum size of ${PAYLOAD_LIMIT_BYTES} bytes`,
    );
  }
}

const INVALID_NAME_CHARS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/;
const isInvalidName = (n: string) =>
  INVALID_NAME_CHARS.test(n) ||
  [...n].some(
    (ch) => ch.charCodeAt(0) < 0x20 || (ch.charCodeAt(0) >= 0x7f && ch.charCodeAt(0) <= 0x9f),
  );

export function errorMatches(errorEquals: string[], err: StatesError): boolean {
  if (err.error === "States.Runtime") return false;
  if (errorEquals.includes(err.error)) return true;
  if (TERMINAL_ERRORS.has(err.error)) return false;
  if (errorEquals.includes("States.ALL")) return true;
  return errorEquals.includes("States.TaskFailed") && err.error !== "States.Timeout";
}

export class StepFunctionsRunner {
  readonly region: string;
  readonly accountId: string;
  private readonly machines = new Map<string, StateMachineRecord>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly mapRuns = new Map<string, MapRunRecord>();
  private readonly deps: IntegrationDeps;

  constructor(private readonly opts: RunnerOptions = {}) {
    this.region = opts.region ?? "us-east-1";
    this.accountId = opts.accountId ?? "000000000000";
    this.deps = {
      lambda: opts.lambda,
      s3: opts.s3,
      dynamodb: opts.dynamodb,
      events: opts.events,
      startExecution: (a) => this.startExecution(a),
    };
  }

  /** Wires the EventBridge router after construction (the two reference each other). */
  setEventSink(events: EventSink): void {
    this.opts.events = events;
    this.deps.events = events;
  }

  setLambdaInvoker(lambda: LambdaInvoker): void {
    this.deps.lambda = lambda;
  }

  stateMachineArn(name: string): string {
    return `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${name}`;
  }

  /** Validates and registers a definition; throws DefinitionError on anything unsupported. */
  createStateMachine(args: {
    name: string;
    definition: string | object;
    roleArn?: string;
    type?: "STANDARD" | "EXPRESS";
  }): StateMachineRecord {
    const definition =
      typeof args.definition === "string"
        ? (JSON.parse(args.definition) as unknown)
        : args.definition;
    validateMachine(definition, `StateMachine ${args.name}`);
    const rec: StateMachineRecord = {
      stateMachineArn: this.stateMachineArn(args.name),
      name: args.name,
      definition,
      definitionString:
        typeof args.definition === "string" ? args.definition : JSON.stringify(args.definition),
      roleArn: args.roleArn ?? `arn:aws:iam::${this.accountId}:role/${args.name}-role`,
      type: args.type ?? "STANDARD",
      creationDate: new Date(),
    };
    this.machines.set(rec.stateMachineArn, rec);
    return rec;
  }

  describeStateMachine(arn: string): StateMachineRecord {
    const m = this.machines.get(arn);
    if (!m)
      throw new RunnerApiError(
        "StateMachineDoesNotExist",
        `State Machine Does Not Exist: '${arn}'`,
      );
    return m;
  }

  listStateMachines(): StateMachineRecord[] {
    return [...this.machines.values()];
  }

  async startExecution(args: {
    stateMachineArn: string;
    input?: string;
    name?: string;
  }): Promise<{ executionArn: string; startDate: Date }> {
    const machine = this.describeStateMachine(args.stateMachineArn);
    const name = args.name ?? randomUUID();
    if (name.length < 1 || name.length > 80 || isInvalidName(name)) {
      throw new RunnerApiError("InvalidName", `Invalid Name: '${name}'`);
    }
    const inputText = args.input ?? "{}";
    let input: Json;
    try {
      input = JSON.parse(inputText) as Json;
    } catch {
      throw new RunnerApiError(
        "InvalidExecutionInput",
        "Invalid State Machine Execution Input: 'not valid JSON'",
      );
    }
    if (Buffer.byteLength(inputText) > PAYLOAD_LIMIT_BYTES) {
      throw new RunnerApiError("InvalidExecutionInput", "Execution input exceeds 262144 bytes");
    }
    const kind = machine.type === "EXPRESS" ? "express" : "execution";
    const executionArn = `arn:aws:states:${this.region}:${this.accountId}:${kind}:${machine.name}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (existing.status === "RUNNING" && existing.input === inputText) {
        return { executionArn, startDate: existing.startDate };
      }
      throw new RunnerApiError(
        "ExecutionAlreadyExists",
        `Execution Already Exists: '${executionArn}'`,
      );
    }
    const rec = this.newExecution(executionArn, machine.stateMachineArn, name, inputText);
    this.executions.set(executionArn, rec);
    this.addEvent(rec, "ExecutionStarted", "executionStartedEventDetails", {
      input: inputText,
      inputDetails: { truncated: false },
      roleArn: machine.roleArn,
    });
    const env: Env = {
      exec: rec,
      machine,
      signal: rec.abort.signal,
      context: {
        Execution: {
          Id: executionArn,
          Name: name,
          Input: input,
          StartTime: rec.startDate.toISOString(),
          RoleArn: machine.roleArn,
          RedriveCount: 0,
        },
        StateMachine: { Id: machine.stateMachineArn, Name: machine.name },
      },
    };
    rec.done = this.runExecution(rec, env, machine.definition, input).then(() => this.onEnd(rec));
    return { executionArn, startDate: rec.startDate };
  }

  private newExecution(
    executionArn: string,
    stateMachineArn: string,
    name: string,
    input: string,
  ): ExecutionRecord {
    return {
      executionArn,
      stateMachineArn,
      name,
      status: "RUNNING",
      input,
      startDate: new Date(),
      history: [],
      done: Promise.resolve(),
      abort: new AbortController(),
    };
  }

  private async runExecution(
    rec: ExecutionRecord,
    env: Env,
    def: MachineDef,
    input: Json,
  ): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let machineTimedOut = false;
    try {
      const run = this.runStates(def, input, env, undefined);
      // The machine-level TimeoutSeconds is scaled like Wait states (waitScale).
      const timeout = def.TimeoutSeconds
        ? new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => {
                machineTimedOut = true;
                reject(new StatesError("States.Timeout", "State machine timed out"));
              },
              def.TimeoutSeconds! * 1000 * (this.opts.waitScale ?? 1),
            );
          })
        : undefined;
      const output = await (timeout ? Promise.race([run, timeout]) : run);
      if (rec.status !== "RUNNING") return;
      rec.status = "SUCCEEDED";
      rec.output = JSON.stringify(output);
      rec.stopDate = new Date();
      this.addEvent(rec, "ExecutionSucceeded", "executionSucceededEventDetails", {
        output: rec.output,
        outputDetails: { truncated: false },
      });
    } catch (e) {
      if (rec.status !== "RUNNING") return;
      const err = toStatesError(e);
      rec.stopDate = new Date();
      if (machineTimedOut) {
        // AWS leaves error and cause out of DescribeExecution for TIMED_OUT; only the
        // history event carries States.Timeout.
        rec.abort.abort();
        rec.status = "TIMED_OUT";
        this.addEvent(rec, "ExecutionTimedOut", "executionTimedOutEventDetails", {
          error: err.error,
          cause: err.cause,
        });
      } else {
        rec.error = err.error === "" ? undefined : err.error;
        rec.cause = err.cause;
        rec.status = "FAILED";
        this.addEvent(rec, "ExecutionFailed", "executionFailedEventDetails", {
          error: err.error,
          cause: err.cause,
        });
      }
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  private readonly ended = new WeakSet<ExecutionRecord>();

  private async onEnd(rec: ExecutionRecord): Promise<void> {
    // StopExecution ends a record before its interpreter unwinds: emit once.
    if (this.ended.has(rec)) return;
    this.ended.add(rec);
    if (rec.mapRunArn || this.opts.emitStatusEvents === false || !this.opts.events) return;
    try {
      await this.opts.events.putEvents([
        {
          Source: "aws.states",
          DetailType: "Step Functions Execution Status Change",
          Resources: [rec.executionArn],
          Detail: JSON.stringify(executionStatusDetail(rec)),
          EventBusName: "default",
        },
      ]);
    } catch (e) {
      console.error(
        `[stepfunctions] could not emit the status change event of ${rec.executionArn}: ${(e as Error).message}`,
      );
    }
  }

  stopExecution(args: { executionArn: string; error?: string; cause?: string }): {
    stopDate: Date;
  } {
    const rec = this.describeExecution(args.executionArn);
    if (rec.status === "RUNNING") {
      rec.status = "ABORTED";
      rec.stopDate = new Date();
      rec.error = args.error;
      rec.cause = args.cause;
      rec.abort.abort();
      this.addEvent(rec, "ExecutionAborted", "executionAbortedEventDetails", {
        error: args.error,
        cause: args.cause,
      });
      void this.onEnd(rec);
    }
    return { stopDate: rec.stopDate ?? new Date() };
  }

  describeExecution(executionArn: string): ExecutionRecord {
    const rec = this.executions.get(executionArn);
    if (!rec)
      throw new RunnerApiError(
        "ExecutionDoesNotExist",
        `Execution Does Not Exist: '${executionArn}'`,
      );
    return rec;
  }

  listExecutions(filter: {
    stateMachineArn?: string;
    mapRunArn?: string;
    statusFilter?: string;
  }): ExecutionRecord[] {
    if (filter.stateMachineArn) this.describeStateMachine(filter.stateMachineArn);
    return [...this.executions.values()]
      .filter((e) => (filter.mapRunArn ? e.mapRunArn === filter.mapRunArn : !e.mapRunArn))
      .filter((e) => !filter.stateMachineArn || e.stateMachineArn === filter.stateMachineArn)
      .filter((e) => !filter.statusFilter || e.status === filter.statusFilter)
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
  }

  describeMapRun(mapRunArn: string): MapRunRecord {
    const r = this.mapRuns.get(mapRunArn);
    if (!r) throw new RunnerApiError("ResourceNotFound", `Map Run Does Not Exist: '${mapRunArn}'`);
    return r;
  }

  listMapRuns(executionArn: string): MapRunRecord[] {
    this.describeExecution(executionArn);
    return [...this.mapRuns.values()].filter((m) => m.executionArn === executionArn);
  }

  /** Resolves when the execution has ended; returns its record. */
  async waitForExecution(executionArn: string): Promise<ExecutionRecord> {
    const rec = this.describeExecution(executionArn);
    await rec.done;
    return rec;
  }

  /** Aborts every running execution (used on shutdown). */
  stopAll(): void {
    for (const e of this.executions.values()) {
      if (e.status === "RUNNING" && !e.mapRunArn)
        this.stopExecution({ executionArn: e.executionArn, cause: "runner stopped" });
    }
  }

  private addEvent(
    rec: ExecutionRecord,
    type: string,
    detailsKey?: string,
    details?: Record<string, unknown>,
  ): void {
    const id = rec.history.length + 1;
    rec.history.push({
      timestamp: new Date(),
      type,
      id,
      previousEventId: id - 1,
      detailsKey,
      details,
    });
  }

  // ---------------------------------------------------------------- interpreter

  private async runStates(
    def: { StartAt: string; States: Record<string, StateDef> },
    input: Json,
    env: Env,
    mapItem: { Index: number; Value: Json } | undefined,
  ): Promise<Json> {
    let name = def.StartAt;
    let data = input;
    for (;;) {
      if (env.signal.aborted) throw abortError();
      const state = def.States[name]!;
      const enteredTime = new Date().toISOString();
      checkSize(data, "input");
      this.addEvent(env.exec, `${state.Type}StateEntered`, "stateEnteredEventDetails", {
        name,
        input: JSON.stringify(data),
      });
      const ctx = (retryCount: number, extra: Record<string, Json> = {}): Json => ({
        ...env.context,
        State: { Name: name, EnteredTime: enteredTime, RetryCount: retryCount },
        ...(mapItem ? { Map: { Item: mapItem } } : {}),
        ...extra,
      });
      const step = await this.runState(name, state, data, env, ctx);
      checkSize(step.output, "output");
      this.addEvent(env.exec, `${state.Type}StateExited`, "stateExitedEventDetails", {
        name,
        output: JSON.stringify(step.output),
      });
      if (step.next === undefined) return step.output;
      name = step.next;
      data = step.output;
    }
  }

  private async runState(
    name: string,
    s: StateDef,
    input: Json,
    env: Env,
    ctx: (retryCount: number, extra?: Record<string, Json>) => Json,
  ): Promise<{ output: Json; next?: string }> {
    const next = s.End === true ? undefined : (s.Next as string | undefined);
    const effective = (): Json => inputPath(s.InputPath, input, ctx(0));
    const finish = (result: Json): { output: Json; next?: string } => {
      const withResult =
        s.ResultPath === null ? input : setAtPath(input, (s.ResultPath as string) ?? "$", result);
      return { output: outputPath(s.OutputPath, withResult, ctx(0)), next };
    };
    switch (s.Type) {
      case "Pass": {
        const eff = effective();
        const result =
          s.Parameters !== undefined
            ? applyTemplate(s.Parameters as Json, eff, ctx(0))
            : s.Result !== undefined
              ? (s.Result as Json)
              : eff;
        return finish(result);
      }
      case "Succeed":
        return { output: outputPath(s.OutputPath, effective(), ctx(0)) };
      case "Fail": {
        const c = ctx(0);
        const error = s.ErrorPath
          ? stringFrom(s.ErrorPath as string, input, c)
          : ((s.Error as string | undefined) ?? "");
        const cause = s.CausePath
          ? stringFrom(s.CausePath as string, input, c)
          : (s.Cause as string | undefined);
        // A Fail state without Error ends the execution with no error name (as in AWS).
        throw new StatesError(error ?? "", cause);
      }
      case "Choice": {
        const eff = effective();
        for (const rule of s.Choices as Record<string, unknown>[]) {
          if (evaluateChoiceRule(rule, eff, ctx(0)))
            return { output: outputPath(s.OutputPath, eff, ctx(0)), next: rule.Next as string };
        }
        if (s.Default === undefined)
          throw new StatesError(
            "States.NoChoiceMatched",
            `No Choice Rules matched and no Default was specified in state '${name}'`,
          );
        return { output: outputPath(s.OutputPath, eff, ctx(0)), next: s.Default as string };
      }
      case "Wait": {
        const eff = effective();
        let ms: number;
        if (s.Seconds !== undefined) ms = (s.Seconds as number) * 1000;
        else if (s.SecondsPath !== undefined) {
          const v = queryPath(s.SecondsPath as string, eff, ctx(0));
          if (typeof v !== "number" || v < 0 || !Number.isInteger(v))
            throw runtimeError(
              `SecondsPath '${String(s.SecondsPath)}' must point to a non-negative integer`,
            );
          ms = v * 1000;
        } else {
          const ts =
            s.Timestamp !== undefined
              ? (s.Timestamp as string)
              : queryPath(s.TimestampPath as string, eff, ctx(0));
          if (typeof ts !== "string" || Number.isNaN(Date.parse(ts)))
            throw runtimeError(
              `TimestampPath '${String(s.TimestampPath)}' must point to a timestamp`,
            );
          ms = Date.parse(ts) - Date.now();
        }
        await sleep(ms * (this.opts.waitScale ?? 1), env.signal);
        return { output: outputPath(s.OutputPath, eff, ctx(0)), next };
      }
      case "Task":
      case "Parallel":
      case "Map":
        return this.runWithErrorHandling(name, s, input, env, ctx, finish);
    }
    throw runtimeError(`Unsupported state type ${String(s.Type)}`);
  }

  private async runWithErrorHandling(
    name: string,
    s: StateDef,
    input: Json,
    env: Env,
    ctx: (retryCount: number, extra?: Record<string, Json>) => Json,
    finish: (result: Json) => { output: Json; next?: string },
  ): Promise<{ output: Json; next?: string }> {
    const retriers = (s.Retry ?? []) as Record<string, unknown>[];
    const attempts = retriers.map(() => 0);
    let retryCount = 0;
    for (;;) {
      try {
        const c = ctx(retryCount, s.Type === "Task" ? { Task: { Token: randomUUID() } } : {});
        const eff = inputPath(s.InputPath, input, c);
        let result: Json;
        if (s.Type === "Task") result = await this.runTaskState(name, s, eff, env, c);
        else if (s.Type === "Parallel") result = await this.runParallel(s, eff, env, c);
        else result = await this.runMap(name, s, eff, env, c);
        if (s.ResultSelector !== undefined)
          result = applyTemplate(s.ResultSelector as Json, result, c);
        return finish(result);
      } catch (e) {
        if (env.signal.aborted) throw abortError();
        const err = toStatesError(e);
        const idx = retriers.findIndex((r) => errorMatches(r.ErrorEquals as string[], err));
        const r = retriers[idx];
        if (r && attempts[idx]! < ((r.MaxAttempts as number | undefined) ?? 3)) {
          let delay =
            ((r.IntervalSeconds as number | undefined) ?? 1) *
            ((r.BackoffRate as number | undefined) ?? 2) ** attempts[idx]!;
          if (r.MaxDelaySeconds !== undefined) delay = Math.min(delay, r.MaxDelaySeconds as number);
          if (r.JitterStrategy === "FULL") delay = Math.random() * delay;
          attempts[idx]!++;
          retryCount++;
          await sleep(delay * 1000 * (this.opts.retryDelayScale ?? 1), env.signal);
          continue;
        }
        const catcher = ((s.Catch ?? []) as Record<string, unknown>[]).find((c) =>
          errorMatches(c.ErrorEquals as string[], err),
        );
        if (!catcher) throw err;
        const errorOutput: Json = { Error: err.error, Cause: err.cause ?? "" };
        const rp = catcher.ResultPath === undefined ? "$" : (catcher.ResultPath as string | null);
        const output = rp === null ? input : setAtPath(input, rp, errorOutput);
        return { output, next: catcher.Next as string };
      }
    }
  }

  private async runTaskState(
    name: string,
    s: StateDef,
    eff: Json,
    env: Env,
    c: Json,
  ): Promise<Json> {
    const params = s.Parameters !== undefined ? applyTemplate(s.Parameters as Json, eff, c) : eff;
    checkSize(params, "parameters");
    let timeoutSeconds = s.TimeoutSeconds as number | undefined;
    if (s.TimeoutSecondsPath !== undefined) {
      const v = queryPath(s.TimeoutSecondsPath as string, eff, c);
      if (typeof v !== "number" || v <= 0)
        throw runtimeError(`TimeoutSecondsPath of '${name}' must point to a positive integer`);
      timeoutSeconds = v;
    }
    this.addEvent(env.exec, "TaskScheduled", "taskScheduledEventDetails", {
      resource: s.Resource,
      parameters: JSON.stringify(params),
      region: this.region,
    });
    const call = runTask(s.Resource as string, params, this.deps);
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = timeoutSeconds
        ? await Promise.race([
            call,
            new Promise<never>((_, reject) => {
              timer = setTimeout(
                () =>
                  reject(
                    new StatesError(
                      "States.Timeout",
                      `Task '${name}' timed out after ${timeoutSeconds} seconds`,
                    ),
                  ),
                timeoutSeconds! * 1000,
              );
            }),
          ])
        : await call;
      this.addEvent(env.exec, "TaskSucceeded", "taskSucceededEventDetails", {
        resource: s.Resource,
        output: JSON.stringify(result),
      });
      return result;
    } catch (e) {
      const err = toStatesError(e);
      this.addEvent(
        env.exec,
        err.error === "States.Timeout" ? "TaskTimedOut" : "TaskFailed",
        "taskFailedEventDetails",
        { resource: s.Resource, error: err.error, cause: err.cause },
      );
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  private async runParallel(s: StateDef, eff: Json, env: Env, c: Json): Promise<Json> {
    const branchInput =
      s.Parameters !== undefined ? applyTemplate(s.Parameters as Json, eff, c) : eff;
    const ctl = childController(env.signal);
    const branchEnv = { ...env, signal: ctl.signal };
    // Promise.all rejects with the first failing branch's own error, not the aborts it
    // then causes in its siblings.
    return await Promise.all(
      (s.Branches as MachineDef[]).map((b) =>
        this.runStates(b, branchInput, branchEnv, undefined).catch((e) => {
          ctl.abort();
          throw e;
        }),
      ),
    );
  }

  private resolveNumber(s: StateDef, field: string, eff: Json, c: Json, dflt: number): number {
    if (s[`${field}Path`] !== undefined) {
      const v = queryPath(s[`${field}Path`] as string, eff, c);
      if (typeof v !== "number" || v < 0)
        throw runtimeError(`${field}Path must point to a non-negative number`);
      return v;
    }
    return (s[field] as number | undefined) ?? dflt;
  }

  private async runMap(name: string, s: StateDef, eff: Json, env: Env, c: Json): Promise<Json> {
    const proc = (s.ItemProcessor ?? s.Iterator) as MachineDef & {
      ProcessorConfig?: { Mode?: string; ExecutionType?: string };
    };
    const distributed = proc.ProcessorConfig?.Mode === "DISTRIBUTED";
    let items: Json[];
    if (s.ItemReader !== undefined) {
      const reader = s.ItemReader as {
        Resource: string;
        Parameters?: Json;
        ReaderConfig?: Record<string, Json>;
      };
      const params = applyTemplate(reader.Parameters ?? {}, eff, c) as Record<string, Json>;
      const cfg = { ...(reader.ReaderConfig ?? {}) } as Record<string, Json>;
      if (cfg.MaxItemsPath !== undefined)
        cfg.MaxItems = queryPath(cfg.MaxItemsPath as string, eff, c);
      items = await readItems(this.deps.s3, reader.Resource, params, cfg as ReaderConfig);
    } else {
      const v = queryPath((s.ItemsPath as string) ?? "$", eff, c);
      if (!Array.isArray(v))
        throw runtimeError(
          `Map state '${name}': ItemsPath '${String(s.ItemsPath ?? "$")}' did not select an array`,
        );
      items = v;
    }
    const selector = (s.ItemSelector ?? s.Parameters) as Json | undefined;
    const inputs = items.map((value, index) =>
      selector !== undefined
        ? applyTemplate(selector, eff, {
            ...(c as object),
            Map: { Item: { Index: index, Value: value } },
          } as Json)
        : value,
    );
    const maxConcurrency = this.resolveNumber(s, "MaxConcurrency", eff, c, 0);
    const limit = maxConcurrency === 0 ? (this.opts.unboundedConcurrency ?? 40) : maxConcurrency;
    if (!distributed) {
      const ctl = childController(env.signal);
      const iterEnv = { ...env, signal: ctl.signal };
      return await mapLimit(inputs, limit, (item, index) =>
        this.runStates(proc, item, iterEnv, { Index: index, Value: items[index]! }).catch((e) => {
          ctl.abort();
          throw e;
        }),
      );
    }
    return this.runDistributedMap(name, s, proc, eff, c, env, items, inputs, maxConcurrency, limit);
  }

  private async runDistributedMap(
    name: string,
    s: StateDef,
    proc: MachineDef & { ProcessorConfig?: { Mode?: string; ExecutionType?: string } },
    eff: Json,
    c: Json,
    env: Env,
    items: Json[],
    inputs: Json[],
    maxConcurrency: number,
    limit: number,
  ): Promise<Json> {
    const label = (s.Label as string | undefined) ?? name;
    const smName = env.machine.name;
    const mapRunId = randomUUID();
    const mapRunArn = `arn:aws:states:${this.region}:${this.accountId}:mapRun:${smName}/${label}:${mapRunId}`;
    const childSmArn = `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${smName}/${label}`;
    const express = proc.ProcessorConfig?.ExecutionType === "EXPRESS";
    const batcher = s.ItemBatcher as Record<string, Json> | undefined;
    let childInputs: Json[] = inputs;
    let itemsPerChild: number[] = inputs.map(() => 1);
    if (batcher) {
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
      childInputs = batches;
      itemsPerChild = batches.map((b) => ((b as { Items: Json[] }).Items ?? []).length);
    }
    const hasCount =
      s.ToleratedFailureCount !== undefined || s.ToleratedFailureCountPath !== undefined;
    const hasPct =
      s.ToleratedFailurePercentage !== undefined || s.ToleratedFailurePercentagePath !== undefined;
    const toleratedCount = this.resolveNumber(s, "ToleratedFailureCount", eff, c, 0);
    const toleratedPct = this.resolveNumber(s, "ToleratedFailurePercentage", eff, c, 0);
    const run: MapRunRecord = {
      mapRunArn,
      executionArn: env.exec.executionArn,
      status: "RUNNING",
      startDate: new Date(),
      maxConcurrency,
      toleratedFailurePercentage: toleratedPct,
      toleratedFailureCount: toleratedCount,
      itemCounts: { ...emptyCounts(), total: items.length, pending: items.length },
      executionCounts: { ...emptyCounts(), total: childInputs.length, pending: childInputs.length },
    };
    this.mapRuns.set(mapRunArn, run);
    this.addEvent(env.exec, "MapRunStarted", "mapRunStartedEventDetails", { mapRunArn });
    const totalItems = items.length;
    let failedItems = 0;
    const exceeded = () => {
      if (failedItems === 0) return false;
      if (!hasCount && !hasPct) return true;
      if (hasCount && failedItems > toleratedCount) return true;
      return hasPct && totalItems > 0 && (failedItems / totalItems) * 100 > toleratedPct;
    };
    const ctl = childController(env.signal);
    const children: (ExecutionRecord | undefined)[] = childInputs.map(() => undefined);
    let thresholdExceeded = false;
    const move = (
      counts: MapRunCounts,
      from: keyof MapRunCounts,
      to: keyof MapRunCounts,
      n: number,
    ) => {
      counts[from] -= n;
      counts[to] += n;
    };
    await mapLimit(childInputs, limit, async (childInput, index) => {
      if (thresholdExceeded || ctl.signal.aborted) return null;
      const childId = randomUUID();
      const childArn = express
        ? `arn:aws:states:${this.region}:${this.accountId}:express:${smName}/${label}:${mapRunId}:${childId}`
        : `arn:aws:states:${this.region}:${this.accountId}:execution:${smName}/${label}:${childId}`;
      const child = this.newExecution(childArn, childSmArn, childId, JSON.stringify(childInput));
      child.mapRunArn = mapRunArn;
      child.abort = childController(ctl.signal);
      children[index] = child;
      this.executions.set(childArn, child);
      const n = itemsPerChild[index]!;
      move(run.itemCounts, "pending", "running", n);
      move(run.executionCounts, "pending", "running", 1);
      const childEnv: Env = {
        exec: child,
        machine: env.machine,
        signal: child.abort.signal,
        context: {
          Execution: {
            Id: childArn,
            Name: childId,
            Input: childInput,
            StartTime: child.startDate.toISOString(),
            RoleArn: env.machine.roleArn,
            RedriveCount: 0,
          },
          StateMachine: { Id: childSmArn, Name: `${smName}/${label}` },
        },
      };
      this.addEvent(child, "ExecutionStarted", "executionStartedEventDetails", {
        input: child.input,
        roleArn: env.machine.roleArn,
      });
      try {
        checkSize(childInput, "input");
        const out = await this.runStates(proc, childInput, childEnv, undefined);
        child.status = "SUCCEEDED";
        child.output = JSON.stringify(out);
        this.addEvent(child, "ExecutionSucceeded", "executionSucceededEventDetails", {
          output: child.output,
          outputDetails: { truncated: false },
        });
        move(run.itemCounts, "running", "succeeded", n);
        move(run.executionCounts, "running", "succeeded", 1);
      } catch (e) {
        const err = toStatesError(e);
        const aborted = ctl.signal.aborted;
        child.status = aborted ? "ABORTED" : "FAILED";
        child.error = err.error;
        child.cause = err.cause;
        this.addEvent(
          child,
          aborted ? "ExecutionAborted" : "ExecutionFailed",
          aborted ? "executionAbortedEventDetails" : "executionFailedEventDetails",
          { error: err.error, cause: err.cause },
        );
        const key = aborted ? "aborted" : "failed";
        move(run.itemCounts, "running", key, n);
        move(run.executionCounts, "running", key, 1);
        if (!aborted) {
          failedItems += n;
          if (exceeded()) {
            thresholdExceeded = true;
            ctl.abort();
          }
        }
      } finally {
        child.stopDate = new Date();
      }
      return null;
    });
    if (env.signal.aborted) {
      // The execution was stopped: the map run is aborted and nothing is exported.
      run.stopDate = new Date();
      run.status = "ABORTED";
      throw abortError();
    }
    const writer = s.ResultWriter as { Parameters: Json } | undefined;
    let result: Json;
    if (writer) {
      const p = applyTemplate(writer.Parameters, eff, c) as { Bucket: string; Prefix?: string };
      const key = await this.writeResults(
        p.Bucket,
        p.Prefix,
        mapRunArn,
        mapRunId,
        children,
        childInputs,
        run,
      );
      result = { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket: p.Bucket, Key: key } };
    } else {
      result = children.map((ch) =>
        ch?.status === "SUCCEEDED" ? (JSON.parse(ch.output!) as Json) : ch ? resultEntry(ch) : null,
      );
    }
    run.stopDate = new Date();
    if (thresholdExceeded) {
      run.status = "FAILED";
      this.addEvent(env.exec, "MapRunFailed", "mapRunFailedEventDetails", {
        error: "States.ExceedToleratedFailureThreshold",
      });
      throw new StatesError(
        "States.ExceedToleratedFailureThreshold",
        "The specified tolerated failure threshold was exceeded",
      );
    }
    run.status = "SUCCEEDED";
    this.addEvent(env.exec, "MapRunSucceeded");
    return result;
  }

  /** Writes manifest.json and SUCCEEDED_0 / FAILED_0 / PENDING_0.json as AWS lays them out. */
  private async writeResults(
    bucket: string,
    prefix: string | undefined,
    mapRunArn: string,
    mapRunId: string,
    children: (ExecutionRecord | undefined)[],
    childInputs: Json[],
    run: MapRunRecord,
  ): Promise<string> {
    const s3 = this.deps.s3;
    if (!s3)
      throw new StatesError(
        "States.ResultWriterFailed",
        "The local runner has no S3 client configured",
      );
    const base = prefix ? `${prefix.replace(/\/+$/, "")}/${mapRunId}` : mapRunId;
    const groups: Record<"SUCCEEDED" | "FAILED" | "PENDING", Json[]> = {
      SUCCEEDED: [],
      FAILED: [],
      PENDING: [],
    };
    children.forEach((ch, i) => {
      if (!ch)
        groups.PENDING.push({
          Input: JSON.stringify(childInputs[i]),
          InputDetails: { Included: true },
          Status: "PENDING",
        });
      else if (ch.status === "SUCCEEDED") groups.SUCCEEDED.push(resultEntry(ch));
      else groups.FAILED.push(resultEntry(ch));
    });
    const files: Record<string, { Key: string; Size: number }[]> = {
      FAILED: [],
      PENDING: [],
      SUCCEEDED: [],
    };
    const put = async (key: string, body: string) => {
      try {
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: "application/json",
          }),
        );
      } catch (e) {
        throw new StatesError(
          "States.ResultWriterFailed",
          `Could not write s3://${bucket}/${key}: ${(e as Error).name}: ${(e as Error).message}`,
        );
      }
    };
    for (const status of ["SUCCEEDED", "FAILED", "PENDING"] as const) {
      if (groups[status].length === 0) continue;
      const key = `${base}/${status}_0.json`;
      const body = JSON.stringify(groups[status]);
      await put(key, body);
      files[status]!.push({ Key: key, Size: Buffer.byteLength(body) });
    }
    const manifestKey = `${base}/manifest.json`;
    await put(
      manifestKey,
      JSON.stringify({ DestinationBucket: bucket, MapRunArn: mapRunArn, ResultFiles: files }),
    );
    run.itemCounts.resultsWritten =
      run.itemCounts.succeeded + run.itemCounts.failed + run.itemCounts.aborted;
    run.executionCounts.resultsWritten = groups.SUCCEEDED.length + groups.FAILED.length;
    return manifestKey;
  }
}

/** One child execution as ResultWriter files and failed Map results describe it. */
function resultEntry(ch: ExecutionRecord): Json {
  const base: Record<string, Json> = {
    ExecutionArn: ch.executionArn,
    Input: ch.input,
    InputDetails: { Included: true },
    Name: ch.name,
  };
  if (ch.status === "SUCCEEDED") {
    base.Output = ch.output ?? "null";
    base.OutputDetails = { Included: true };
  }
  base.RedriveCount = 0;
  if (ch.status === "SUCCEEDED") {
    base.RedriveStatus = "NOT_REDRIVABLE";
    base.RedriveStatusReason = "Execution is SUCCEEDED and cannot be redriven";
  } else {
    base.RedriveStatus = "REDRIVABLE_BY_MAP_RUN";
  }
  base.StartDate = ch.startDate.toISOString();
  base.StateMachineArn = ch.stateMachineArn;
  base.Status = ch.status;
  base.StopDate = (ch.stopDate ?? new Date()).toISOString();
  if (ch.status !== "SUCCEEDED") {
    base.Error = ch.error ?? null;
    base.Cause = ch.cause ?? null;
  }
  return base;
}

/** The detail of the "Step Functions Execution Status Change" event. */
export function executionStatusDetail(rec: ExecutionRecord): Record<string, unknown> {
  return {
    executionArn: rec.executionArn,
    stateMachineArn: rec.stateMachineArn,
    name: rec.name,
    status: rec.status,
    startDate: rec.startDate.getTime(),
    stopDate: rec.stopDate ? rec.stopDate.getTime() : null,
    input: rec.input,
    output: rec.status === "SUCCEEDED" ? (rec.output ?? null) : null,
    inputDetails: { included: true },
    outputDetails: rec.status === "SUCCEEDED" ? { included: true } : null,
    error: rec.error ?? null,
    cause: rec.cause ?? null,
  };
}

function inputPath(path: unknown, input: Json, ctx: Json): Json {
  if (path === null) return {};
  if (path === undefined) return input;
  return queryPath(path as string, input, ctx);
}

function outputPath(path: unknown, output: Json, ctx: Json): Json {
  if (path === null) return {};
  if (path === undefined) return output;
  return queryPath(path as string, output, ctx);
}

function stringFrom(path: string, input: Json, ctx: Json): string {
  const v = isIntrinsic(path) ? evaluateIntrinsic(path, input, ctx) : queryPath(path, input, ctx);
  if (typeof v !== "string") throw runtimeError(`'${path}' must select a string`);
  return v;
}

/** Runs `fn` over `xs` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(
  xs: T[],
  limit: number,
  fn: (x: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < xs.length && failure === undefined) {
      const i = next++;
      try {
        out[i] = await fn(xs[i]!, i);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), xs.length) }, worker));
  if (failure !== undefined) throw failure;
  return out;
}
