// Which commits are active (kept) and which are expired: the algorithm of semantics.md,
// "Garbage collection". Pure: `now` is a parameter, commits come from a CommitSource.
import type { Ref } from "../../lakefs/types";
import { type CommitSource, MissingCommitError } from "./commit-graph";
import type { GcRules } from "./rules";
import { retentionLookup } from "./rules";

export const SECONDS_PER_DAY = 86_400;

/** A branch head or a tag, with the retention its walk uses. */
export interface StartingPoint {
  kind: "branch" | "tag";
  name: string;
  commitId: string;
  retentionDays: number;
}

export interface RetentionResult {
  active: Set<string>;
  /** Reachable from a starting point through any parent, and not active. */
  expired: Set<string>;
}

/** Branch heads with their own retention (else the default); tags with the default. */
export function startingPoints(
  rules: GcRules,
  branches: Iterable<Ref>,
  tags: Iterable<Ref> = [],
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
  return points;
}

/**
 * Active and expired commits.
 *
 * Active: from each starting point walk the main (first-parent) ancestry; the start is
 * active, and the main parent `p` of an active `c` is active when `c` was created after
 * the threshold (now - retention). Walks run longest window first, so a walk that meets a
 * commit already reached stops there: that earlier walk had a threshold at least as old
 * and went at least as far down the same chain. Each commit is thus walked once:
 * O(commits + starting points), iterative.
 *
 * Expired: every commit reachable from a starting point through any parent that is not
 * active. One iterative depth-first pass: O(commits + edges). Memory: a few sets of ids.
 */
export function computeRetention(
  commits: CommitSource,
  points: readonly StartingPoint[],
  now: number,
): RetentionResult {
  const ordered = points
    .map((p) => ({ commitId: p.commitId, threshold: now - p.retentionDays * SECONDS_PER_DAY }))
    .sort((a, b) => a.threshold - b.threshold);

  const active = new Set<string>();
  for (const { commitId, threshold } of ordered) {
    let c: string | undefined = commitId;
    while (c !== undefined && !active.has(c)) {
      active.add(c);
      if (!(createdAt(commits, c) > threshold)) break;
      c = parentsOf(commits, c)[0];
    }
  }

  const expired = new Set<string>();
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
    if (!active.has(c)) expired.add(c);
    for (const parent of parentsOf(commits, c)) {
      if (!seen.has(parent)) {
        seen.add(parent);
        stack.push(parent);
      }
    }
  }
  return { active, expired };
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
