// lakeFS's revert and cherry-pick are merges recorded as commits with one parent: a revert of C
// merges C's parent into the branch with C as the base, a cherry-pick of C merges C with C's
// parent as the base. Where the branch and the merged side hold the same identity (size, ETag,
// metadata, content type) the merge writes the merged side's entry, so the new commit can hold
// an older commit's physical address at a path its diff from its parent does not show. The
// sweep's checks read diffs, so they must know which commits such a commit took entries from.
import type { Commit } from "../../shared/lakefs/types";

/** lakeFS's metadata key on a cherry-pick's commit: the picked commit's id (set after overrides). */
export const CHERRY_PICK_ORIGIN = "cherry-pick-origin";
/** lakeFS's metadata key on every merge commit (set after the caller's metadata). */
export const MERGE_STRATEGY = ".lakefs.merge.strategy";

/** Where a one-parent commit may have taken entries from besides its parent. */
export type MergeSource =
  /** A cherry-pick: entries of `commit`. */
  | { kind: "cherry-pick"; commit: string }
  /** A revert (lakeFS's message "Revert <ref>"): entries of `ref`'s parents. */
  | { kind: "revert"; ref: string }
  /**
   * A squash merge (`squash_merge`: lakeFS keeps only the destination's head as parent):
   * entries of `ref`, named by lakeFS's message "Merge '<ref>' into '<branch>'" (undefined
   * when the merge has a message of its own).
   */
  | { kind: "squash-merge"; ref: string | undefined };

/**
 * The merge a commit records, if lakeFS made it by a cherry-pick, a revert or a squash merge.
 * A cherry-pick always carries its origin (first: it copies the picked commit's metadata,
 * merge strategy included); a squash merge its strategy, with one parent; a revert only says
 * so in its default message (`Revert <ref>`): one made with a message of its own looks like
 * any commit.
 */
export function mergeSourceOf(
  commit: Pick<Commit, "message" | "metadata"> & { parents?: readonly string[] },
): MergeSource | undefined {
  const origin = commit.metadata?.[CHERRY_PICK_ORIGIN];
  if (origin) return { kind: "cherry-pick", commit: origin };
  if (commit.metadata?.[MERGE_STRATEGY] !== undefined && commit.parents?.length === 1) {
    return { kind: "squash-merge", ref: /^Merge '(.+)' into '.+'$/.exec(commit.message)?.[1] };
  }
  const revert = /^Revert (\S+)$/.exec(commit.message);
  return revert ? { kind: "revert", ref: revert[1] as string } : undefined;
}

/**
 * The commit `ref` names among `commits`: one of them, or a prefix of at least 6 hex characters
 * only one of them starts with. A branch, a tag or a relative ref (`main~1`) names no commit
 * here: they may have moved since the revert. lakeFS resolves a ref as a full commit id, then
 * a branch, then a tag, and only then as a prefix, so a prefix that is also one of `refNames`
 * (a branch `cafe01`) names that ref's commit at the time, not the commit it starts.
 */
export function commitNamed(
  ref: string,
  commits: { has(id: string): boolean; ids(): Iterable<string> },
  refNames: ReadonlySet<string>,
): string | undefined {
  if (commits.has(ref)) return ref;
  if (refNames.has(ref) || !/^[0-9a-f]{6,63}$/.test(ref)) return undefined;
  let found: string | undefined;
  for (const id of commits.ids()) {
    if (!id.startsWith(ref)) continue;
    if (found !== undefined) return undefined;
    found = id;
  }
  return found;
}
