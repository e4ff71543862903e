// The local Step Functions runner: registered state machines, executions and map runs behind
// the Step Functions API operations. States are run by the interpreter (./interpreter),
// distributed maps by ./distributed-map.
import { randomUUID } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { type DistributedMapHost, runDistributedMap } from "./distributed-map";
import { StatesError, toStatesError } from "./errors";
import type { EventSink, IntegrationDeps, LambdaInvoker } from "./integrations";
import { type InterpreterOptions, StateInterpreter } from "./interpreter";
import type { Json } from "./paths";
import { PAYLOAD_LIMIT_BYTES } from "./payload-limit";
import {
  addEvent,
  type ExecutionEnv,
  type ExecutionRecord,
  executionStatusDetail,
  type MapRunRecord,
  newExecution,
  type StateMachineRecord,
} from "./records";
import { type MachineDef, validateMachine } from "./validate";

export interface RunnerOptions extends InterpreterOptions {
  region?: string;
  accountId?: string;
  lambda?: LambdaInvoker;
  s3?: S3Client;
  dynamodb?: DynamoDBClient;
  /** Target of events:putEvents tasks and of the execution status change events. */
  events?: EventSink;
  /** Emit "Step Functions Execution Status Change" events to the default bus. Default true. */
  emitStatusEvents?: boolean;
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

const INVALID_NAME_CHARS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/;
const isInvalidName = (n: string) =>
  INVALID_NAME_CHARS.test(n) ||
  [...n].some(
    (ch) => ch.charCodeAt(0) < 0x20 || (ch.charCodeAt(0) >= 0x7f && ch.charCodeAt(0) <= 0x9f),
  );

export class StepFunctionsRunner {
  readonly region: string;
  readonly accountId: string;
  private readonly machines = new Map<string, StateMachineRecord>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly mapRuns = new Map<string, MapRunRecord>();
  private readonly deps: IntegrationDeps;
  private readonly interpreter: StateInterpreter;

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
    const mapHost: DistributedMapHost = {
      region: this.region,
      accountId: this.accountId,
      s3: () => this.deps.s3,
      registerMapRun: (run) => this.mapRuns.set(run.mapRunArn, run),
      registerExecution: (child) => this.executions.set(child.executionArn, child),
      runProcessor: (processor, input, env) =>
        this.interpreter.runStates(processor, input, env, undefined),
    };
    this.interpreter = new StateInterpreter(opts, this.deps, this.region, (request) =>
      runDistributedMap(mapHost, request),
    );
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
    const rec = newExecution(executionArn, machine.stateMachineArn, name, inputText);
    this.executions.set(executionArn, rec);
    addEvent(rec, "ExecutionStarted", "executionStartedEventDetails", {
      input: inputText,
      inputDetails: { truncated: false },
      roleArn: machine.roleArn,
    });
    const env: ExecutionEnv = {
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

  private async runExecution(
    rec: ExecutionRecord,
    env: ExecutionEnv,
    def: MachineDef,
    input: Json,
  ): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let machineTimedOut = false;
    try {
      const run = this.interpreter.runStates(def, input, env, undefined);
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
      addEvent(rec, "ExecutionSucceeded", "executionSucceededEventDetails", {
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
        addEvent(rec, "ExecutionTimedOut", "executionTimedOutEventDetails", {
          error: err.error,
          cause: err.cause,
        });
      } else {
        rec.error = err.error === "" ? undefined : err.error;
        rec.cause = err.cause;
        rec.status = "FAILED";
        addEvent(rec, "ExecutionFailed", "executionFailedEventDetails", {
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
      addEvent(rec, "ExecutionAborted", "executionAbortedEventDetails", {
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
}
