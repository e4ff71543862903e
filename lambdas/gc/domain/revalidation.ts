// Bringing a mark up to date before its sweep deletes anything.
//
// A mark M was computed against the commits active when it was taken (the covered set K):
// M holds no address of any commit in K (address-plan.ts: P = U_{k in K} A(k)). Since then
// the repository may have moved: new branches or tags on expired commits, new commits (which
// may link old physical addresses or revert deletions), branches moved back to old commits.
// Every commit active NOW that is not in K (newly active, N) may reference addresses of M,
// and those must be spared.
//
// The revalidation step lists every commit of N in full: a diff against a covered commit q
// would miss an address of M that c holds at a path where q holds another address with the
// same identity (lakeFS's diff compares size, ETag, metadata and content type, not addresses;
// a revert or merge can bring such an address back; address-plan.ts). N is what changed since
// the mark, usually a few commits.
//
// The sweep's last-moment checks (sweep-guard.ts) run every second while deleting, so they
// diff instead (`bases: "diff"`): for c in N and q covered, A(q) is disjoint from M, so every
// address of M in A(c) at a path the diff q..c reports is found. Bases are chosen by a
// breadth-first search over the commit graph (parents and children) from K, so each commit of
// N is diffed against the nearest covered or already based commit; a commit of N that no
// covered commit connects to is listed in full.
//
// Retention "now" uses the mark's own `now` (an older time keeps more commits: the active
// set at the mark's time on the current refs contains the one at any later time), so a
// sweep never deletes what the mark would have protected had it been taken on today's refs.
import type { AddressWorkItem } from "./address-plan";
import type { CommitGraph } from "./commit-graph";
import { activeCommits, type StartingPoint } from "./retention";

export interface RevalidationPlan {
  /** Active on the current refs, with the mark's `now`. */
  active: Set<string>;
  /** Active now and not covered: their addresses are removed from what the sweep deletes. */
  newlyActive: string[];
  /** Active-side items collecting what `newlyActive` references beyond covered commits. */
  items: AddressWorkItem[];
}

export function planRevalidation(
  graph: CommitGraph,
  covered: ReadonlySet<string>,
  points: readonly StartingPoint[],
  now: number,
  opts: { bases?: "list" | "diff" } = {},
): RevalidationPlan {
  const active = activeCommits(graph, points, now);
  const fresh = new Set<string>();
  for (const c of active) if (!covered.has(c)) fresh.add(c);
  const bases =
    opts.bases === "diff" ? nearestBases(graph, covered, fresh) : new Map<string, string>();
  const newlyActive: string[] = [];
  const items: AddressWorkItem[] = [];
  // Based commits in search order (each base before the commits based on it), then the rest.
  for (const [commit, base] of bases) {
    newlyActive.push(commit);
    items.push({ side: "active", kind: "diff", commit, parent: base });
  }
  for (const commit of [...fresh].sort()) {
    if (bases.has(commit)) continue;
    newlyActive.push(commit);
    items.push({ side: "active", kind: "list", commit });
  }
  return { active, newlyActive, items };
}

/**
 * For each commit of `targets` that the graph connects to a covered commit: the nearest
 * covered commit or target already given a base, by a multi-source breadth-first search
 * over parent and child edges. O(commits + edges).
 */
export function nearestBases(
  graph: CommitGraph,
  covered: ReadonlySet<string>,
  targets: ReadonlySet<string>,
): Map<string, string> {
  const children = new Map<string, string[]>();
  for (const id of graph.ids()) {
    for (const p of graph.parentsOf(id) ?? []) {
      const list = children.get(p);
      if (list) list.push(id);
      else children.set(p, [id]);
    }
  }
  /** The usable base nearest to each visited commit (itself for covered and based ones). */
  const anchor = new Map<string, string>();
  const queue: string[] = [];
  for (const id of [...covered].sort()) {
    if (graph.has(id)) {
      anchor.set(id, id);
      queue.push(id);
    }
  }
  const bases = new Map<string, string>();
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head]!;
    const via = anchor.get(u)!;
    for (const v of [...(graph.parentsOf(u) ?? []), ...(children.get(u) ?? [])]) {
      if (anchor.has(v) || !graph.has(v)) continue;
      if (targets.has(v)) {
        bases.set(v, via);
        anchor.set(v, v);
      } else {
        anchor.set(v, via);
      }
      queue.push(v);
    }
  }
  return bases;
}
