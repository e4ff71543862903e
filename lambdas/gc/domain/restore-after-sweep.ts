// When a restore may retire a mark after a sweep of it. When a sweep ends, Lambdas of it may
// still run: a map child left behind when another child failed the map, or an attempt Step
// Functions retried. Each stops at its next check (the run's lease is gone), but a delete
// request it had already sent can still reach S3, and an object a restore copied back
// meanwhile would be deleted after the restore reported it back. So a restore retires the mark
// only once the sweep function's timeout has passed since the sweep ended: no Lambda of that
// sweep can still be running. Pure: the record and the clock are parameters.

/** The GC sweep function's timeout (infra/constructs/gc.ts sizes the function with it). */
export const SWEEP_FUNCTION_TIMEOUT_SECONDS = 15 * 60;

/** A sweep ended before this time (ISO 8601, as the run's end records it) has settled. */
export function settledBefore(nowSeconds: number, settleSeconds: number): string {
  return new Date((nowSeconds - settleSeconds) * 1000).toISOString();
}

/**
 * Why a restore may not retire `mark` yet at `nowSeconds` (its last sweep ended too recently),
 * or undefined when it may.
 */
export function restoreWait(
  mark: { markId: string; sweepRunId?: string; sweptAt?: string },
  nowSeconds: number,
  settleSeconds: number,
): string | undefined {
  if (settleSeconds <= 0 || !mark.sweptAt) return undefined;
  if (mark.sweptAt < settledBefore(nowSeconds, settleSeconds)) return undefined;
  const until = new Date(Date.parse(mark.sweptAt) + settleSeconds * 1000).toISOString();
  return `mark id "${mark.markId}" was swept by GC run ${mark.sweepRunId ?? "(unknown)"}, which ended at ${mark.sweptAt}: a Lambda of that sweep may still be deleting until ${until} (the sweep function's timeout), and would delete what a restore copies back; restore after that`;
}
