// Export state of one (repository, branch): in-progress from the start of an export until its
// execution has ended, then the outcome, which is also what the status line says.

/** What an ended export is: the branch's state and the status line's word alike. */
export const EXPORT_STATUSES = [
  "exported-successfully",
  "export-failed",
  "export-repaired",
] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

export const EXPORT_STATES = ["in-progress", ...EXPORT_STATUSES] as const;
export type ExportStateName = (typeof EXPORT_STATES)[number];

export type StartTrigger = "event" | "run" | "set-once" | "repair";

/**
 * How an export plans its work:
 * - incremental: the diff from the last exported commit, plus every path the failed exports
 *   since then may have touched (read back from their task shards);
 * - full-copy: the first export, or the first after a configuration change: every object is
 *   copied, and whatever else is in the export path is deleted;
 * - full-compare: the export path is listed against the commit; what differs (ETag, size) is
 *   copied, what is extra is deleted (`repair --full`, or when the failed exports' records are
 *   too many or too old to trust).
 */
export const EXPORT_MODES = ["incremental", "full-copy", "full-compare"] as const;
export type ExportMode = (typeof EXPORT_MODES)[number];

/** The mode of an export; one without (from before modes existed) is incremental from its base. */
export function exportModeOf(x: { mode?: ExportMode; fromCommit: string | null }): ExportMode {
  return x.mode ?? (x.fromCommit ? "incremental" : "full-copy");
}

/** A failed or interrupted export whose writes and deletes the next export must undo. */
export interface UnreconciledExport {
  exportId: string;
  /** ISO-8601 start of that export (its task shards expire with the work bucket's rules). */
  startedAt: string;
  /** It may have touched any path of the export (a full export, or a collapsed record). */
  full: boolean;
  /**
   * The configuration version it wrote (absent in records from before it was kept). Its
   * markers followed that version's expressions, in that version's export path: reconciling
   * its paths under other expressions would leave its markers, so another version's record is
   * reconciled by listing.
   */
  configVersion?: number;
}

export interface ExportState {
  state: ExportStateName;
  /** The commit the latest export exports (the branch head when it started). */
  commitId: string;
  /** The last commit exported successfully (the `from` of the next export). */
  lastExportedCommit?: string;
  /** Id (and Step Functions execution name) of the latest export. */
  exportId: string;
  executionArn?: string;
  errorMessage?: string;
  /**
   * export-failed after an aborted or timed-out execution: until then (ISO-8601) its functions
   * may still write to the export path, so a repair waits (settling.ts).
   */
  settlesAt?: string;
  /**
   * In progress: an obsolete export ran again meanwhile (a Step Functions redrive) and wrote to
   * the export path, so this export's success cannot be promised; the reason it fails with.
   */
  interference?: string;
  /** ISO-8601 time of the last change. */
  updatedAt: string;
  /** A newer head a refused start asked for while an export was running. */
  pendingHead?: string;
  /**
   * A person asked for the pending head (export run, a configuration set), not only commit
   * events: it is exported when the running export ends even if the branch is no longer
   * continuous. A head only events queued is exported only while the branch is continuous.
   */
  pendingExplicit?: boolean;
  /** The running (or last) export is a repair: its status line says export-repaired. */
  repaired: boolean;
  /** ISO-8601 start of the running (or last) export. */
  startedAt?: string;
  /** How the running (or last) export plans its work. */
  mode?: ExportMode;
  /** Configuration version the running (or last) export writes. */
  configVersion?: number;
  /** Configuration version of the last successful export (with lastExportedCommit). */
  exportedConfigVersion?: number;
  /**
   * The export path the running (or last) export writes, and the one of the last successful
   * export: the branch's exports live there, so a new export path may not overlap them (a full
   * export deletes whatever else is under its path). Absent in states from before they were kept.
   */
  exportPath?: string;
  exportedPath?: string;
  /** Failed exports since the last success: the next export brings their paths back. */
  unreconciled?: UnreconciledExport[];
  /** Counts every export started for this branch; makes export ids unique. */
  attempt: number;
  /** Optimistic-concurrency version, bumped on every write. */
  version: number;
}
