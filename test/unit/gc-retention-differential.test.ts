// Differential audit of the commit-expiry computation against lakeFS's own algorithm
// (pkg/graveler/retention: GetGarbageCollectionCommits over GCStartingPointIterator, which
// merges the branch heads sorted by commit id with every commit that is no commit's first
// parent, also sorted by commit id) and against the rules README.md states (branch heads and
// tags as starting points, no other walks).
//
// lakeFS sees every commit of the repository, also those no ref reaches; Lakeport sees only
// what the API shows, the commits branches and tags reach. The hand-written cases give the
// three answers (lakeFS, the stated rules, Lakeport) and say where and why they differ; the
// property checks on random graphs that Lakeport never expires a commit lakeFS or the stated
// rules keep, except one lakeFS keeps only through a walk from a commit no ref reaches (which
// the API cannot show: README.md, Garbage collection and Limits).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CommitGraph } from "../../lambdas/gc/domain/commit-graph";
import {
  computeRetention,
  type RetentionResult,
  SECONDS_PER_DAY,
  startingPoints,
} from "../../lambdas/gc/domain/retention";
import { type GcRules, parseGcRules } from "../../lambdas/gc/domain/rules";
import type { Ref } from "../../lambdas/shared/lakefs/types";

const NOW = 1_800_000_000;

interface WorldCommit {
  parents: string[];
  /** Days before NOW (fractions allowed). */
  age: number;
  /** lakeFS commit record version; 0 keeps the main parent last. */
  version?: 0 | 1;
}

interface World {
  commits: Record<string, WorldCommit>;
  branches: Record<string, string>;
  tags?: Record<string, string>;
  rules: GcRules;
}

const dateOf = (c: WorldCommit) => Math.round(NOW - c.age * SECONDS_PER_DAY);
const refs = (r: Record<string, string> = {}): Ref[] =>
  Object.entries(r).map(([id, commit_id]) => ({ id, commit_id }));
const sorted = (s: Iterable<string>) => [...s].sort();

function mainParentOf(c: WorldCommit): string | undefined {
  if (c.parents.length === 0) return undefined;
  return c.version === 0 && c.parents.length > 1 ? c.parents[c.parents.length - 1] : c.parents[0];
}

/** Commits reachable through any parent from `starts`. */
function reachableFrom(commits: Record<string, WorldCommit>, starts: Iterable<string>) {
  const seen = new Set<string>();
  const stack = [...starts];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...commits[id]!.parents);
  }
  return seen;
}

/**
 * lakeFS's active set, transcribed line for line: starting points are the branch heads
 * (sorted by commit id) merged with the ancestry leaves of ALL the given commits (sorted by
 * commit id, a leaf equal to a head dropped); thresholds are `now - days` with no slack, and
 * a commit keeps its main parent when created strictly after the threshold.
 */
function lakeFsActive(commits: Record<string, WorldCommit>, w: World): Set<string> {
  const firstParents = new Set<string>();
  for (const c of Object.values(commits)) {
    const p = mainParentOf(c);
    if (p !== undefined) firstParents.add(p);
  }
  const leaves = Object.keys(commits)
    .filter((id) => !firstParents.has(id))
    .sort();
  const heads = refs(w.branches).sort((a, b) =>
    a.commit_id === b.commit_id ? (a.id < b.id ? -1 : 1) : a.commit_id < b.commit_id ? -1 : 1,
  );
  const points: { branch?: string; commit: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < heads.length || j < leaves.length) {
    if (i < heads.length && j < leaves.length && heads[i]!.commit_id === leaves[j]) j++;
    else if (j >= leaves.length || (i < heads.length && heads[i]!.commit_id < leaves[j]!)) {
      points.push({ branch: heads[i]!.id, commit: heads[i]!.commit_id });
      i++;
    } else points.push({ commit: leaves[j++]! });
  }
  const rule = new Map(w.rules.branches.map((b) => [b.branch_id, b.retention_days]));
  const processed = new Map<string, number>();
  const active = new Set<string>();
  for (const sp of points) {
    let node = { date: dateOf(commits[sp.commit]!), main: mainParentOf(commits[sp.commit]!) };
    let days = w.rules.default_retention_days;
    if (sp.branch === undefined) node = { date: node.date, main: sp.commit };
    else {
      days = rule.get(sp.branch) ?? days;
      active.add(sp.commit);
    }
    const threshold = NOW - days * SECONDS_PER_DAY;
    if (sp.branch !== undefined) processed.set(sp.commit, threshold);
    while (node.main !== undefined) {
      const next = node.main;
      const previous = processed.get(next);
      if (previous !== undefined && !(previous > threshold)) break;
      if (node.date > threshold) active.add(next);
      node = { date: dateOf(commits[next]!), main: mainParentOf(commits[next]!) };
      processed.set(next, threshold);
    }
  }
  return active;
}

/**
 * The rules as README.md states them, brute force: from every branch head (its retention)
 * and tag (the default) the whole main ancestry; a commit created after the threshold keeps
 * its main parent. Expired: what branches reach through any parent and is not active.
 */
function statedRules(w: World): { active: Set<string>; expired: Set<string> } {
  const rule = new Map(w.rules.branches.map((b) => [b.branch_id, b.retention_days]));
  const starts = [
    ...refs(w.branches).map((b) => ({
      commit: b.commit_id,
      days: rule.get(b.id) ?? w.rules.default_retention_days,
    })),
    ...refs(w.tags).map((t) => ({ commit: t.commit_id, days: w.rules.default_retention_days })),
  ];
  const active = new Set<string>();
  for (const s of starts) {
    const threshold = NOW - s.days * SECONDS_PER_DAY;
    active.add(s.commit);
    for (let c: string | undefined = s.commit; c !== undefined; ) {
      const parent: string | undefined = mainParentOf(w.commits[c]!);
      if (parent !== undefined && dateOf(w.commits[c]!) > threshold) active.add(parent);
      c = parent;
    }
  }
  const byBranches = reachableFrom(w.commits, Object.values(w.branches));
  return { active, expired: new Set([...byBranches].filter((c) => !active.has(c))) };
}

/** Lakeport, fed what lakeFS's API shows: the commits branches and tags reach. */
function lakeport(w: World): RetentionResult {
  const visible = reachableFrom(w.commits, [
    ...Object.values(w.branches),
    ...Object.values(w.tags ?? {}),
  ]);
  const graph = new CommitGraph();
  for (const id of visible) {
    const c = w.commits[id]!;
    graph.add({ id, parents: c.parents, creation_date: dateOf(c), version: c.version ?? 1 });
  }
  const points = startingPoints(w.rules, refs(w.branches), refs(w.tags), graph);
  return computeRetention(graph, points, NOW);
}

const rules = (d: number, branches: Record<string, number> = {}) =>
  parseGcRules({
    default_retention_days: d,
    branches: Object.entries(branches).map(([branch_id, retention_days]) => ({
      branch_id,
      retention_days,
    })),
  });

interface Case {
  name: string;
  world: World;
  /** lakeFS's active set, restricted to what refs reach (worked by hand from its algorithm). */
  lakeFs: string[];
  /** The stated rules' active set. */
  stated: string[];
  /** Lakeport's active and expired sets. */
  active: string[];
  expired: string[];
}

const CASES: Case[] = [
  {
    name: "merges: a merged and deleted branch's old tip expires with its history",
    // main: m0(40) <- m1(20) <- m2(9) <- M(3, second parent f2) <- m3(1); feature m0 <- f1(25)
    // <- f2(8), deleted after the merge. f2 is a leaf (no commit's first parent), 8 days old.
    world: {
      commits: {
        m0: { parents: [], age: 40 },
        m1: { parents: ["m0"], age: 20 },
        m2: { parents: ["m1"], age: 9 },
        f1: { parents: ["m0"], age: 25 },
        f2: { parents: ["f1"], age: 8 },
        M: { parents: ["m2", "f2"], age: 3 },
        m3: { parents: ["M"], age: 1 },
      },
      branches: { main: "m3" },
      rules: rules(7),
    },
    lakeFs: ["M", "m2", "m3"],
    stated: ["M", "m2", "m3"],
    active: ["M", "m2", "m3"],
    expired: ["f1", "f2", "m0", "m1"],
  },
  {
    name: "merges: a young merged tip keeps itself and its parent (lakeFS's leaf walk; more than the stated rules)",
    world: {
      commits: {
        m0: { parents: [], age: 40 },
        f1: { parents: ["m0"], age: 25 },
        f2: { parents: ["f1"], age: 5 },
        M: { parents: ["m0", "f2"], age: 3 },
      },
      branches: { main: "M" },
      rules: rules(7),
    },
    lakeFs: ["M", "f1", "f2", "m0"],
    stated: ["M", "m0"],
    active: ["M", "f1", "f2", "m0"],
    expired: [],
  },
  {
    name: "a commit reached from branches with different retention keeps the longest window",
    // a(30) <- b(12) <- c(6) <- d(2): main (3 days) at d, long (14 days) at c.
    world: {
      commits: {
        a: { parents: [], age: 30 },
        b: { parents: ["a"], age: 12 },
        c: { parents: ["b"], age: 6 },
        d: { parents: ["c"], age: 2 },
      },
      branches: { main: "d", long: "c" },
      rules: rules(5, { main: 3, long: 14 }),
    },
    lakeFs: ["a", "b", "c", "d"],
    stated: ["a", "b", "c", "d"],
    active: ["a", "b", "c", "d"],
    expired: [],
  },
  {
    name: "a head older than its retention is kept, its history is not",
    world: {
      commits: { a: { parents: [], age: 40 }, b: { parents: ["a"], age: 30 } },
      branches: { stale: "b" },
      rules: rules(7),
    },
    lakeFs: ["b"],
    stated: ["b"],
    active: ["b"],
    expired: ["a"],
  },
  {
    name: "out-of-order dates: a child older than its parent",
    // a(40) <- b(2) <- c(30) <- d(1): d keeps c; c (old) does not keep b; b (young) keeps a.
    world: {
      commits: {
        a: { parents: [], age: 40 },
        b: { parents: ["a"], age: 2 },
        c: { parents: ["b"], age: 30 },
        d: { parents: ["c"], age: 1 },
      },
      branches: { main: "d" },
      rules: rules(7),
    },
    lakeFs: ["a", "c", "d"],
    stated: ["a", "c", "d"],
    active: ["a", "c", "d"],
    expired: ["b"],
  },
  {
    name: "a branch created from an old commit keeps that commit only",
    // main: a(30) <- b(20) <- c(1); old created at a (retention 7).
    world: {
      commits: {
        z: { parents: [], age: 50 },
        a: { parents: ["z"], age: 30 },
        b: { parents: ["a"], age: 20 },
        c: { parents: ["b"], age: 1 },
      },
      branches: { main: "c", old: "a" },
      rules: rules(7),
    },
    lakeFs: ["a", "b", "c"],
    stated: ["a", "b", "c"],
    active: ["a", "b", "c"],
    expired: ["z"],
  },
  {
    name: "a tag on an expired commit keeps it (lakeFS ignores tags and would expire it)",
    world: {
      commits: {
        a: { parents: [], age: 30 },
        b: { parents: ["a"], age: 20 },
        c: { parents: ["b"], age: 10 },
        d: { parents: ["c"], age: 1 },
      },
      branches: { main: "d" },
      tags: { v1: "b" },
      rules: rules(7),
    },
    lakeFs: ["c", "d"],
    stated: ["b", "c", "d"],
    active: ["b", "c", "d"],
    expired: ["a"],
  },
  {
    name: "default retention 0: only the head, and its parent while the head is under three hours old",
    world: {
      commits: {
        a: { parents: [], age: 3 },
        b: { parents: ["a"], age: 2 },
        c: { parents: ["b"], age: 1 },
        x: { parents: [], age: 3 },
        y: { parents: ["x"], age: 1 / 24 },
      },
      branches: { main: "c", hot: "y" },
      rules: rules(0),
    },
    // lakeFS's threshold is now: y (an hour old) does not keep x; Lakeport's window has three
    // hours of slack (daylight saving, clock skew), so x stays a little longer.
    lakeFs: ["c", "y"],
    stated: ["c", "y"],
    active: ["c", "x", "y"],
    expired: ["a", "b"],
  },
  {
    name: "a rule for a branch that does not exist changes nothing",
    world: {
      commits: {
        a: { parents: [], age: 20 },
        b: { parents: ["a"], age: 10 },
        c: { parents: ["b"], age: 1 },
      },
      branches: { main: "c" },
      rules: rules(7, { ghost: 30 }),
    },
    lakeFs: ["b", "c"],
    stated: ["b", "c"],
    active: ["b", "c"],
    expired: ["a"],
  },
  {
    name: "known difference: lakeFS keeps a merged tip whose young child no ref reaches",
    // feature: m0 <- f1(15) <- u(2); main merged f1 (M), then feature committed u and was
    // deleted: u is in lakeFS's store, not in any log the API gives. lakeFS's walk from u
    // keeps f1; the stated rules and Lakeport expire it (README.md: Limits).
    world: {
      commits: {
        m0: { parents: [], age: 20 },
        f1: { parents: ["m0"], age: 15 },
        u: { parents: ["f1"], age: 2 },
        M: { parents: ["m0", "f1"], age: 1 },
      },
      branches: { main: "M" },
      rules: rules(7),
    },
    lakeFs: ["M", "f1", "m0"],
    stated: ["M", "m0"],
    active: ["M", "m0"],
    expired: ["f1"],
  },
  {
    name: "version 0 merge records keep the main parent last",
    world: {
      commits: {
        base: { parents: [], age: 30 },
        side: { parents: ["base"], age: 20 },
        main1: { parents: ["base"], age: 20 },
        merge: { parents: ["side", "main1"], age: 1, version: 0 },
      },
      branches: { main: "merge" },
      rules: rules(7),
    },
    lakeFs: ["main1", "merge"],
    stated: ["main1", "merge"],
    active: ["main1", "merge"],
    expired: ["base", "side"],
  },
];

describe("commit expiry against lakeFS's algorithm and the stated rules", () => {
  it.each(CASES)("$name", (c) => {
    const visible = reachableFrom(c.world.commits, [
      ...Object.values(c.world.branches),
      ...Object.values(c.world.tags ?? {}),
    ]);
    const ofLakeFs = [...lakeFsActive(c.world.commits, c.world)].filter((id) => visible.has(id));
    expect(sorted(ofLakeFs)).toEqual(c.lakeFs);
    expect(sorted(statedRules(c.world).active)).toEqual(c.stated);
    const r = lakeport(c.world);
    expect(sorted(r.active)).toEqual(c.active);
    expect(sorted(r.expired)).toEqual(c.expired);
  });
});

/**
 * What lakeFS's walks from commits no ref reaches keep, brute force (no stopping rule, so a
 * superset of what they keep in lakeFS): the only reason lakeFS may keep a commit Lakeport
 * expires.
 */
function keptThroughUnseenCommits(w: World, visible: ReadonlySet<string>): Set<string> {
  const firstParents = new Set(Object.values(w.commits).flatMap((c) => mainParentOf(c) ?? []));
  const threshold = NOW - w.rules.default_retention_days * SECONDS_PER_DAY;
  const kept = new Set<string>();
  for (const id of Object.keys(w.commits)) {
    if (visible.has(id) || firstParents.has(id)) continue;
    // A leaf no ref reaches: its hypothetical child has its date, then its main ancestry.
    let date = dateOf(w.commits[id]!);
    for (let next: string | undefined = id; next !== undefined; ) {
      if (date > threshold) kept.add(next);
      date = dateOf(w.commits[next]!);
      next = mainParentOf(w.commits[next]!);
    }
  }
  return kept;
}

const arbWorld = fc
  .record({
    commits: fc.array(
      fc.record({
        back: fc.nat(3),
        second: fc.option(fc.nat(), { nil: undefined }),
        v0: fc.boolean(),
        ageHours: fc.integer({ min: 0, max: 40 * 24 }),
      }),
      { minLength: 1, maxLength: 30 },
    ),
    branches: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
    tags: fc.array(fc.nat(), { maxLength: 2 }),
    defaultDays: fc.integer({ min: 0, max: 12 }),
    branchDays: fc.array(fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }), {
      minLength: 5,
      maxLength: 5,
    }),
  })
  .map((s): World => {
    const commits: Record<string, WorldCommit> = {};
    const ids: string[] = [];
    s.commits.forEach((c, i) => {
      const parents: string[] = [];
      if (i > 0) parents.push(ids[Math.max(0, i - 1 - c.back)]!);
      if (i > 1 && c.second !== undefined) {
        const second = ids[c.second % i]!;
        if (second !== parents[0]) parents.push(second);
      }
      const id = `c${String(i).padStart(2, "0")}`;
      ids.push(id);
      // A version 0 record keeps the main parent last.
      const v0 = c.v0 && parents.length === 2;
      commits[id] = {
        parents: v0 ? [parents[1]!, parents[0]!] : parents,
        age: c.ageHours / 24,
        ...(v0 ? { version: 0 as const } : {}),
      };
    });
    const pick = (n: number) => ids[ids.length - 1 - (n % ids.length)]!;
    const branches = Object.fromEntries(s.branches.map((n, i) => [`b${i}`, pick(n)]));
    // Branch b4 never exists; its rule (like any) must change nothing.
    const rulesOf = Object.fromEntries(
      s.branchDays.flatMap((d, i) => (d === undefined ? [] : [[`b${i}`, d] as const])),
    );
    return {
      commits,
      branches,
      tags: Object.fromEntries(s.tags.map((n, i) => [`v${i}`, pick(n * 3 + 1)])),
      rules: rules(s.defaultDays, rulesOf),
    };
  });

describe("commit expiry on random graphs (property)", () => {
  it("never expires what lakeFS or the stated rules keep, but what only unseen commits keep", () => {
    const seen = { unseenKeeps: 0, tagKeeps: 0, expired: 0 };
    fc.assert(
      fc.property(arbWorld, (w) => {
        const refsReach = [...Object.values(w.branches), ...Object.values(w.tags ?? {})];
        const visible = reachableFrom(w.commits, refsReach);
        const r = lakeport(w);
        expect(sorted([...r.active, ...r.expired])).toEqual(sorted(visible));
        for (const id of refsReach) expect(r.active.has(id)).toBe(true);

        // lakeFS on the repository as the API shows it (no commit outside the refs' reach).
        const shown = Object.fromEntries(
          Object.entries(w.commits).filter(([id]) => visible.has(id)),
        );
        for (const id of lakeFsActive(shown, w)) expect(r.active.has(id)).toBe(true);
        // lakeFS on the whole repository: a difference only through commits no ref reaches.
        const unseen = keptThroughUnseenCommits(w, visible);
        for (const id of lakeFsActive(w.commits, w)) {
          if (visible.has(id) && !r.active.has(id)) {
            expect(unseen.has(id)).toBe(true);
            seen.unseenKeeps++;
          }
        }
        // The stated rules: never fewer kept; expired only what they expire, or reach by tags.
        const stated = statedRules(w);
        for (const id of stated.active) expect(r.active.has(id)).toBe(true);
        const byBranches = reachableFrom(w.commits, Object.values(w.branches));
        for (const id of r.expired) {
          if (byBranches.has(id)) expect(stated.expired.has(id)).toBe(true);
        }
        if ([...stated.active].some((id) => !lakeFsActive(w.commits, w).has(id))) seen.tagKeeps++;
        seen.expired += r.expired.size > 0 ? 1 : 0;
      }),
      { numRuns: 1000 },
    );
    // The interesting cases come up, so the property does not pass vacuously.
    expect(seen.unseenKeeps).toBeGreaterThan(5);
    expect(seen.tagKeeps).toBeGreaterThan(5);
    expect(seen.expired).toBeGreaterThan(300);
  });
});
