// What the address step takes from each lakeFS page of a work item (address-plan.ts says
// why these are enough). Getting these wrong silently deletes live data, so they are here,
// pure and tested, rather than inline in a handler.
import type { Diff, ObjectStats } from "../../shared/lakefs/types";

/** A "list" item: the physical address of every object of the commit's tree. */
export function addressesOfListing(objects: readonly ObjectStats[]): string[] {
  const out: string[] = [];
  for (const o of objects) if (o.path_type === "object") out.push(o.physical_address);
  return out;
}

/**
 * A "diff" or "staged" item: the paths whose entry in the right side (the commit, or the
 * branch's staging area) is new or different. lakeFS's diff does not carry the physical
 * address, so the handler stats each of these paths on the right ref. Removed paths
 * introduce nothing (their old address is the base's); conflicts do not occur in two_dot
 * diffs; common prefixes only appear with a delimiter, which these items never use.
 */
export function pathsIntroduced(diffs: readonly Diff[]): string[] {
  const out: string[] = [];
  for (const d of diffs) {
    if (d.path_type !== "object") continue;
    if (d.type === "added" || d.type === "changed") out.push(d.path);
    else if (d.type !== "removed") {
      throw new UnexpectedDiffError(`diff entry "${d.path}" has type "${d.type}"`);
    }
  }
  return out;
}

/** A diff entry GC does not know how to account for: stop rather than guess. */
export class UnexpectedDiffError extends Error {
  override readonly name = "UnexpectedDiffError";
}
