// Which lakeFS listings and diffs collect the addresses GC needs, so that the work grows
// with what changed rather than with commits x objects.
//
// Notation: A(c) is the set of physical addresses in the tree of commit c; E the expired
// commits, Act the active ones, S the staged addresses. What GC may delete is
//   mark = (U_{e in E} A(e)) \ (U_{a in Act} A(a)) \ S   (inside the storage namespace).
//
// A "diff" item of commit c against base q yields D(c, q): the addresses that c's tree holds
// at the paths the two_dot diff q..c reports as added or changed (the right side, i.e. c's
// entries, never q's). A path whose address differs between q and c is reported as
// changed, so
//   A(c) \ A(q)  is a subset of  D(c, q)  which is a subset of  A(c),
// i.e. A(c) is contained in A(q) U D(c, q), and D(c, q) adds nothing c does not reference
// (the exact set would be A(q) minus removed plus added/changed, but GC only needs the
// union over a set of commits, and that union is covered base by base). A "list" item
// yields the whole A(c). A handler may return more than D(c, q) as long as everything it
// returns is in A(c): never an address of the left side.
//
// Active side (protected set P). Following bases from a commit must end at a commit whose
// full tree is listed ON THE SAME SIDE: an address an active commit inherits from an
// expired ancestor is introduced by that ancestor's diff, which goes to the expired side,
// and would be missing from P if the active chain stopped at a diff. So an active commit
// is diffed only against an active parent (main parent preferred), and every active commit
// without one (the oldest active commit of each run: usually one per branch) gets a full
// listing. Then by induction along the bases, P = U_{a in Act} A(a) exactly.
//
// Expired side (candidates C' instead of C = U_{e in E} A(e)). Here a diff may use ANY
// reachable parent q as base, active or expired. Take x in A(e) \ P: either x is in
// D(e, q) and collected, or x is in A(q); then q is not active (x would be in P), so q is
// expired and x is collected through q, by induction along the bases. Since C' is a
// subset of C, C' \ P = C \ P, although C' omits what expired commits inherit from
// active ones (protected anyway). Reachable sets are closed under parents, so only commits without
// parents (the repository's first commit) are listed on the expired side. This is what
// keeps merged-and-deleted feature branches cheap: their commits are diffed against their
// fork point instead of listed.
//
// Staged entries of every branch are protected: one "staged" item per branch yields the
// addresses of its uncommitted added/changed entries.
import { type CommitSource, MissingCommitError } from "./commit-graph";
import type { RetentionResult } from "./retention";

export type AddressSide = "expired" | "active";

export type AddressWorkItem =
  | { side: AddressSide; kind: "list"; commit: string }
  | { side: AddressSide; kind: "diff"; commit: string; parent: string }
  | { side: "active"; kind: "staged"; branch: string };

/**
 * The work items of the address phase: active side first (lists, then diffs, oldest
 * commits first), then the expired side, then staged branches. Items are independent of
 * each other and can run in any order or in parallel.
 */
export function planAddressCollection(
  commits: CommitSource,
  retention: RetentionResult,
  stagedBranches: Iterable<string> = [],
): AddressWorkItem[] {
  const { active, expired } = retention;
  const items = [
    ...planSide(commits, active, "active", (p) => active.has(p)),
    ...planSide(commits, expired, "expired", (p) => active.has(p) || expired.has(p)),
  ];
  for (const branch of [...new Set(stagedBranches)].sort()) {
    items.push({ side: "active", kind: "staged", branch });
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
