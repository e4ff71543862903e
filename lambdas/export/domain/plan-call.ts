// One writer per plan call. Step Functions retries a call whose answer was lost (a dropped
// connection to Lambda) while the first attempt may still run. Two attempts list at different
// times: the copies of the segment before (and, once the retry has answered, of its own
// segment) change the export path in between, so the two write different task shards under the
// same keys, with different boundaries; a copy child reading one attempt's shard j and another
// the other attempt's shard j+1 would both miss the paths between.
//
// So a call is claimed by a record in the work bucket, as Powertools' idempotency claims an
// event: the first attempt to create it (If-None-Match: *) plans; any other attempt returns the
// owner's output once written, waits while the owner may still run, and takes the call over
// (If-Match on the record it read) only once the owner has ended without an output or its
// Lambda deadline has passed, when it can no longer write.

import type { PlanStepOutput } from "./workflow-state";

/** The claim of plan call `call` of an export (work-layout.ts planCall). */
export interface PlanCallRecord {
  /** The attempt that owns the call. */
  attempt: string;
  /** Epoch ms after which the owner no longer runs (its invocation's deadline). */
  until: number;
  /** The owner ended without an output (its error): the call is free to take over. */
  ended?: true;
  /** The owner's answer, written after everything else the call writes. */
  output?: PlanStepOutput;
}

/** Clocks of two Lambda invocations may differ by this much (NTP keeps them far closer). */
export const OWNER_DEADLINE_SKEW_MS = 60_000;

export type PlanCallDecision =
  /** This attempt's own record (a claim write whose answer was lost, retried). */
  | { action: "own" }
  /** The owner answered: this attempt answers the same. */
  | { action: "adopt"; output: PlanStepOutput }
  /** The owner may still run until `untilMs`: read the record again later. */
  | { action: "wait"; untilMs: number }
  /** The owner ended without answering, or can no longer run: claim the call over it. */
  | { action: "take-over" };

export class InvalidPlanCallRecordError extends Error {
  override readonly name = "InvalidPlanCallRecordError";
}

/** The plan call a state's plan step makes: 0 for the first, then one more per call. */
export function planCallNumber(plan: Pick<PlanStepOutput, "done" | "call"> | undefined): number {
  if (!plan || plan.done) return 0;
  // A state from before calls were numbered resumes as call 1 (its first call had no claim).
  return (plan.call ?? 0) + 1;
}

/** What attempt `attempt` does about call record `record`, found at `nowMs`. */
export function decidePlanCall(
  record: PlanCallRecord,
  attempt: string,
  nowMs: number,
): PlanCallDecision {
  if (record.output) return { action: "adopt", output: record.output };
  if (record.attempt === attempt) return { action: "own" };
  if (record.ended) return { action: "take-over" };
  const untilMs = record.until + OWNER_DEADLINE_SKEW_MS;
  return nowMs >= untilMs ? { action: "take-over" } : { action: "wait", untilMs };
}

/** The record's JSON; a record of another shape is named rather than guessed at. */
export function parsePlanCallRecord(text: string, key: string): PlanCallRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidPlanCallRecordError(`${key}: not JSON`);
  }
  const r = value as Partial<PlanCallRecord> | null;
  if (!r || typeof r.attempt !== "string" || r.attempt === "") {
    throw new InvalidPlanCallRecordError(`${key}: attempt: expected a non-empty string`);
  }
  if (typeof r.until !== "number" || !Number.isFinite(r.until)) {
    throw new InvalidPlanCallRecordError(`${key}: until: expected epoch milliseconds`);
  }
  if (r.output !== undefined && (typeof r.output !== "object" || r.output === null)) {
    throw new InvalidPlanCallRecordError(`${key}: output: expected an object`);
  }
  return r as PlanCallRecord;
}
