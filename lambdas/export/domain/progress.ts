// How far an export is, while it runs and after: what its plan holds (objects and bytes to
// copy, deletes, shards) and what its copy batches have done. The plan step records the plan
// after each invocation, each copy batch adds the result of each shard it completes; the
// export-status route shows it. Best effort: counts, never a decision, depend on it.
import type { PlanCounts } from "./plan";

/** What the copy batches have done so far (sums of their shard results). */
export interface CopiedCounts {
  shards: number;
  copied: number;
  deleted: number;
  copiedBytes: number;
  failed: number;
}

export interface ExportProgress {
  exportId: string;
  /** The plan so far; final once `planDone`. */
  planned: PlanCounts;
  planDone: boolean;
  done: CopiedCounts;
  /**
   * True once the status step has replaced `done` with the totals of the shard result files
   * (the counts of the status document). Before that a retried copy batch may have added a
   * shard twice.
   */
  final?: boolean;
  /** ISO-8601 time of the last change. */
  updatedAt: string;
}

/** Progress items expire a while after their export: they are only read while it is recent. */
export const EXPORT_PROGRESS_TTL_SECONDS = 30 * 86_400;

export function noCopiedCounts(): CopiedCounts {
  return { shards: 0, copied: 0, deleted: 0, copiedBytes: 0, failed: 0 };
}
