// An export execution that is aborted or times out stops its state machine, not the Lambda
// invocations it started: plan, copy, markers and status functions may still write to the work
// and export paths until their own timeout. A repair started before then could be overwritten
// by them (a copy of the older commit landing after the repair's), so the branch waits.

/** The timeout of every export function that writes to the export path (infra uses it). */
export const EXPORT_WORKER_TIMEOUT_MINUTES = 15;

/** Added to the timeout: the invocation's own start latency and clock skew. */
const SETTLE_MARGIN_MS = 60_000;

/** Execution statuses that end the state machine while its Lambdas may still run. */
const UNSETTLED_END_STATUSES = new Set(["ABORTED", "TIMED_OUT"]);

/**
 * When nothing an execution started can still be writing, for an execution that ended with
 * `status` at `stoppedAt`; undefined when its end already implies that (it ran to a state).
 */
export function settlesAt(status: string, stoppedAt: Date): string | undefined {
  if (!UNSETTLED_END_STATUSES.has(status)) return undefined;
  return new Date(
    stoppedAt.getTime() + EXPORT_WORKER_TIMEOUT_MINUTES * 60_000 + SETTLE_MARGIN_MS,
  ).toISOString();
}
