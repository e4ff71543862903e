// Export state of one (repository, branch), as semantics.md defines it.

export const EXPORT_STATES = [
  "in-progress",
  "exported-successfully",
  "export-failed",
  "export-repaired",
] as const;
export type ExportStateName = (typeof EXPORT_STATES)[number];

export type StartTrigger = "event" | "run" | "set-once" | "repair";

export interface ExportState {
  state: ExportStateName;
  /** The last commit an export started for. */
  currentRef: string;
  /** The last commit exported successfully (the `from` of the next export). */
  lastExportedCommit?: string;
  /** Id (and Step Functions execution name) of the latest export. */
  exportId: string;
  executionArn?: string;
  errorMessage?: string;
  /** ISO-8601 time of the last change. */
  updatedAt: string;
  /** A newer head a refused start asked for while an export was running. */
  pendingHead?: string;
  /** The running (or last) export is a repair: its status line says export-repaired. */
  repaired: boolean;
  /** Counts every export started for this branch; makes export ids unique. */
  attempt: number;
  /** Optimistic-concurrency version, bumped on every write. */
  version: number;
}
