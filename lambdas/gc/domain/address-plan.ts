// Which lakeFS listings and diffs collect the addresses GC needs: the kept commits exactly
// (each listed), the expired ones through diffs (the work grows with what changed there).
//
// Notation: A(c) is the set of physical addresses in the tree of commit c; E the expired
// commits, Act the active ones, S the staged addresses. What GC may delete is
//   mark = (U_{e in E} A(e)) \ (U_{a in Act} A(a)) \ S   (inside the storage namespace).
//
// A "diff" item of commit c against base q yields D(c, q): the addresses that c's tree holds
// at the paths the two_dot diff q..c reports as added or changed (the right side, i.e. c's
// entries, never q's). A "list" item yields the whole A(c). A handler may return more than
// D(c, q) as long as everything it returns is in A(c): never an address of the left side.
//
// lakeFS's diff compares entries by identity (size, ETag, user metadata, content type), not by
// physical address: a path whose address changed while its identity did not is NOT reported.
// lakeFS's merge writes the source's entry when both sides hold the same identity, and a
// revert or cherry-pick is a merge, so a commit can reference, at such a path, an address its
// parent does not hold and no diff shows. Hence D(c, q) may miss addresses of A(c) \ A(q).
//
// Active side (protected set P): every active commit is listed in full, so P = U A(a)
// exactly. Diffs could miss what a merge, revert or cherry-pick brought in from an expired
// commit, and that address would then be marked while a kept commit references it.
//
// Expired side (candidates C' instead of C = U_{e in E} A(e)): each expired commit is diffed
// against ANY reachable parent q, active or expired, so merged-and-deleted feature branches
// stay cheap (diffed against their fork point, not listed). Every address collected is in
// some A(e), so C' is a subset of C: what a diff does not report is only left unmarked
// (the mark can only shrink, never grow). Reachable sets are closed under parents, so only
// commits without parents (the repository's first commit) are listed on this side.
//
// Staged entries of every branch are protected: one "staged" item per branch lists the branch
// in full (committed and uncommitted entries), because lakeFS's uncommitted diff has the same
// identity rule: an old address linked over an entry of the same identity is not reported.
import { type CommitSource, MissingCommitError } from "./commit-graph";
import type { RetentionResult } from "./retention";

export type AddressSide = "expired" | "active";

export type AddressWorkItem =
  | { side: AddressSide; kind: "list"; commit: string }
  | { side: AddressSide; kind: "diff"; commit: string; parent: string }
  /** `whole`: the branch listed in full (committed and staged entries), else its diff. */
  | { side: "active"; kind: "staged"; branch: string; whole?: true };

/**
 * The work items of the address phase: active side first (every active commit listed, oldest
 * first), then the expired side (lists, then diffs), then staged branches. Items are independent of
 * each other and can run in any order or in parallel.
 */
export function planAddressCollection(
  commits: CommitSource,
  retention: RetentionResult,
  stagedBranches: Iterable<string> = [],
): AddressWorkItem[] {
  const { active, expired } = retention;
  const items = [
    ...planSide(commits, active, "active", () => false),
    ...planSide(commits, expired, "expired", (p) => active.has(p) || expired.has(p)),
  ];
  for (const branch of [...new Set(stagedBranches)].sort()) {
    items.push({ side: "active", kind: "staged", branch, whole: true });
  }
  return items;
}

/**
 * Items for one side: each commit is diffed against its main parent when `canBase` accepts
 * it, else against the first other parent it accepts, else listed in full.
 */
export function planSide(
  commits: CommitSource,
  side: ReadonlySet<string>,
  sideName: AddressSide,
  canBase: (parent: string) => boolean,
): AddressWorkItem[] {
  const lists: { item: AddressWorkItem; date: number }[] = [];
  const diffs: { item: AddressWorkItem; date: number }[] = [];
  for (const commit of side) {
    const parents = commits.parentsOf(commit);
    const date = commits.creationDateOf(commit);
    if (parents === undefined || date === undefined) throw new MissingCommitError(commit);
    const parent = parents.find(canBase);
    if (parent === undefined) lists.push({ item: { side: sideName, kind: "list", commit }, date });
    else diffs.push({ item: { side: sideName, kind: "diff", commit, parent }, date });
  }
  const byAge = (a: { item: AddressWorkItem; date: number }, b: typeof a) =>
    a.date - b.date || compareStrings(idOf(a.item), idOf(b.item));
  return [...lists.sort(byAge), ...diffs.sort(byAge)].map((x) => x.item);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function idOf(item: AddressWorkItem): string {
  return item.kind === "staged" ? item.branch : item.commit;
}

/** How many listings and diffs a plan costs (for logs and the run summary). */
export function planCounts(items: readonly AddressWorkItem[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const key = `${item.side}_${item.kind}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
