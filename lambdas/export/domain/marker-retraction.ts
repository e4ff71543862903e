// Success markers are retracted before an export changes anything under them. A marker says
// its directory holds the exported commit; once a copy or delete below it may run, that is no
// longer known, and a downstream job triggered by the old marker would read a mix of two
// commits (or, after a failure, a directory that is neither). So the plan deletes the marker of
// every selected directory above each copy and delete it writes into a shard: after the shard
// is written and counted in the plan's result (a repair then knows the paths and writes the
// markers again) and before the plan call returns (the copies of a shard start only after).
// The markers step writes them back where nothing below failed. Keep tasks change nothing and
// retract nothing, and neither does the delete a full export plans of a selected directory's
// own marker (it finds every marker in the export path as a key the commit lacks): the markers
// step writes or removes that one, and retracting it would take the markers of unchanged
// directories away for a whole `repair --full`. A copy to a marker's key (a committed object
// there, refused as a collision) is a change like any other, and so is a keep there
// (full-compare finds an empty committed object equal to the marker).
import { isExportedPath } from "./exported-paths";
import { type DirectorySelector, markerDirectoryOf } from "./markers";
import type { PlanCursor } from "./plan";

/** Where the plan retracts markers (the export path, in the Lambda). */
export interface MarkerRetractor {
  readonly selector: DirectorySelector;
  /**
   * Deletes the markers of `dirs` (at most MAX_RETRACTIONS_PER_CALL); resolves once gone.
   * `written`: the plan so far, counting every shard that names them. A failed export's paths
   * are read back from the shards its plan result counts, so they must be counted there before
   * the markers go: a call failing after (a later marker refused, its end) would otherwise
   * leave them for no export to write again.
   */
  retract(dirs: string[], written: PlanCursor): Promise<void>;
}

/** One DeleteObjects request's worth. */
export const MAX_RETRACTIONS_PER_CALL = 1000;

/**
 * The selected directories each changed path enters, for paths given in key order: a directory
 * is named once while its paths follow one another (the paths under a directory are
 * contiguous in key order, so it is never entered again). Memory: one path's directories.
 */
export class MarkerRetractionTracker {
  private lastParent: string | undefined;
  private current = new Set<string>();

  constructor(private readonly selector: DirectorySelector) {}

  /**
   * The selected directories of `path` (copied, deleted or kept, as `op` says) not already
   * named for the path before it; none for the delete of a selected directory's marker, nor
   * for a keep other than one at a marker's key.
   */
  enter(path: string, op: "copy" | "delete" | "keep"): string[] {
    if (!isExportedPath(path)) return [];
    const atMarker = markerDirectoryOf(path, this.selector) !== undefined;
    if (op === "delete" && atMarker) return [];
    // A kept object at a marker's key (the commit's, as empty as the marker) is refused as a
    // collision all the same: its directories fail, and an earlier marker must not stay.
    if (op === "keep" && !atMarker) return [];
    const parent = path.slice(0, path.lastIndexOf("/") + 1);
    // Most paths share their directory with the one before: nothing new to compute.
    if (parent === this.lastParent) return [];
    this.lastParent = parent;
    const dirs = this.selector.selectedDirectoriesOf(path);
    const entered = dirs.filter((d) => !this.current.has(d));
    this.current = new Set(dirs);
    return entered;
  }
}
