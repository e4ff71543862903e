// The claim of a plan call (domain/plan-call.ts) on the work bucket: the record is created
// with If-None-Match: *, taken over with If-Match, and holds the owner's answer at the end.

import { logger } from "../../shared/logger";
import { type WriteCondition, WriteConditionFailedError } from "../../shared/write-condition";
import { decidePlanCall, type PlanCallRecord, parsePlanCallRecord } from "../domain/plan-call";
import type { PlanStepOutput } from "../domain/workflow-state";
import type { ExportObjectStore } from "../ports";

/** An earlier attempt of the call may still run past this attempt's own deadline. */
export class PlanCallInProgressError extends Error {
  override readonly name = "PlanCallInProgress";
}

export interface PlanCallClaimDeps {
  store: Pick<ExportObjectStore, "putIf" | "getVersioned">;
  workBucket: string;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface PlanCallAttempt {
  /** The record's key (work-layout.ts planCall). */
  key: string;
  /** This attempt's id (unique per invocation). */
  attempt: string;
  /** Epoch ms this attempt's invocation ends by (its Lambda deadline). */
  deadlineMs: number;
}

/** How often a waiting attempt reads the record again. */
const POLL_MS = 1000;
/** Time a waiting attempt keeps to give its answer before its own deadline. */
const ANSWER_MARGIN_MS = 5000;

const sleepFor = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `plan` only if this attempt owns the call; else answers as the owner did. */
export async function runClaimedPlanCall(
  deps: PlanCallClaimDeps,
  call: PlanCallAttempt,
  plan: () => Promise<PlanStepOutput>,
): Promise<PlanStepOutput> {
  const mine: PlanCallRecord = { attempt: call.attempt, until: call.deadlineMs };
  const claimed = await claim(deps, call, JSON.stringify(mine));
  if ("answer" in claimed) return claimed.answer;
  // Both writes only over the claim as written: a PUT whose answer was lost is sent again by
  // the SDK (after a request timeout: minutes), and unconditional, a release sent again after
  // another attempt took the call over handed it to a third, which planned beside the second.
  const own = { etag: claimed.etag };
  let output: PlanStepOutput;
  try {
    output = await plan();
  } catch (err) {
    // Free the call at once for a retry rather than after this invocation's deadline.
    await deps.store
      .putIf(deps.workBucket, call.key, JSON.stringify({ ...mine, ended: true }), own)
      .catch((e) => logger.warn("plan call not released", { error: (e as Error).message }));
    throw err;
  }
  // Last: an attempt that reads the answer finds every shard and index of the call written.
  try {
    await deps.store.putIf(deps.workBucket, call.key, JSON.stringify({ ...mine, output }), own);
  } catch (err) {
    if (!(err instanceof WriteConditionFailedError)) throw err;
    // Its own answer, written by a first attempt whose answer was lost, is no failure.
    const stored = await deps.store.getVersioned(deps.workBucket, call.key);
    const record = stored && parsePlanCallRecord(stored.text, call.key);
    if (record?.attempt !== call.attempt || !record.output) throw err;
  }
  return output;
}

/** Claims the call (the ETag of the claim) or returns the answer of the attempt that owns it. */
async function claim(
  deps: PlanCallClaimDeps,
  call: PlanCallAttempt,
  body: string,
): Promise<{ etag: string } | { answer: PlanStepOutput }> {
  const now = deps.now ?? Date.now;
  // undefined: read the record again without writing (the owner may still run).
  let condition: WriteCondition | undefined = "absent";
  for (;;) {
    if (condition !== undefined) {
      try {
        return { etag: await deps.store.putIf(deps.workBucket, call.key, body, condition) };
      } catch (err) {
        if (!(err instanceof WriteConditionFailedError)) throw err;
      }
    }
    const stored = await deps.store.getVersioned(deps.workBucket, call.key);
    if (!stored) {
      condition = "absent";
      continue;
    }
    const record = parsePlanCallRecord(stored.text, call.key);
    const decision = decidePlanCall(record, call.attempt, now());
    switch (decision.action) {
      case "own":
        return { etag: stored.etag };
      case "adopt":
        logger.info("plan call answered by an earlier attempt", { key: call.key });
        return { answer: decision.output };
      case "take-over":
        logger.warn("plan call taken over from an attempt that ended", {
          key: call.key,
          owner: record.attempt,
        });
        condition = { etag: stored.etag };
        continue;
      case "wait":
        if (now() + POLL_MS > call.deadlineMs - ANSWER_MARGIN_MS) {
          throw new PlanCallInProgressError(
            `${call.key}: an earlier attempt of this plan call may run until ${new Date(decision.untilMs).toISOString()}`,
          );
        }
        await (deps.sleep ?? sleepFor)(POLL_MS);
        condition = undefined;
    }
  }
}
