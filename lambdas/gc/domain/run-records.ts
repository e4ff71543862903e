// What is recorded of GC runs, marks and the one-run-per-repository lease (stored in the
// state table by lambdas/gc/adapters/gc-store.ts, shown by the API).
import type { GcRules } from "./rules";
import type { GcMode } from "./workflow-input";

/** "skipped": a scheduled start that found another run holding the repository's lease. */
export type GcRunStatus = "running" | "succeeded" | "failed" | "skipped";
export type GcSweepStatus = "running" | "succeeded" | "failed";

export interface GcRunCounts {
  commitsConsidered?: number;
  expiredCommits?: number;
  markedAddresses?: number;
  deletedObjects?: number;
  failedDeletes?: number;
  /** Marked objects the sweep found referenced again and did not delete. */
  sparedObjects?: number;
  /** Marked objects an earlier, stopped sweep of the mark answered, not offered again. */
  skippedAnsweredEarlier?: number;
}

export interface GcRun {
  repository: string;
  runId: string;
  mode: GcMode;
  markId: string;
  status: GcRunStatus;
  counts: GcRunCounts;
  startedAt: string;
  endedAt?: string;
  executionArn?: string;
  errorMessage?: string;
  /** The repository's storage namespace when the run started (GC backup/restore read it). */
  storageNamespace?: string;
}

export interface GcMark {
  repository: string;
  markId: string;
  /** The run that marked. */
  runId: string;
  /** Of the marking: running until its mark phase ends, then succeeded (or failed). */
  status: GcRunStatus;
  /** Epoch seconds: the retention "now" the mark was computed with. */
  markNow?: number;
  /** The GC rules the mark was computed with. */
  rules?: GcRules;
  storageNamespace?: string;
  /** Hash partitions of the mark (its parts are numbered 0..partitions-1). */
  partitions?: number;
  markedAt?: string;
  /** The last run that swept (or is sweeping) this mark. */
  sweepRunId?: string;
  sweepStatus?: GcSweepStatus;
  sweptAt?: string;
  /** Set by a restore: the mark's objects may be in use again, it is never swept. */
  retiredAt?: string;
  retiredReason?: string;
}

export interface GcLease {
  repository: string;
  runId: string;
  acquiredAt: string;
  /** Epoch seconds. Another run may take the lease after this. */
  leaseExpiresAt: number;
}
