// Which commits are active (kept) and which are expired, as lakeFS computes it: from each
// branch head (and tag, and ancestry leaf) the walk follows the first-parent ancestry; the parent of a commit
// created inside the branch's retention window is kept, and a walk stops at a commit another
// walk reached with a window at least as long. Every commit reachable from a starting point and
// not kept is expired. Pure: `now` is a parameter, commits come from a CommitSource.
import type { Ref } from "../../shared/lakefs/types";
import { type CommitSource, MissingCommitError } from "./commit-graph";
import type { GcRules } from "./rules";
import { retentionLookup } from "./rules";

export const SECONDS_PER_DAY = 86_400;

/**
 * Added to every retention window. lakeFS's threshold is `time.Now().AddDate(0, 0, -days)` on
 * its server: calendar days in the server's time zone, which across a daylight-saving change
 * are up to an hour longer than `days` x 86 400 s (two in Antarctica/Troll), and its clock, not
 * the Lambda's. A window three hours longer is never shorter than lakeFS's for those and for
 * up to an hour of clock skew: an object is deleted a few hours later than lakeFS would at
 * most, never earlier.
 */
export const RETENTION_SLACK_SECONDS = 3 * 3_600;

/** The creation time (epoch seconds) from which a commit is inside a window of `days` at `now`. */
export const retentionThreshold = (now: number, days: number): number =>
  now - days * SECONDS_PER_DAY - RETENTION_SLACK_SECONDS;

/**
 * A branch head, a tag or an ancestry leaf, with the retention its walk uses. A leaf (a
 * reachable commit that is no commit's main parent and no branch head: the tip of a merged
 * and deleted branch) is walked as if it had a child created at its own date, as lakeFS does.
 */
export interface StartingPoint {
  kind: "branch" | "tag" | "leaf";
  name: string;
  commitId: string;
  retentionDays: number;
}

export interface RetentionResult {
  active: Set<string>;
  /** Reachable from a starting point through any parent, and not active. */
  expired: Set<string>;
}

/**
 * Branch heads with their own retention (else the default); tags with the default; with the
 * commit graph, also the ancestry leaves it reaches, with the default retention (lakeFS starts
 * walks at every commit that is no commit's first parent, GCCommitIterator).
 */
export function startingPoints(
  rules: GcRules,
  branches: Iterable<Ref>,
  tags: Iterable<Ref> = [],
  commits?: CommitSource,
): StartingPoint[] {
  const retentionOf = retentionLookup(rules);
  const points: StartingPoint[] = [];
  for (const b of branches) {
    points.push({
      kind: "branch",
      name: b.id,
      commitId: b.commit_id,
      retentionDays: retentionOf(b.id),
    });
  }
  for (const t of tags) {
    points.push({
      kind: "tag",
      name: t.id,
      commitId: t.commit_id,
      retentionDays: rules.default_retention_days,
    });
  }
  if (commits) points.push(...ancestryLeaves(commits, points, rules.default_retention_days));
  return points;
}

/**
 * Commits reachable from `points` that are no reachable commit's main parent and no branch
 * head, as starting points with `retentionDays`. lakeFS also counts commits no ref reaches,
 * which the API does not show; a commit whose only first-parent child is unreachable is a
 * leaf here and not in lakeFS, which only keeps more.
 */
export function ancestryLeaves(
  commits: CommitSource,
  points: readonly StartingPoint[],
  retentionDays: number,
): StartingPoint[] {
  const reachable = reachableCommits(commits, points);
  const mainParents = new Set<string>();
  for (const c of reachable) {
    const parent = parentsOf(commits, c)[0];
    if (parent !== undefined) mainParents.add(parent);
  }
  const heads = new Set(points.filter((p) => p.kind === "branch").map((p) => p.commitId));
  const leaves: StartingPoint[] = [];
  for (const c of [...reachable].sort()) {
    if (mainParents.has(c) || heads.has(c)) continue;
    leaves.push({ kind: "leaf", name: c, commitId: c, retentionDays });
  }
  return leaves;
}

/**
 * Active and expired commits.
 *
 * Active, as lakeFS computes it (pkg/graveler/retention, GetGarbageCollectionCommits): each
 * starting point is active, and from it the walk follows the WHOLE main (first-parent)
 * ancestry, whatever the dates; walking from `c` to its main parent `p`, `p` is active when
 * `c` was created after the walk's threshold (now - retention). Dates need not be monotonic
 * (commits can be backdated, clocks skew, a merge made now sits on backdated history), so
 * the walk never stops at the first old commit: a younger commit further down still keeps
 * its parent. A walk stops at a commit already reached by a walk whose threshold is at least
 * as old (lakeFS's stopping rule): that walk has evaluated, or will evaluate, every edge
 * below with a window at least as long.
 *
 * lakeFS compares exact times; its API gives whole seconds (truncated), so a commit dated in
 * the threshold's own second may have been created after the threshold: it counts as after
 * (>=), keeping its parent, where lakeFS may or may not.
 *
 * One difference, on the safe side: lakeFS checks the stopping rule before keeping the
 * parent, so when a longer-window walk reached `p` first through another child, a shorter
 * window's younger `c` does not keep `p` there, and the result depends on the order of the
 * heads. Here the parent is kept first, then the rule applied: the result is independent of
 * the order, and a superset of lakeFS's active set (never fewer commits kept).
 *
 * Walks run longest window first, so a later walk stops at the first commit an earlier one
 * reached: each commit is walked once. O(commits + starting points), iterative.
 *
 * Expired: every commit reachable from a starting point through any parent that is not
 * active. One iterative depth-first pass: O(commits + edges). Memory: a few sets of ids.
 */
export function computeRetention(
  commits: CommitSource,
  points: readonly StartingPoint[],
  now: number,
): RetentionResult {
  const active = activeCommits(commits, points, now);
  const expired = new Set<string>();
  for (const c of reachableCommits(commits, points)) if (!active.has(c)) expired.add(c);
  return { active, expired };
}

/** The active set alone (see computeRetention). */
export function activeCommits(
  commits: CommitSource,
  points: readonly StartingPoint[],
  now: number,
): Set<string> {
  const ordered = points
    .map((p) => ({
      commitId: p.commitId,
      leaf: p.kind === "leaf",
      threshold: retentionThreshold(now, p.retentionDays),
    }))
    .sort((a, b) => a.threshold - b.threshold);
  const active = new Set<string>();
  /** The oldest threshold a walk passed each commit with. */
  const reached = new Map<string, number>();
  for (const { commitId, leaf, threshold } of ordered) {
    // A leaf's hypothetical child, created at the leaf's date, keeps it inside the window.
    if (!leaf || createdAt(commits, commitId) >= threshold) active.add(commitId);
    const before = reached.get(commitId);
    if (before !== undefined && before <= threshold) continue;
    reached.set(commitId, threshold);
    let c = commitId;
    for (;;) {
      const parent = parentsOf(commits, c)[0];
      if (parent === undefined) break;
      if (createdAt(commits, c) >= threshold) active.add(parent);
      const seen = reached.get(parent);
      if (seen !== undefined && seen <= threshold) break;
      reached.set(parent, threshold);
      c = parent;
    }
  }
  return active;
}

/** Every commit reachable from a starting point through any parent: one iterative pass. */
export function reachableCommits(
  commits: CommitSource,
  points: readonly { commitId: string }[],
): Set<string> {
  const seen = new Set<string>();
  const stack: string[] = [];
  for (const p of points) {
    if (!seen.has(p.commitId)) {
      seen.add(p.commitId);
      stack.push(p.commitId);
    }
  }
  while (stack.length > 0) {
    const c = stack.pop()!;
    for (const parent of parentsOf(commits, c)) {
      if (!seen.has(parent)) {
        seen.add(parent);
        stack.push(parent);
      }
    }
  }
  return seen;
}

function parentsOf(commits: CommitSource, id: string): readonly string[] {
  const parents = commits.parentsOf(id);
  if (parents === undefined) throw new MissingCommitError(id);
  return parents;
}

function createdAt(commits: CommitSource, id: string): number {
  const date = commits.creationDateOf(id);
  if (date === undefined) throw new MissingCommitError(id);
  return date;
}
