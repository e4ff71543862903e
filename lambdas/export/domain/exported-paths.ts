// Which lakeFS paths an export writes. `_lakefs_actions/` at the root of a branch is lakeFS
// configuration (action files, which may carry webhook settings), not data: it is never
// exported, never listed in a manifest and never gets a success marker. A directory of that
// name deeper in the tree is ordinary data (lakeFS reads actions from the root only).
import { keyBefore } from "./keys";

export const LAKEFS_ACTIONS_PREFIX = "_lakefs_actions/";

/** Whether `path` (a lakeFS path, or a directory ending in '/') is exported. */
export function isExportedPath(path: string): boolean {
  return !path.startsWith(LAKEFS_ACTIONS_PREFIX);
}

/**
 * An `after` for listings that skips every path under `_lakefs_actions/` (lakeFS's `after` is
 * exclusive; see keyBefore).
 */
export const AFTER_LAKEFS_ACTIONS = keyBefore("_lakefs_actions0");
