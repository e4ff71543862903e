// The export state machine's state: the workflow input (ExportWorkflowInput) at the top, and
// each step's small output under its own key (`$.plan`, `$.markers`, `$.status`, `$.error`).
// Listings never travel through the state: they are JSON Lines in the work bucket.

import type { ExportMode, ExportStatus } from "./export-state";
import type { PlanCounts, PlanCursor } from "./plan";
import type { OperationError } from "./status";
import {
  type ExportWorkflowInput,
  ExportWorkflowInputSchema,
  withCommitId,
} from "./workflow-input";

export interface PlanStepOutput {
  done: boolean;
  cursor: PlanCursor;
  counts: PlanCounts;
  /**
   * JSON Lines `{"shard": i}` per task shard of this call's segment (plan-segments.ts), for
   * the distributed map's ItemReader; absent when a call that is not the last wrote no shard.
   */
  indexKey?: string;
  /** Task shards this call wrote (its segment): `counts.shards` less the earlier calls'. */
  segmentShards?: number;
  /** Task shards per copy map child (copy-batches.ts), for its ItemBatcher; with indexKey. */
  shardsPerBatch?: number;
  /**
   * The mode the plan used when it is not the input's: an incremental export without a
   * previous manifest to merge is planned as full-compare (plan-step.ts plannedModeOf).
   */
  mode?: ExportMode;
  /** A full export's manifest groups (manifest-groups.ts), and their JSON Lines. */
  manifestGroups?: number;
  manifestGroupsKey?: string;
  /** Which plan call this is: 0, 1, ... (plan-call.ts; absent in states from before). */
  call?: number;
}

export interface MarkersStepOutput {
  /** Markers written. */
  markers: number;
  /** Markers deleted: their directories no longer hold objects. */
  removed?: number;
  withheld: number;
  /** Marker writes that failed. */
  failed: number;
  errorSamples: OperationError[];
  /** A late attempt: the export had ended when it started, so it wrote nothing. */
  late?: true;
}

export interface StatusStepOutput {
  status: ExportStatus;
  signalledErrors: number;
  errorMessage?: string;
  /**
   * A planned shard has no result: its copy batch failed, maybe on Step Functions' side only
   * (a Lambda service error), so its invocation may still be copying (settling.ts); or a
   * writer of the export path (a retried attempt of a batch that reported) still runs.
   */
  copiesMayRun?: true;
  /**
   * A successful export whose writers (an earlier attempt of a copy batch that reported, a
   * retried markers step) may still run until then: the execution waits for them before it
   * ends, so that no later export of the branch starts under their writes (writers.ts).
   */
  writersRunUntil?: string;
}

/** What a Catch puts under `$.error`. */
export interface CaughtError {
  Error?: string;
  Cause?: string;
}

export interface ExportWorkflowState extends ExportWorkflowInput {
  meta?: { startedAt?: string };
  plan?: PlanStepOutput;
  markers?: MarkersStepOutput;
  status?: StatusStepOutput;
  error?: CaughtError;
}

const INPUT_KEYS = Object.keys(ExportWorkflowInputSchema.shape) as (keyof ExportWorkflowInput)[];

/** The workflow input part of a state, validated (a field is named when it is wrong). */
export function workflowInputOf(state: unknown): ExportWorkflowInput {
  const s = (withCommitId(state) ?? {}) as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const k of INPUT_KEYS) if (s[k] !== undefined) picked[k] = s[k];
  const parsed = ExportWorkflowInputSchema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidWorkflowStateError(
      `export workflow state: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
    );
  }
  return parsed.data;
}

export class InvalidWorkflowStateError extends Error {
  override readonly name = "InvalidWorkflowStateError";
}

/** A short reason from a caught Step Functions error (Lambda causes are JSON). */
export function reasonOfCaughtError(error: CaughtError | undefined): string {
  if (!error) return "export failed";
  let message = error.Cause ?? "";
  try {
    const c = JSON.parse(message) as { errorMessage?: string; errorType?: string };
    if (c && typeof c === "object" && c.errorMessage) message = c.errorMessage;
  } catch {
    // not JSON: the cause as it is
  }
  const text = [error.Error, message].filter(Boolean).join(": ");
  return (text || "export failed").slice(0, 1000);
}
