import { describe, expect, it } from "vitest";
import { CommitGraph, MissingCommitError } from "../../lambdas/gc/domain/commit-graph";
import { encodeCommitsCsv, parseCommitsCsv } from "../../lambdas/gc/domain/reports";
import {
  computeRetention,
  SECONDS_PER_DAY,
  type StartingPoint,
  startingPoints,
} from "../../lambdas/gc/domain/retention";
import { parseGcRules } from "../../lambdas/gc/domain/rules";

const NOW = 1_800_000_000;
const daysAgo = (d: number) => NOW - d * SECONDS_PER_DAY;

/** commits: id -> [days old, ...parents] */
function graphOf(commits: Record<string, [number, ...string[]]>): CommitGraph {
  const g = new CommitGraph();
  for (const [id, [age, ...parents]] of Object.entries(commits)) {
    g.add({ id, parents, creation_date: daysAgo(age) });
  }
  return g;
}

const branch = (name: string, commitId: string, retentionDays: number): StartingPoint => ({
  kind: "branch",
  name,
  commitId,
  retentionDays,
});

const sorted = (s: Set<string>) => [...s].sort();

describe("GC retention", () => {
  // semantics.md: a(15) <- b(10) <- e(5) <- f(1), f head kept 7 days; a <- c(10) <- d(5), d head
  // kept 3 days; default 5.
  const example = graphOf({
    a: [15],
    b: [10, "a"],
    e: [5, "b"],
    f: [1, "e"],
    c: [10, "a"],
    d: [5, "c"],
  });

  it("computes the example of semantics.md", () => {
    const rules = parseGcRules({
      default_retention_days: 5,
      branches: [
        { branch_id: "long", retention_days: 7 },
        { branch_id: "short", retention_days: 3 },
      ],
    });
    const points = startingPoints(rules, [
      { id: "long", commit_id: "f" },
      { id: "short", commit_id: "d" },
    ]);
    expect(points.map((p) => p.retentionDays)).toEqual([7, 3]);
    const r = computeRetention(example, points, NOW);
    expect(sorted(r.active)).toEqual(["b", "d", "e", "f"]);
    expect(sorted(r.expired)).toEqual(["a", "c"]);
  });

  it("gives the same answer whatever the order of the starting points", () => {
    const points = [branch("short", "d", 3), branch("long", "f", 7)];
    const r = computeRetention(example, points, NOW);
    expect(sorted(r.active)).toEqual(["b", "d", "e", "f"]);
  });

  it("treats tags as starting points with the default retention", () => {
    const rules = parseGcRules({ default_retention_days: 12, branches: [] });
    const points = startingPoints(
      rules,
      [{ id: "main", commit_id: "f" }],
      [{ id: "v1", commit_id: "d" }],
    );
    expect(points[1]).toEqual({ kind: "tag", name: "v1", commitId: "d", retentionDays: 12 });
    const r = computeRetention(example, points, NOW);
    // From f with 12 days: f, e, b (10 < 12 days old), a (first before the window).
    // From tag d with 12 days: d, c, a.
    expect(sorted(r.active)).toEqual(["a", "b", "c", "d", "e", "f"]);
    expect(r.expired.size).toBe(0);
  });

  it("expires second parents of merges unless reached another way", () => {
    // main: m1(20) <- m2(2) <- merge(1) with second parent x2; feature: m1 <- x1(15) <- x2(12)
    const g = graphOf({
      m1: [20],
      x1: [15, "m1"],
      x2: [12, "x1"],
      m2: [2, "m1"],
      merge: [1, "m2", "x2"],
    });
    const onlyMain = computeRetention(g, [branch("main", "merge", 7)], NOW);
    expect(sorted(onlyMain.active)).toEqual(["m1", "m2", "merge"]);
    expect(sorted(onlyMain.expired)).toEqual(["x1", "x2"]);

    const featureKept = computeRetention(
      g,
      [branch("main", "merge", 7), branch("feature", "x2", 30)],
      NOW,
    );
    expect(sorted(featureKept.active)).toEqual(["m1", "m2", "merge", "x1", "x2"]);
    expect(featureKept.expired.size).toBe(0);
  });

  it("keeps the longest window when several heads share a commit", () => {
    const g = graphOf({ a: [30], b: [20, "a"], c: [10, "b"], d: [1, "c"] });
    const r = computeRetention(
      g,
      [branch("x", "d", 2), branch("y", "d", 25), branch("z", "d", 0)],
      NOW,
    );
    // 25 days: d, c, b are younger, a is the first before the window.
    expect(sorted(r.active)).toEqual(["a", "b", "c", "d"]);
  });

  it("with retention 0 keeps only the heads", () => {
    const g = graphOf({ a: [3], b: [2, "a"], c: [1, "b"] });
    const r = computeRetention(g, [branch("main", "c", 0)], NOW);
    expect(sorted(r.active)).toEqual(["c"]);
    expect(sorted(r.expired)).toEqual(["a", "b"]);
    // A commit at exactly the threshold is not "after" it: its parent is not kept.
    const atThreshold = graphOf({ a: [3], b: [0, "a"] });
    expect(sorted(computeRetention(atThreshold, [branch("m", "b", 0)], NOW).active)).toEqual(["b"]);
  });

  it("keeps a head older than its window, and nothing behind it", () => {
    const g = graphOf({ a: [40], b: [30, "a"] });
    const r = computeRetention(g, [branch("stale", "b", 7)], NOW);
    expect(sorted(r.active)).toEqual(["b"]);
    expect(sorted(r.expired)).toEqual(["a"]);
  });

  it("leaves commits nobody reaches out of both sets", () => {
    const g = graphOf({ a: [40], b: [30, "a"], orphan: [35, "a"] });
    const r = computeRetention(g, [branch("main", "b", 1)], NOW);
    expect(r.active.has("orphan") || r.expired.has("orphan")).toBe(false);
    expect(sorted(r.expired)).toEqual(["a"]);
  });

  it("refuses a graph missing a commit it needs", () => {
    const g = graphOf({ b: [1, "a"] });
    expect(() => computeRetention(g, [branch("main", "b", 7)], NOW)).toThrow(MissingCommitError);
    expect(() => computeRetention(g, [branch("main", "nope", 7)], NOW)).toThrow(/"nope"/);
  });

  it("walks 100 000 commits without recursion", () => {
    // A 100 000-commit main line, one commit an hour, 50 branches forked along it, each with a
    // merge back; main keeps 30 days, the branches 1 day.
    const g = new CommitGraph();
    const n = 100_000;
    const hour = 3600;
    for (let i = 0; i < n; i++) {
      g.add({
        id: `m${i}`,
        parents: i === 0 ? [] : i % 2000 === 1999 ? [`m${i - 1}`, `f${i - 999}`] : [`m${i - 1}`],
        creation_date: NOW - (n - i) * hour,
      });
      if (i % 2000 === 1000) {
        g.add({ id: `f${i}`, parents: [`m${i}`], creation_date: NOW - (n - i) * hour + 60 });
      }
    }
    expect(g.size).toBe(n + 50);
    const points = [branch("main", `m${n - 1}`, 30)];
    for (let i = 1000; i < n; i += 2000) points.push(branch(`f${i}`, `f${i}`, 1));
    const r = computeRetention(g, points, NOW);
    // main: the 719 commits younger than 30 days, plus m[n-720], created exactly at the threshold.
    expect(r.active.size).toBe(720 + 50);
    expect(r.active.size + r.expired.size).toBe(n + 50);
  });
});

describe("commits.csv", () => {
  it("has the header, one row per considered commit and true/false", () => {
    const bytes = encodeCommitsCsv({ active: new Set(["f", "b"]), expired: new Set(["a"]) });
    const text = new TextDecoder().decode(bytes);
    expect(text).toBe("commit_id,expired\na,true\nb,false\nf,false\n");
    expect(parseCommitsCsv(text)).toEqual([
      { commitId: "a", expired: true },
      { commitId: "b", expired: false },
      { commitId: "f", expired: false },
    ]);
    expect(() => parseCommitsCsv("id,expired\n")).toThrow(/header/);
    expect(() => parseCommitsCsv("commit_id,expired\nabc,yes\n")).toThrow(/line 2/);
  });
});
