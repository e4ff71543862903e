// What a test injects into the local Lambda runtime (runtime.ts): a fault instead of (or
// around) an invocation, or something to do right before one.

/**
 * oom: the invocation allocates until the worker's heap limit (the memory size) is hit.
 * lost-answer: the invocation runs to its end, but its synchronous caller gets a service error
 * at once (`errorType`, default Lambda.SdkClientException), as when the connection to Lambda
 * drops: Step Functions retries the task while the first invocation still runs.
 */
export type FaultKind = "crash" | "error" | "timeout" | "oom" | "lost-answer";

/**
 * Something a test does right before an invocation runs (e.g. changes a repository between
 * two steps of a workflow); the invocation waits for it. Used once.
 */
export interface InvocationHook {
  function: string | RegExp;
  invocation: number | "next";
  run: () => Promise<void> | void;
}

export interface FaultSpec {
  /** Function name, logical id, ARN, or a RegExp tested against name and logical id. */
  function: string | RegExp;
  /** 1-based invocation number of that function, or "next" for the next one. */
  invocation: number | "next";
  kind: FaultKind;
  errorType?: string;
  errorMessage?: string;
}
