// One invocation on a worker thread of the local Lambda runtime: the message to the worker,
// its answer, or what Lambda reports when the environment crashed, ran out of memory or
// timed out (the worker is then discarded); the worker's heap limits and Lambda's errors.
import type { Worker } from "node:worker_threads";

/** An error of the Lambda service itself (the request was refused), named as Lambda names it. */
export class LambdaServiceError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** Thrown by invokeJson when the handler failed; carries Lambda's error document. */
export class LambdaFunctionError extends Error {
  constructor(
    readonly errorType: string,
    readonly errorMessage: string,
    readonly payload: string,
  ) {
    super(`${errorType}: ${errorMessage}`);
    this.name = "LambdaFunctionError";
  }
}

export type InvocationOutcome = "success" | "error" | "timeout" | "crash";

export interface WorkerResult {
  ok: boolean;
  /** The handler's result, or Lambda's error document, as JSON text. */
  payload: string;
  /** The worker cannot be reused (crashed or timed out). */
  discard: boolean;
  outcome: InvocationOutcome;
  /** Figures the worker measured (heapUsedBefore, heapUsedAfter, peakHeapUsed, cpuNanos). */
  memory?: Record<string, number>;
}

export interface WorkerInvocation {
  requestId: string;
  event: unknown;
  /** Injected into the worker: crash, error or timeout instead of running the handler. */
  fault?: { kind: string; errorType?: string; errorMessage?: string };
  /** The Lambda context's fields (the worker adds its methods). */
  context: Record<string, unknown>;
  timeoutMs: number;
}

interface WorkerMessage {
  id: string;
  ok: boolean;
  payload: string;
  memory: Record<string, number>;
}

const errorPayload = (errorType: string, errorMessage: string) =>
  JSON.stringify({ errorType, errorMessage });

/** Runs one invocation on `w` and resolves with its result; never rejects. */
export function runOnWorker(w: Worker, call: WorkerInvocation): Promise<WorkerResult> {
  const { requestId, timeoutMs } = call;
  return new Promise<WorkerResult>((resolve) => {
    const cleanup = () => {
      clearTimeout(timer);
      w.off("message", onMessage);
      w.off("error", onError);
      w.off("exit", onExit);
    };
    const onMessage = (m: WorkerMessage) => {
      if (m.id !== requestId) return;
      cleanup();
      resolve({
        ok: m.ok,
        payload: m.payload,
        discard: false,
        outcome: m.ok ? "success" : "error",
        memory: m.memory,
      });
    };
    const crashed = (payload: string): WorkerResult => ({
      ok: false,
      discard: true,
      outcome: "crash",
      payload,
    });
    const onError = (e: Error & { code?: string }) => {
      cleanup();
      const oom = e.code === "ERR_WORKER_OUT_OF_MEMORY";
      resolve(
        crashed(
          errorPayload(
            oom ? "Runtime.OutOfMemory" : "Runtime.ExitError",
            oom
              ? `RequestId: ${requestId} Error: Runtime exited with error: signal: killed`
              : `RequestId: ${requestId} Error: Runtime exited with error: ${e.message}`,
          ),
        ),
      );
    };
    const onExit = (code: number) => {
      cleanup();
      resolve(
        crashed(
          errorPayload(
            "Runtime.ExitError",
            `RequestId: ${requestId} Error: Runtime exited with error: exit status ${code}`,
          ),
        ),
      );
    };
    const timer = setTimeout(() => {
      cleanup();
      resolve({
        ok: false,
        discard: true,
        outcome: "timeout",
        payload: errorPayload(
          "Sandbox.Timedout",
          `RequestId: ${requestId} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
        ),
      });
    }, timeoutMs);
    w.on("message", onMessage);
    w.on("error", onError);
    w.on("exit", onExit);
    w.postMessage({ id: requestId, event: call.event, fault: call.fault, context: call.context });
  });
}

/**
 * A worker's V8 heap limits as Lambda sets them. Lambda's Node.js bootstrap gives a tenth of
 * the memory size to the young generation (`--max-semi-space-size` of a twentieth: 88 MB at
 * 1 769 MB, where V8's own default is 16) and the rest to the old generation
 * (`--max-old-space-size`); a `--max-semi-space-size` in the function's NODE_OPTIONS sizes the
 * young generation instead (a worker thread does not read NODE_OPTIONS; V8's young generation
 * is three semi-spaces).
 */
export function heapLimitsOf(cfg: {
  memorySizeMb?: number;
  environment?: Record<string, string>;
}): {
  maxOldGenerationSizeMb: number;
  maxYoungGenerationSizeMb: number;
} {
  const memory = Math.max(128, cfg.memorySizeMb ?? 128);
  const newSpace = Math.floor(memory / 10);
  const semiSpace = /(?:^|\s)--max-semi-space-size=(\d+)(?:\s|$)/.exec(
    cfg.environment?.NODE_OPTIONS ?? "",
  )?.[1];
  return {
    maxOldGenerationSizeMb: memory - newSpace,
    maxYoungGenerationSizeMb: 3 * (semiSpace ? Number(semiSpace) : Math.floor(newSpace / 2)),
  };
}

/**
 * LAKEPORT_LAMBDA_CPU_PROFILE_DIR=<dir>: each execution environment writes a V8 CPU profile
 * there when it ends (node --cpu-prof), named `<name>.cpuprofile` after its function.
 */
export function cpuProfileOptions(name: string): { execArgv?: string[] } {
  const dir = process.env.LAKEPORT_LAMBDA_CPU_PROFILE_DIR;
  if (!dir) return {};
  return {
    execArgv: [
      ...process.execArgv,
      "--cpu-prof",
      `--cpu-prof-dir=${dir}`,
      `--cpu-prof-name=${name}.cpuprofile`,
    ],
  };
}
