// An export execution that is aborted or times out stops its state machine, not the Lambda
// invocations it started: plan, copy, markers and status functions may still write to the work
// and export paths until their own timeout. A repair started before then could be overwritten
// by them (a copy of the older commit landing after the repair's), so the branch waits.
// A failed execution ran to its Fail state, but a copy batch that never reported its shards
// may have failed on Step Functions' side only (a Lambda service error or a dropped connection,
// retried and failed for good): its invocation may still be copying, so the branch waits too.
// Its own error answer would not say otherwise: an earlier attempt, retried after a service
// error, may still run. Only a failure whose every batch reported (ExportFailed) is settled.

/** The timeout of every export function that writes to the export path (infra uses it). */
export const EXPORT_WORKER_TIMEOUT_MINUTES = 15;

/** Added to the timeout: the invocation's own start latency and clock skew. */
const SETTLE_MARGIN_MS = 60_000;

/** The export's Fail state error when every copy batch reported its shards. */
export const EXPORT_FAILED_ERROR = "ExportFailed";

/** The export's Fail state error when a copy batch did not report: it may still run. */
export const EXPORT_FAILED_COPIES_MAY_RUN_ERROR = "ExportFailedCopiesMayRun";

/** Execution statuses that end the state machine while its Lambdas may still run. */
const UNSETTLED_END_STATUSES = new Set(["ABORTED", "TIMED_OUT", "FAILED"]);

/**
 * When nothing an execution started can still be writing, for an execution that ended with
 * `status` (and `error`) at `stoppedAt`; undefined when its end already implies that: a
 * success, or a failure in the ExportFailed state. Any other failure (the Finish step itself
 * failed, say) does not say whether its copy batches reported, so it waits as well.
 */
export function settlesAt(
  status: string,
  stoppedAt: Date,
  error?: string | null,
): string | undefined {
  if (!UNSETTLED_END_STATUSES.has(status)) return undefined;
  if (status === "FAILED" && error === EXPORT_FAILED_ERROR) return undefined;
  return new Date(
    stoppedAt.getTime() + EXPORT_WORKER_TIMEOUT_MINUTES * 60_000 + SETTLE_MARGIN_MS,
  ).toISOString();
}
