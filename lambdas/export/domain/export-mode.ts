// Which kind of export a start launches (see ExportMode), and what a failed export leaves for
// the next one to reconcile. Pure: the caller passes the time.
import { exportedConfigVersionOf } from "./export-config";
import type { ExportMode, ExportState, UnreconciledExport } from "./export-state";

/** More failed exports than this since the last success: reconcile by listing instead. */
export const MAX_UNRECONCILED_EXPORTS = 20;

/**
 * How long the task shards of an export are relied on to tell what it touched. The work
 * bucket expires `exports/` after 7 days (infra/constructs/storage.ts); older records are not
 * trusted and the export path is listed instead.
 */
export const TOUCHED_RECORD_TRUST_MS = 5 * 24 * 3_600_000;

export interface ExportPlanChoice {
  mode: ExportMode;
  /** Incremental only: exports whose touched paths are brought back to the head. */
  reconcileExports: string[];
}

export function decideExportMode(
  current: ExportState | undefined,
  opts: { configVersion: number; fullRequested: boolean; now: Date },
): ExportPlanChoice {
  if (opts.fullRequested) return { mode: "full-compare", reconcileExports: [] };
  const exportedVersion = exportedConfigVersionOf(current);
  // Nothing exported yet, or to another configuration: everything, to the new configuration.
  if (exportedVersion === undefined || exportedVersion !== opts.configVersion) {
    return { mode: "full-copy", reconcileExports: [] };
  }
  const unreconciled = current?.unreconciled ?? [];
  const untrusted = unreconciled.some(
    (u) =>
      u.full ||
      (u.configVersion !== undefined && u.configVersion !== opts.configVersion) ||
      opts.now.getTime() - Date.parse(u.startedAt) > TOUCHED_RECORD_TRUST_MS,
  );
  if (untrusted || unreconciled.length > MAX_UNRECONCILED_EXPORTS) {
    return { mode: "full-compare", reconcileExports: [] };
  }
  return { mode: "incremental", reconcileExports: unreconciled.map((u) => u.exportId) };
}

/** The unreconciled exports after `current` (an export that just failed) is recorded. */
export function withFailedExport(current: ExportState): UnreconciledExport[] {
  const failed: UnreconciledExport = {
    exportId: current.exportId,
    startedAt: current.startedAt ?? current.updatedAt,
    full: current.mode !== undefined && current.mode !== "incremental",
    ...(current.configVersion !== undefined ? { configVersion: current.configVersion } : {}),
  };
  const all = [...(current.unreconciled ?? []), failed];
  if (all.length <= MAX_UNRECONCILED_EXPORTS) return all;
  // Bounded: past the limit one record says "anything may have been touched".
  return [{ ...failed, full: true }];
}

/** The unreconciled exports once `run` (an obsolete export that ran again) is added. */
export function withObsoleteRun(
  current: ExportState,
  run: UnreconciledExport,
): UnreconciledExport[] {
  const all = [...(current.unreconciled ?? []).filter((u) => u.exportId !== run.exportId), run];
  return all.length <= MAX_UNRECONCILED_EXPORTS ? all : [{ ...run, full: true }];
}
