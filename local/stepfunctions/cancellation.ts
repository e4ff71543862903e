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

/**
 * A controller aborted with its parent signal (or already aborted), that can also abort on its
 * own. release() unhooks it from the parent once what it controls has ended: otherwise every
 * map child and every Parallel or inline Map run would leave a listener on its parent signal
 * until the parent's execution ends (thousands for a large map).
 */
export class ChildController extends AbortController {
  readonly #parent: AbortSignal;
  readonly #follow = () => this.abort();

  constructor(parent: AbortSignal) {
    super();
    this.#parent = parent;
    if (parent.aborted) this.abort();
    else parent.addEventListener("abort", this.#follow, { once: true });
  }

  release(): void {
    this.#parent.removeEventListener("abort", this.#follow);
  }
}

export function childController(parent: AbortSignal): ChildController {
  return new ChildController(parent);
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
