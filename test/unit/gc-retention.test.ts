import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CommitGraph, MissingCommitError } from "../../lambdas/gc/domain/commit-graph";
import { encodeCommitsCsv, parseCommitsCsv } from "../../lambdas/gc/domain/reports";
import {
  computeRetention,
  RETENTION_SLACK_SECONDS,
  SECONDS_PER_DAY,
  type StartingPoint,
  startingPoints,
} from "../../lambdas/gc/domain/retention";
import { parseGcRules } from "../../lambdas/gc/domain/rules";

const NOW = 1_800_000_000;
/** Ages count from the edge of a 0-day window (`now` less the slack every window has). */
const daysAgo = (d: number) => NOW - d * SECONDS_PER_DAY - RETENTION_SLACK_SECONDS;

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

const sorted = (s: Iterable<string>) => [...s].sort();

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield items.slice();
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const p of permutations(rest)) yield [items[i]!, ...p];
  }
}

/**
 * lakeFS's GetGarbageCollectionCommits (pkg/graveler/retention/active_commits.go), line for
 * line, for branch heads visited in the given order: the stopping rule is checked before the
 * parent is kept.
 */
function lakeFsActive(g: CommitGraph, points: readonly StartingPoint[], now: number) {
  const processed = new Map<string, number>();
  const active = new Set<string>();
  for (const p of points) {
    const threshold = now - p.retentionDays * SECONDS_PER_DAY;
    active.add(p.commitId);
    processed.set(p.commitId, threshold);
    let c = p.commitId;
    for (;;) {
      const next = g.parentsOf(c)![0];
      if (next === undefined) break;
      const previous = processed.get(next);
      if (previous !== undefined && !(previous > threshold)) break;
      if (g.creationDateOf(c)! > threshold) active.add(next);
      processed.set(next, threshold);
      c = next;
    }
  }
  return active;
}

/**
 * The definition, brute force, with Lakeport's window (retention days plus the slack): every start, and the main parent of each young commit on a
 * chain. lakeFS's API gives dates in whole seconds (truncated): a commit dated in the
 * threshold's second may have been created after it, so it counts as young.
 */
function definitionActive(g: CommitGraph, points: readonly StartingPoint[], now: number) {
  const active = new Set<string>();
  for (const p of points) {
    // Lakeport's window: the retention days and the slack.
    const threshold = now - p.retentionDays * SECONDS_PER_DAY - RETENTION_SLACK_SECONDS;
    active.add(p.commitId);
    for (let c: string | undefined = p.commitId; c !== undefined; ) {
      const parent: string | undefined = g.parentsOf(c)![0];
      if (parent !== undefined && g.creationDateOf(c)! >= threshold) active.add(parent);
      c = parent;
    }
  }
  return active;
}

describe("GC retention", () => {
  // The example: a(15) <- b(10) <- e(5) <- f(1), f head kept 7 days; a <- c(10) <- d(5), d head
  // kept 3 days; default 5.
  const example = graphOf({
    a: [15],
    b: [10, "a"],
    e: [5, "b"],
    f: [1, "e"],
    c: [10, "a"],
    d: [5, "c"],
  });

  it("computes the example", () => {
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
    // A commit dated in the threshold's second (dates are whole seconds, truncated) may have
    // been created after it: its parent is kept, as lakeFS may with the exact times.
    const atThreshold = graphOf({ a: [3], b: [0, "a"] });
    expect(sorted(computeRetention(atThreshold, [branch("m", "b", 0)], NOW).active)).toEqual([
      "a",
      "b",
    ]);
    const justBefore = graphOf({ a: [3], b: [1 / SECONDS_PER_DAY, "a"] });
    expect(sorted(computeRetention(justBefore, [branch("m", "b", 0)], NOW).active)).toEqual(["b"]);
  });

  it("keeps what lakeFS keeps when its server counts calendar days across a daylight-saving change", () => {
    // lakeFS on a server in America/New_York, GC at 2026-11-02 12:00 EST: its threshold,
    // time.Now().AddDate(0, 0, -7), is 2026-10-26 12:00 EDT (16:00 UTC), seven days and an hour
    // earlier, the clocks having gone back on 1 November.
    const now = Date.UTC(2026, 10, 2, 17) / 1000;
    const lakeFsThreshold = Date.UTC(2026, 9, 26, 16) / 1000;
    expect(now - lakeFsThreshold).toBe(7 * SECONDS_PER_DAY + 3600);
    const g = new CommitGraph();
    g.add({ id: "p", parents: [], creation_date: Date.UTC(2026, 9, 20) / 1000 });
    // Inside lakeFS's window by half an hour, outside one of 7 x 86 400 s: lakeFS keeps p.
    g.add({ id: "c", parents: ["p"], creation_date: lakeFsThreshold + 1800 });
    g.add({ id: "h", parents: ["c"], creation_date: now - 3600 });
    const r = computeRetention(g, [branch("main", "h", 7)], now);
    expect(sorted(r.active)).toEqual(["c", "h", "p"]);
    expect(sorted(r.expired)).toEqual([]);
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

  // Dates need not be monotonic: lakeFS's commit API takes a `date`, clocks skew, and a merge
  // made now can sit on backdated history. The walk goes on through the whole main ancestry.
  it.each<{
    name: string;
    graph: Record<string, [number, ...string[]]>;
    points: StartingPoint[];
    active: string[];
    expired: string[];
  }>([
    {
      name: "a backdated commit in the middle of a young chain",
      // a(40) <- b(2) <- c(30, backdated) <- d(1) <- e(0.5); main kept 7 days.
      graph: { a: [40], b: [2, "a"], c: [30, "b"], d: [1, "c"], e: [0.5, "d"] },
      points: [branch("main", "e", 7)],
      // e and d are young: d, c active. c is old: b not kept by c. b(2) is young: a kept.
      active: ["a", "c", "d", "e"],
      expired: ["b"],
    },
    {
      name: "a merge made now on top of backdated history",
      // m1(50) <- m2(45) <- merge(0) with second parent f1(44); main kept 3 days.
      graph: { m1: [50], m2: [45, "m1"], f1: [44, "m1"], merge: [0, "m2", "f1"] },
      points: [branch("main", "merge", 3)],
      active: ["m2", "merge"],
      expired: ["f1", "m1"],
    },
    {
      name: "a merge dated after its children",
      // x(20) <- y(1) <- z(10): z (the head) is older than the window, y younger.
      graph: { x: [20], y: [1, "x"], z: [10, "y"] },
      points: [branch("main", "z", 5)],
      // z (the head) is old: y is not kept through z. The walk goes on: y is young, so its
      // parent x is kept (y itself is not).
      active: ["x", "z"],
      expired: ["y"],
    },
    {
      name: "an old commit between two young ones, reached by two heads",
      // r(60) <- s(1) <- t(40) <- u(1) ; v(1) on t. Heads u (7 days) and v (30 days).
      graph: { r: [60], s: [1, "r"], t: [40, "s"], u: [1, "t"], v: [1, "t"] },
      points: [branch("short", "u", 7), branch("long", "v", 30)],
      active: ["r", "t", "u", "v"],
      expired: ["s"],
    },
  ])("keeps what lakeFS keeps when dates are not monotonic: $name", (c) => {
    const g = graphOf(c.graph);
    const r = computeRetention(g, c.points, NOW);
    expect(sorted(r.active)).toEqual(c.active);
    expect(sorted(r.expired)).toEqual(c.expired);
    for (const order of permutations(c.points)) {
      expect(sorted(computeRetention(g, order, NOW).active)).toEqual(c.active);
      // Never fewer than lakeFS keeps, in any order lakeFS visits the heads.
      for (const id of lakeFsActive(g, order, NOW)) expect(r.active.has(id)).toBe(true);
    }
  });

  it("keeps a parent lakeFS drops when a longer window reached it first (order independence)", () => {
    // p(100) <- c1(50) on branch A (30 days); p <- c(1) on branch B (7 days).
    const g = graphOf({ p: [100], c1: [50, "p"], c: [1, "p"] });
    const a = branch("A", "c1", 30);
    const b = branch("B", "c", 7);
    // lakeFS, A first: p is reached with A's older threshold, B's walk stops before keeping p.
    expect(sorted(lakeFsActive(g, [a, b], NOW))).toEqual(["c", "c1"]);
    expect(sorted(lakeFsActive(g, [b, a], NOW))).toEqual(["c", "c1", "p"]);
    // Lakeport: p was branch B's state 1 day ago, inside B's window: kept in both orders.
    expect(sorted(computeRetention(g, [a, b], NOW).active)).toEqual(["c", "c1", "p"]);
    expect(sorted(computeRetention(g, [b, a], NOW).active)).toEqual(["c", "c1", "p"]);
  });

  it("takes the main parent of lakeFS commit records of version 0 from the end", () => {
    const g = new CommitGraph();
    g.add({ id: "base", parents: [], creation_date: daysAgo(30) });
    g.add({ id: "side", parents: ["base"], creation_date: daysAgo(20) });
    g.add({ id: "main1", parents: ["base"], creation_date: daysAgo(20) });
    // Version 0: parents [source, destination]; the destination (main1) is the main parent.
    g.add({ id: "merge", parents: ["side", "main1"], creation_date: daysAgo(1), version: 0 });
    expect(g.parentsOf("merge")).toEqual(["main1", "side"]);
    const r = computeRetention(g, [branch("main", "merge", 7)], NOW);
    expect(sorted(r.active)).toEqual(["main1", "merge"]);
  });

  it("matches the definition on random graphs with unordered dates (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            back: fc.nat(4),
            second: fc.option(fc.nat(), { nil: undefined }),
            ageDays: fc.integer({ min: 0, max: 40 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.array(fc.record({ head: fc.nat(), days: fc.integer({ min: 0, max: 30 }) }), {
          minLength: 1,
          maxLength: 5,
        }),
        (commits, heads) => {
          const g = new CommitGraph();
          const ids: string[] = [];
          commits.forEach((c, i) => {
            const parents: string[] = [];
            if (i > 0) parents.push(ids[Math.max(0, i - 1 - c.back)]!);
            if (i > 1 && c.second !== undefined) {
              const s = ids[c.second % i]!;
              if (s !== parents[0]) parents.push(s);
            }
            const id = `c${i}`;
            ids.push(id);
            g.add({ id, parents, creation_date: daysAgo(c.ageDays) });
          });
          const points = heads.map((h, i) => branch(`b${i}`, ids[h.head % ids.length]!, h.days));
          const r = computeRetention(g, points, NOW);
          expect(sorted(r.active)).toEqual(sorted(definitionActive(g, points, NOW)));
          for (const id of lakeFsActive(g, points, NOW)) expect(r.active.has(id)).toBe(true);
          for (const id of lakeFsActive(g, [...points].reverse(), NOW)) {
            expect(r.active.has(id)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
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
    // main: the 719 + 3 commits younger than 30 days and 3 hours (the slack), m[n-723],
    // created in the threshold's second (which counts as inside the window), and its parent
    // m[n-724], the first before it.
    expect(RETENTION_SLACK_SECONDS).toBe(3 * hour);
    expect(r.active.size).toBe(724 + 50);
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
