// The local Lambda runtime: runs each function's bundled asset in worker threads with the
// function's own environment, warm workers reused, timeouts, payload limits, errors shaped
// like Lambda's, fault injection and per-invocation memory statistics. Each function's output
// lines are kept like a log stream (logs()) and shown on this process's terminal only when
// asked (echoOutput).
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { LambdaInvocationResult, LambdaInvoker } from "../stepfunctions/integrations";
import { type AsyncInvokeConfig, type QueueSender, runAsyncInvocation } from "./async-invocation";
import type { FaultSpec, InvocationHook } from "./faults";
import {
  cpuProfileOptions,
  heapLimitsOf,
  type InvocationOutcome,
  LambdaFunctionError,
  LambdaServiceError,
  runOnWorker,
  type WorkerResult,
} from "./worker-invocation";

export const PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;

export interface FunctionConfig {
  /** Physical function name. */
  name: string;
  /** CloudFormation logical id, if deployed from a template. */
  logicalId?: string;
  /** Directory holding the bundled code (cdk.out/asset.<hash>). */
  codeDir: string;
  /** e.g. "index.handler". */
  handler: string;
  environment?: Record<string, string>;
  timeoutSeconds?: number;
  memorySizeMb?: number;
  /** ReservedConcurrentExecutions (see accept). */
  reservedConcurrency?: number;
}

export interface LambdaRuntimeOptions {
  region?: string;
  accountId?: string;
  /** Added to every function's environment (endpoints, credentials). */
  baseEnvironment?: Record<string, string>;
  /** Warm workers per function, i.e. concurrent invocations. Default 4; more calls queue. */
  concurrencyPerFunction?: number;
  /** Where bundles resolve externals (the AWS SDK that Lambda's runtime provides). */
  nodeModulesDirs?: string[];
  /**
   * Also write every function's output lines to this process's stdout and stderr (on under
   * `npm run local`). Default off: the lines are only kept, see logs().
   */
  echoOutput?: boolean;
}

export type { FaultKind, FaultSpec, InvocationHook } from "./faults";

export interface InvocationRecord {
  requestId: string;
  functionName: string;
  invocation: number;
  /** When a worker started running the invocation. */
  startedAt: Date;
  /** Time spent waiting for a free worker before startedAt. */
  queuedMs: number;
  /** Run time from startedAt (what Lambda bills). */
  durationMs: number;
  outcome: InvocationOutcome;
  errorType?: string;
  requestBytes: number;
  responseBytes: number;
  heapUsedBeforeBytes?: number;
  heapUsedAfterBytes?: number;
  peakHeapUsedBytes?: number;
  /** The Linux thread id of the worker that ran it, and that thread's CPU ms for it (/proc). */
  linuxThreadId?: number;
  cpuMs?: number;
}

export interface FunctionStats {
  functionName: string;
  invocations: number;
  /** Synchronous invocations refused beyond the reserved concurrency. */
  throttles: number;
  errors: number;
  timeouts: number;
  crashes: number;
  maxPeakHeapUsedBytes: number;
  warmWorkers: number;
  records: InvocationRecord[];
}

export { LambdaFunctionError, LambdaServiceError } from "./worker-invocation";

interface Slot {
  worker: Worker;
  busy: boolean;
}

interface Fn {
  cfg: FunctionConfig;
  arn: string;
  file: string;
  exportName: string;
  slots: Slot[];
  waiters: (() => void)[];
  count: number;
  /** Invocations accepted and not yet ended (running or waiting for a worker). */
  inFlight: number;
  /** Execution environments kept for this function (setFunctionWorkers), else the runtime's. */
  workers?: number;
  stats: FunctionStats;
  /** The function's recent output lines, as CloudWatch Logs would hold them. */
  logLines: string[];
  /** Retries and where failed asynchronous invocations go (EventInvokeConfig, DLQ). */
  asyncConfig: AsyncInvokeConfig;
}

const LOG_LINES_KEPT = 1000;

/** "Worker" names the logical id "Worker11F36D0F" (CDK appends an 8-character hash). */
function sameLogicalId(logicalId: string | undefined, key: string): boolean {
  if (!logicalId) return false;
  return (
    logicalId === key ||
    (logicalId.length === key.length + 8 &&
      logicalId.startsWith(key) &&
      /^[0-9A-F]{8}$/.test(logicalId.slice(key.length)))
  );
}

const WORKER_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "worker.mjs");

function resolveHandlerFile(
  codeDir: string,
  handler: string,
): { file: string; exportName: string } {
  const dot = handler.lastIndexOf(".");
  if (dot <= 0) throw new Error(`Handler '${handler}' must look like 'file.export'`);
  const base = path.join(codeDir, handler.slice(0, dot));
  for (const ext of [".js", ".mjs", ".cjs"]) {
    if (existsSync(base + ext)) return { file: base + ext, exportName: handler.slice(dot + 1) };
  }
  throw new Error(`Handler file for '${handler}' not found in ${codeDir}`);
}

export class LambdaRuntime implements LambdaInvoker {
  private readonly fns = new Map<string, Fn>();
  private readonly faults: (FaultSpec & { used?: boolean })[] = [];
  private readonly hooks: (InvocationHook & { used?: boolean })[] = [];
  private readonly region: string;
  private readonly accountId: string;
  private sendToQueue: QueueSender | undefined;

  constructor(private readonly opts: LambdaRuntimeOptions = {}) {
    this.region = opts.region ?? "us-east-1";
    this.accountId = opts.accountId ?? "000000000000";
  }

  functionArn(name: string): string {
    return `arn:aws:lambda:${this.region}:${this.accountId}:function:${name}`;
  }

  register(cfg: FunctionConfig): string {
    const { file, exportName } = resolveHandlerFile(cfg.codeDir, cfg.handler);
    const arn = this.functionArn(cfg.name);
    this.fns.set(cfg.name, {
      cfg,
      arn,
      file,
      exportName,
      slots: [],
      waiters: [],
      count: 0,
      inFlight: 0,
      logLines: [],
      asyncConfig: {},
      stats: {
        functionName: cfg.name,
        invocations: 0,
        throttles: 0,
        errors: 0,
        timeouts: 0,
        crashes: 0,
        maxPeakHeapUsedBytes: 0,
        warmWorkers: 0,
        records: [],
      },
    });
    return arn;
  }

  functionNames(): string[] {
    return [...this.fns.keys()];
  }

  private find(nameOrArn: string): Fn {
    // Accepts a name, a name with a qualifier (name:alias), a partial ARN or a full ARN; the
    // local runtime has one version of each function, so qualifiers all mean $LATEST.
    let name = nameOrArn;
    const m =
      /^arn:aws[a-z-]*:lambda:[^:]+:\d{12}:function:([^:]+)(:[^:]+)?$/.exec(nameOrArn) ??
      /^\d{12}:function:([^:]+)(:[^:]+)?$/.exec(nameOrArn) ??
      /^([^:]+):[^:]+$/.exec(nameOrArn);
    if (m) name = m[1]!;
    const fn =
      this.fns.get(name) ??
      [...this.fns.values()].find((f) => sameLogicalId(f.cfg.logicalId, name));
    if (!fn)
      throw new LambdaServiceError(
        "Lambda.ResourceNotFoundException",
        `Function not found: ${nameOrArn}`,
      );
    return fn;
  }

  /**
   * The function's asynchronous invocation settings (EventInvokeConfig MaximumRetryAttempts and
   * OnFailure destination, the function's DeadLetterConfig), merged into what it has.
   */
  configureAsync(nameOrArn: string, config: AsyncInvokeConfig): void {
    const fn = this.find(nameOrArn);
    fn.asyncConfig = { ...fn.asyncConfig, ...config };
  }

  /** Where failed asynchronous invocations are sent (the local SQS queues). */
  setQueueSender(send: QueueSender): void {
    this.sendToQueue = send;
  }

  injectFault(spec: FaultSpec): void {
    this.faults.push({ ...spec });
  }

  clearFaults(): void {
    this.faults.length = 0;
    this.hooks.length = 0;
  }

  /**
   * Lambda's UpdateFunctionConfiguration for environment variables: merged into the
   * function's environment; idle execution environments are dropped, so the next invocations
   * start with the new variables (as in AWS).
   */
  updateFunctionEnvironment(nameOrArn: string, variables: Record<string, string>): void {
    const fn = this.find(nameOrArn);
    fn.cfg = { ...fn.cfg, environment: { ...(fn.cfg.environment ?? {}), ...variables } };
    dropIdleWorkers(fn, 0);
  }

  /**
   * Execution environments (worker threads) the function runs on at once; invocations beyond
   * wait for one. Not an AWS setting: how many share a small machine's cores (the bench gives
   * the copy function the S3 ceiling loop's best shape). Idle ones beyond it are dropped.
   */
  setFunctionWorkers(nameOrArn: string, workers: number): void {
    if (!Number.isInteger(workers) || workers < 1) {
      throw new RangeError(`workers: expected a positive integer, got ${workers}`);
    }
    const fn = this.find(nameOrArn);
    fn.workers = workers;
    dropIdleWorkers(fn, workers);
  }

  /**
   * Lambda's UpdateFunctionConfiguration for the limits: a new timeout or memory size (the
   * workers' heap limit); idle execution environments are dropped, as for the environment.
   */
  updateFunctionLimits(
    nameOrArn: string,
    limits: { timeoutSeconds?: number; memorySizeMb?: number },
  ): void {
    const fn = this.find(nameOrArn);
    fn.cfg = { ...fn.cfg, ...limits };
    dropIdleWorkers(fn, 0);
  }

  /** Runs `hook.run` before the matching invocation (tests: a change between two steps). */
  beforeInvocation(hook: InvocationHook): void {
    this.hooks.push({ ...hook });
  }

  private takeFault(fn: Fn, invocation: number): (FaultSpec & { used?: boolean }) | undefined {
    return this.takeMatching(this.faults, fn, invocation);
  }

  private takeMatching<T extends { function: string | RegExp; invocation: number | "next" }>(
    list: (T & { used?: boolean })[],
    fn: Fn,
    invocation: number,
  ): (T & { used?: boolean }) | undefined {
    const f = list.find((x) => {
      if (x.used) return false;
      const matches =
        typeof x.function === "string"
          ? x.function === fn.cfg.name ||
            x.function === fn.arn ||
            sameLogicalId(fn.cfg.logicalId, x.function)
          : x.function.test(fn.cfg.name) ||
            (fn.cfg.logicalId !== undefined && x.function.test(fn.cfg.logicalId));
      return matches && (x.invocation === "next" || x.invocation === invocation);
    });
    if (f) f.used = true;
    return f;
  }

  private captureLines(fn: Fn, from: NodeJS.ReadableStream, echo: NodeJS.WritableStream): void {
    let partial = "";
    from.on("data", (chunk: Buffer | string) => {
      if (this.opts.echoOutput) echo.write(chunk);
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) fn.logLines.push(line);
      if (fn.logLines.length > LOG_LINES_KEPT) {
        fn.logLines.splice(0, fn.logLines.length - LOG_LINES_KEPT);
      }
    });
  }

  /**
   * The last lines (up to 1000) a function wrote to stdout and stderr, its log stream, oldest
   * first, echoed or not. By name, ARN, or logical id with or without CDK's hash.
   */
  logs(nameOrArn: string): string[] {
    return [...this.find(nameOrArn).logLines];
  }

  stats(nameOrArn: string): FunctionStats {
    const fn = this.find(nameOrArn);
    return { ...fn.stats, warmWorkers: fn.slots.length, records: [...fn.stats.records] };
  }

  allStats(): FunctionStats[] {
    return [...this.fns.keys()].map((n) => this.stats(n));
  }

  private environment(fn: Fn): Record<string, string> {
    const c = fn.cfg;
    return {
      AWS_REGION: this.region,
      AWS_DEFAULT_REGION: this.region,
      AWS_LAMBDA_FUNCTION_NAME: c.name,
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(c.memorySizeMb ?? 128),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${c.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `local/${randomUUID()}`,
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
      LAMBDA_TASK_ROOT: c.codeDir,
      _HANDLER: c.handler,
      ...(process.env.PATH ? { PATH: process.env.PATH } : {}),
      ...(this.opts.baseEnvironment ?? {}),
      ...(c.environment ?? {}),
    };
  }

  private async acquire(fn: Fn): Promise<Slot> {
    const max = fn.workers ?? this.opts.concurrencyPerFunction ?? 4;
    for (;;) {
      const idle = fn.slots.find((s) => !s.busy);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (fn.slots.length < max) {
        const worker = new Worker(WORKER_FILE, {
          ...cpuProfileOptions(`${fn.cfg.name}-${fn.slots.length}-${Date.now()}`),
          env: this.environment(fn),
          workerData: {
            file: fn.file,
            exportName: fn.exportName,
            extraNodePaths: this.opts.nodeModulesDirs ?? [],
          },
          resourceLimits: heapLimitsOf(fn.cfg),
          stdout: true,
          stderr: true,
        });
        worker.unref();
        // Kept per function, line by line; echoed to this process only when asked.
        this.captureLines(fn, worker.stdout, process.stdout);
        this.captureLines(fn, worker.stderr, process.stderr);
        const slot = { worker, busy: true };
        fn.slots.push(slot);
        return slot;
      }
      await new Promise<void>((resolve) => fn.waiters.push(resolve));
    }
  }

  private release(fn: Fn, slot: Slot, discard: boolean): void {
    if (discard) {
      fn.slots = fn.slots.filter((s) => s !== slot);
      void slot.worker.terminate();
    } else slot.busy = false;
    fn.waiters.shift()?.();
  }

  /** Synchronous (RequestResponse) invocation, as Step Functions and the SDK see it. */
  async invoke(nameOrArn: string, payload: string): Promise<LambdaInvocationResult> {
    return await this.accept(this.find(nameOrArn), payload, false);
  }

  /**
   * As in Lambda, a synchronous invocation beyond the reserved concurrency is refused at once
   * (Lambda.TooManyRequestsException); an asynchronous one waits in the event queue.
   */
  private async accept(fn: Fn, payload: string, wait: boolean): Promise<LambdaInvocationResult> {
    const requestBytes = Buffer.byteLength(payload);
    if (requestBytes > PAYLOAD_LIMIT_BYTES) {
      throw new LambdaServiceError(
        "Lambda.RequestTooLargeException",
        `Request must be smaller than ${PAYLOAD_LIMIT_BYTES} bytes for the InvokeFunction operation`,
      );
    }
    const reserved = fn.cfg.reservedConcurrency;
    while (reserved !== undefined && fn.inFlight >= reserved) {
      if (!wait) {
        fn.stats.throttles++;
        throw new LambdaServiceError("Lambda.TooManyRequestsException", "Rate Exceeded.");
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    fn.inFlight++;
    try {
      return await this.run(fn, payload, requestBytes);
    } finally {
      fn.inFlight--;
    }
  }

  private async run(
    fn: Fn,
    payload: string,
    requestBytes: number,
  ): Promise<LambdaInvocationResult> {
    const event = JSON.parse(payload) as unknown;
    const invocation = ++fn.count;
    fn.stats.invocations++;
    const fault = this.takeFault(fn, invocation);
    if (fault?.kind === "lost-answer") {
      // The invocation runs on (holding its concurrency) while its caller is told it failed.
      fn.inFlight++;
      void this.execute(fn, event, invocation, requestBytes, undefined)
        .catch((err) => console.error(`[lambda] ${fn.cfg.name}: ${(err as Error).message}`))
        .finally(() => fn.inFlight--);
      throw new LambdaServiceError(
        fault.errorType ?? "Lambda.SdkClientException",
        fault.errorMessage ?? "Unable to execute HTTP request: Connection reset",
      );
    }
    return await this.execute(fn, event, invocation, requestBytes, fault);
  }

  /** Runs invocation number `invocation` of `fn` on a worker (after its hook, if any). */
  private async execute(
    fn: Fn,
    event: unknown,
    invocation: number,
    requestBytes: number,
    fault: FaultSpec | undefined,
  ): Promise<LambdaInvocationResult> {
    await this.takeMatching(this.hooks, fn, invocation)?.run();
    const requestId = randomUUID();
    const timeoutMs = (fn.cfg.timeoutSeconds ?? 3) * 1000;
    const queuedAt = Date.now();
    const slot = await this.acquire(fn);
    // Duration and deadline start when a worker runs the invocation, as in Lambda; the wait
    // for a free worker (a throttle in AWS, never billed) is recorded apart.
    const started = Date.now();
    const record: InvocationRecord = {
      requestId,
      functionName: fn.cfg.name,
      invocation,
      startedAt: new Date(started),
      queuedMs: started - queuedAt,
      durationMs: 0,
      outcome: "success",
      requestBytes,
      responseBytes: 0,
    };
    const result = await runOnWorker(slot.worker, {
      requestId,
      event,
      fault: fault
        ? { kind: fault.kind, errorType: fault.errorType, errorMessage: fault.errorMessage }
        : undefined,
      context: {
        awsRequestId: requestId,
        functionName: fn.cfg.name,
        functionVersion: "$LATEST",
        invokedFunctionArn: fn.arn,
        memoryLimitInMB: String(fn.cfg.memorySizeMb ?? 128),
        logGroupName: `/aws/lambda/${fn.cfg.name}`,
        logStreamName: `local/${requestId}`,
        deadlineMs: started + timeoutMs,
      },
      timeoutMs,
    });
    this.release(fn, slot, result.discard);
    const { ok, payload: out } = this.settle(fn, record, result, started);
    return {
      payload: out,
      ...(ok ? {} : { functionError: "Unhandled" }),
      executedVersion: "$LATEST",
      requestId,
    };
  }

  /** Applies the response size limit and records the invocation's outcome and memory. */
  private settle(
    fn: Fn,
    record: InvocationRecord,
    result: WorkerResult,
    started: number,
  ): { ok: boolean; payload: string } {
    let { ok, payload: out } = result;
    let outcome = result.outcome;
    if (ok && Buffer.byteLength(out) > PAYLOAD_LIMIT_BYTES) {
      ok = false;
      outcome = "error";
      out = JSON.stringify({
        errorType: "Function.ResponseSizeTooLarge",
        errorMessage: `Response payload size exceeded maximum allowed payload size (${PAYLOAD_LIMIT_BYTES} bytes).`,
      });
    }
    record.durationMs = Date.now() - started;
    record.outcome = outcome;
    record.responseBytes = Buffer.byteLength(out);
    if (!ok) record.errorType = (JSON.parse(out) as { errorType?: string }).errorType;
    if (result.memory) {
      record.heapUsedBeforeBytes = result.memory.heapUsedBefore;
      record.heapUsedAfterBytes = result.memory.heapUsedAfter;
      record.peakHeapUsedBytes = result.memory.peakHeapUsed;
      if (result.memory.linuxThreadId) record.linuxThreadId = result.memory.linuxThreadId;
      if (result.memory.cpuNanos !== undefined) record.cpuMs = result.memory.cpuNanos / 1e6;
      const peak = result.memory.peakHeapUsed ?? 0;
      fn.stats.maxPeakHeapUsedBytes = Math.max(fn.stats.maxPeakHeapUsedBytes, peak);
    }
    if (outcome === "error") fn.stats.errors++;
    if (outcome === "timeout") fn.stats.timeouts++;
    if (outcome === "crash") fn.stats.crashes++;
    fn.stats.records.push(record);
    if (fn.stats.records.length > 1000) fn.stats.records.shift();
    return { ok, payload: out };
  }

  /** Invokes with a JS value; returns the parsed result or throws LambdaFunctionError. */
  async invokeJson<T = unknown>(nameOrArn: string, event: unknown): Promise<T> {
    const res = await this.invoke(nameOrArn, JSON.stringify(event ?? null));
    if (res.functionError) {
      const doc = JSON.parse(res.payload) as { errorType?: string; errorMessage?: string };
      throw new LambdaFunctionError(
        doc.errorType ?? "Unknown",
        doc.errorMessage ?? "",
        res.payload,
      );
    }
    return JSON.parse(res.payload) as T;
  }

  /**
   * Asynchronous (Event) invocation, as EventBridge and the Scheduler make it: accepted at
   * once (an unknown function throws here, a delivery failure for the caller), then run with
   * the function's retries; a final failure goes to its on-failure destination or dead-letter
   * queue (see ./async-invocation) and is told to `onFailure`.
   */
  invokeAsync(nameOrArn: string, event: unknown, onFailure?: (err: string) => void): void {
    const fn = this.find(nameOrArn);
    void runAsyncInvocation({
      functionArn: fn.arn,
      event,
      config: fn.asyncConfig,
      attempt: async () => {
        const res = await this.accept(fn, JSON.stringify(event ?? null), true);
        return { ok: !res.functionError, payload: res.payload, requestId: res.requestId };
      },
      ...(this.sendToQueue ? { sendToQueue: this.sendToQueue } : {}),
      onFailure: (msg) => {
        if (onFailure) onFailure(msg);
        else console.error(`[lambda] ${msg}`);
      },
    });
  }

  async close(): Promise<void> {
    const all = [...this.fns.values()].flatMap((f) => f.slots.splice(0));
    await Promise.all(all.map((s) => s.worker.terminate()));
  }
}

/** Ends idle execution environments until at most `keep` remain (or none is idle). */
function dropIdleWorkers(fn: Fn, keep: number): void {
  for (const slot of fn.slots
    .filter((s) => !s.busy)
    .slice(0, Math.max(0, fn.slots.length - keep))) {
    void slot.worker.terminate();
    fn.slots.splice(fn.slots.indexOf(slot), 1);
  }
}
