// A branch's export configuration and its versions. The version changes when what lands in the
// export path changes: the export path itself or the regular expressions selecting marker
// directories (not the status path, not isContinuous). An export records the version it
// exported; when the configuration's version differs, the next export is a full export to the
// new configuration (the old export path is left as it is).
import type { ExportState } from "./export-state";

export interface ExportConfig {
  repository: string;
  branch: string;
  exportPath: string;
  exportStatusPath?: string;
  lastKeysInPrefixRegexp: string[];
  isContinuous: boolean;
  updatedAt: string;
  /** See nextConfigVersion; absent on configurations stored before versions existed (1). */
  configVersion?: number;
}

export interface ExportedConfiguration {
  exportPath: string;
  lastKeysInPrefixRegexp: readonly string[];
  /** Absent on configurations stored before versions existed: version 1. */
  configVersion?: number;
}

/** The version of a stored configuration. */
export const configVersionOf = (c: Pick<ExportedConfiguration, "configVersion">): number =>
  c.configVersion ?? 1;

/**
 * The configuration version the branch's last successful export wrote; undefined when nothing
 * was exported yet. States from before versions existed exported version 1.
 */
export function exportedConfigVersionOf(s: ExportState | undefined): number | undefined {
  if (!s?.lastExportedCommit) return undefined;
  return s.exportedConfigVersion ?? 1;
}

/** Same export path and the same set of marker expressions. */
export function sameExportedConfiguration(
  a: ExportedConfiguration,
  b: ExportedConfiguration,
): boolean {
  // As JSON: a joined form would take [""] for [] and ["a\u0000b"] for ["a", "b"].
  const set = (r: readonly string[]) => JSON.stringify([...new Set(r)].sort());
  return (
    a.exportPath === b.exportPath && set(a.lastKeysInPrefixRegexp) === set(b.lastKeysInPrefixRegexp)
  );
}

/**
 * The version of `next` when it replaces `previous` (undefined: no configuration stored). An
 * unchanged configuration keeps its version; any other gets a version no export of the branch
 * has used, so the next export is a full one (also after a configuration was deleted and
 * created again).
 */
export function nextConfigVersion(
  previous: ExportedConfiguration | undefined,
  state: ExportState | undefined,
  next: ExportedConfiguration,
): number {
  if (previous && sameExportedConfiguration(previous, next)) return configVersionOf(previous);
  const used = Math.max(
    previous ? configVersionOf(previous) : 0,
    state ? (state.configVersion ?? 1) : 0,
    exportedConfigVersionOf(state) ?? 0,
  );
  return used + 1;
}
