// Stopping executions: every wait and every child run watches an AbortSignal, and an aborted
// execution unwinds with States.Aborted.
import { StatesError } from "./errors";

export function abortError(): StatesError {
  return new StatesError("States.Aborted", "Execution was aborted");
}

/** Waits `ms`, or rejects with abortError() as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
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

/** A controller aborted with `parent` (or already aborted), that can also abort on its own. */
export function childController(parent: AbortSignal): AbortController {
  const c = new AbortController();
  if (parent.aborted) c.abort();
  else parent.addEventListener("abort", () => c.abort(), { once: true });
  return c;
}

/**
 * `work`, or abortError() as soon as `signal` aborts, whichever comes first. Step Functions
 * stops waiting for a task of an aborted execution (a stopped execution, a child of a failed
 * map run, a Parallel branch beside a failed one); the call itself runs on, unobserved.
 */
export function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(abortError());
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError());
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => {
    if (onAbort) signal.removeEventListener("abort", onAbort);
  });
}
