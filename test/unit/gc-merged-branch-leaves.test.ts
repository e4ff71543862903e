// lakeFS's retention (pkg/graveler/retention) starts its walks not only at branch heads but at
// every commit that is not the first parent of any commit (GCCommitIterator with
// onlyAncestryLeaves; GCStartingPointIterator), each with the default retention and a
// hypothetical child created at the leaf's own date (active_commits.go). So the tip of a
// feature branch merged and then deleted stays a starting point: its recent commits stay kept
// for the default retention, and what only they reference is not deleted before.
import { describe, expect, it } from "vitest";
import { CommitGraph } from "../../lambdas/gc/domain/commit-graph";
import { computeRetention, startingPoints } from "../../lambdas/gc/domain/retention";
import { markAndSweepInMemory } from "../support/gc-pipeline";
import { memoryGcWorld } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const HOUR = 3600;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";
const RULES = { default_retention_days: 7, branches: [] };

/** lakeFS's GetGarbageCollectionCommits, transcribed (starting points: heads, then leaves). */
function lakeFsActive(
  commits: Map<string, { parents: string[]; date: number }>,
  heads: string[],
  now: number,
  retentionDays: number,
): Set<string> {
  const firstParents = new Set([...commits.values()].map((c) => c.parents[0]).filter(Boolean));
  const leaves = [...commits.keys()].filter((id) => !firstParents.has(id) && !heads.includes(id));
  const processed = new Map<string, number>();
  const active = new Set<string>();
  const threshold = now - retentionDays * 86_400;
  const points = [
    ...heads.map((id) => ({ id, branch: true })),
    ...leaves.map((id) => ({ id, branch: false })),
  ];
  for (const p of points) {
    let node = commits.get(p.id)!;
    if (!p.branch) node = { date: node.date, parents: [p.id] };
    else {
      active.add(p.id);
      processed.set(p.id, threshold);
    }
    while (node.parents[0] !== undefined) {
      const next = node.parents[0];
      const prev = processed.get(next);
      if (prev !== undefined && !(prev > threshold)) break;
      if (node.date > threshold) active.add(next);
      node = commits.get(next)!;
      processed.set(next, threshold);
    }
  }
  return active;
}

describe("tips of merged-and-deleted branches are starting points, as in lakeFS", () => {
  for (const age of [
    { name: "recent", hours: 1 },
    { name: "older than the retention", hours: 10 * 24 },
  ]) {
    it(`keeps what lakeFS keeps when the merged branch's commits are ${age.name}`, async () => {
      const { lakefs, store, records, deps } = memoryGcWorld(
        new MemoryLakeFs(() => NOW),
        NOW * 1000,
      );
      let n = 0;
      const upload = (label: string) => {
        const a = `${NS}/data/${label}-${n++}`;
        store.objects.set(a.replace("s3://", ""), new TextEncoder().encode(label));
        return a;
      };
      // main: c0. feature from c0: s1 writes p, s2 overwrites p (`age` ago, s1 an hour
      // before). Merged into main a minute ago, then the branch is deleted.
      const t = NOW - age.hours * HOUR;
      const c0 = lakefs.addCommit([], new Map([["keep", upload("k")]]), t - 2 * HOUR);
      lakefs.createBranch("main", c0);
      lakefs.createBranch("feature", c0);
      const Y1 = upload("p-v1");
      lakefs.stage("feature", "p", Y1);
      const s1 = lakefs.commit("feature", t - HOUR);
      lakefs.stage("feature", "p", upload("p-v2"));
      const s2 = lakefs.commit("feature", t);
      const e = lakefs.addCommit([c0, s2], new Map(lakefs.treeOf(s2)), NOW - 60);
      lakefs.hardReset("main", e);
      lakefs.deleteBranch("feature");

      const all = new Map(
        [...lakefs.commits.values()].map((c) => [
          c.id,
          { parents: c.parents, date: c.creation_date },
        ]),
      );
      const lakefsActive = lakeFsActive(all, [e], NOW, 7);
      // Recent: s2 is a leaf kept by its hypothetical child, and keeps s1; old: neither.
      expect([...lakefsActive].sort()).toEqual(
        (age.hours < 7 * 24 ? [c0, s1, s2, e] : [c0, e]).sort(),
      );
      const graph = new CommitGraph();
      for (const c of lakefs.commits.values()) graph.add({ ...c, version: 1 });
      const ours = computeRetention(
        graph,
        startingPoints(RULES, [{ id: "main", commit_id: e }], [], graph),
        NOW,
      );
      expect([...ours.active].sort()).toEqual([...lakefsActive].sort());

      // The whole pipeline: Y1 (only in s1) is kept while s1 is, swept once it expired.
      const out = await markAndSweepInMemory(deps, records, {
        runId: `20270101T000000000Z-leaf${age.hours}`,
        storageNamespace: NS,
        rules: RULES,
        now: NOW,
      });
      expect(out.success).toBe(true);
      expect(store.objects.has(Y1.replace("s3://", ""))).toBe(age.hours < 7 * 24);
    });
  }
});
