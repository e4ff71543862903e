import { describe, expect, it } from "vitest";
import {
  type AddressWorkItem,
  planAddressCollection,
  planCounts,
} from "../../lambdas/gc/domain/address-plan";
import { CommitGraph } from "../../lambdas/gc/domain/commit-graph";
import { addressesOfListing, pathsIntroduced } from "../../lambdas/gc/domain/item-addresses";
import { computeRetention, SECONDS_PER_DAY } from "../../lambdas/gc/domain/retention";
import { type ModelRepo, modelDiffEntries, modelListing, modelStat } from "./gc-model";

const NOW = 1_800_000_000;

function graphOf(commits: Record<string, [number, ...string[]]>): CommitGraph {
  const g = new CommitGraph();
  for (const [id, [age, ...parents]] of Object.entries(commits)) {
    g.add({ id, parents, creation_date: NOW - age * SECONDS_PER_DAY });
  }
  return g;
}

describe("GC address plan", () => {
  it("lists every active commit and diffs the expired ones (the retention example)", () => {
    const g = graphOf({
      a: [15],
      b: [10, "a"],
      e: [5, "b"],
      f: [1, "e"],
      c: [10, "a"],
      d: [5, "c"],
    });
    const retention = computeRetention(
      g,
      [
        { kind: "branch", name: "long", commitId: "f", retentionDays: 7 },
        { kind: "branch", name: "short", commitId: "d", retentionDays: 3 },
      ],
      NOW,
    );
    const items = planAddressCollection(g, retention, ["short", "long"]);
    expect(items).toEqual<AddressWorkItem[]>([
      // Every active commit is listed in full, oldest first: lakeFS's diff compares identities,
      // so a diff e..f could miss an address f took from an expired commit (a merge, a revert).
      { side: "active", kind: "list", commit: "b" },
      { side: "active", kind: "list", commit: "d" },
      { side: "active", kind: "list", commit: "e" },
      { side: "active", kind: "list", commit: "f" },
      // a has no parent; c is covered by a plus what it introduced.
      { side: "expired", kind: "list", commit: "a" },
      { side: "expired", kind: "diff", commit: "c", parent: "a" },
      { side: "active", kind: "staged", branch: "long", whole: true },
      { side: "active", kind: "staged", branch: "short", whole: true },
    ]);
    expect(planCounts(items)).toEqual({
      active_list: 4,
      expired_list: 1,
      expired_diff: 1,
      active_staged: 2,
    });
  });

  it("diffs an expired commit against an active main parent (merged feature branches)", () => {
    // main: m1(3) <- merge(1, second parent x2); feature forked at m1: x1(2) <- x2(2)
    const g = graphOf({ m1: [3], x1: [2, "m1"], x2: [2, "x1"], merge: [1, "m1", "x2"] });
    const retention = computeRetention(
      g,
      [{ kind: "branch", name: "main", commitId: "merge", retentionDays: 7 }],
      NOW,
    );
    expect([...retention.expired].sort()).toEqual(["x1", "x2"]);
    const items = planAddressCollection(g, retention);
    expect(items.filter((i) => i.side === "expired")).toEqual([
      { side: "expired", kind: "diff", commit: "x1", parent: "m1" },
      { side: "expired", kind: "diff", commit: "x2", parent: "x1" },
    ]);
  });

  it("lists an active merge commit even when its second parent is active", () => {
    // main's old head m0 (expired), dev head d1 (active); merge of dev into main at 20 days,
    // main kept 7 days: the merge is main's head, its main parent m0 is outside the window.
    const g = graphOf({ m0: [30], d1: [25, "m0"], merge: [20, "m0", "d1"] });
    const retention = computeRetention(
      g,
      [
        { kind: "branch", name: "main", commitId: "merge", retentionDays: 7 },
        { kind: "branch", name: "dev", commitId: "d1", retentionDays: 7 },
      ],
      NOW,
    );
    expect([...retention.active].sort()).toEqual(["d1", "merge"]);
    const items = planAddressCollection(g, retention).filter((i) => i.side === "active");
    expect(items).toEqual([
      { side: "active", kind: "list", commit: "d1" },
      { side: "active", kind: "list", commit: "merge" },
    ]);
  });

  it("protects what an active commit inherited from expired ancestors", () => {
    // a writes p -> X; b adds q -> Y; c (a deleted branch) overwrites p -> Z; the merge m of
    // c into b is main's head, kept 7 days and 10 days old: only m is active. X and Y are
    // live through m although a and b, which introduced them, are expired; Z is garbage.
    const ns = "s3://b/ns";
    const commit = (
      id: string,
      parents: string[],
      days: number,
      entries: Record<string, string>,
    ) => ({
      id,
      parents,
      creationDate: NOW - days * SECONDS_PER_DAY,
      tree: new Map(Object.entries(entries).map(([k, v]) => [k, `${ns}/${v}`])),
    });
    const repo: ModelRepo = {
      storageNamespace: ns,
      staged: new Map(),
      commits: new Map(
        [
          commit("a", [], 30, { p: "X" }),
          commit("b", ["a"], 20, { p: "X", q: "Y" }),
          commit("c", ["a"], 25, { p: "Z" }),
          commit("m", ["b", "c"], 10, { p: "X", q: "Y" }),
        ].map((c) => [c.id, c]),
      ),
    };
    const g = new CommitGraph();
    for (const c of repo.commits.values()) {
      g.add({ id: c.id, parents: c.parents, creation_date: c.creationDate });
    }
    const r = computeRetention(
      g,
      [{ kind: "branch", name: "main", commitId: "m", retentionDays: 7 }],
      NOW,
    );
    expect([...r.active]).toEqual(["m"]);
    expect([...r.expired].sort()).toEqual(["a", "b", "c"]);

    const items = planAddressCollection(g, r);
    const collect = (side: "active" | "expired") =>
      new Set(
        items
          .filter((i) => i.side === side)
          .flatMap((i) =>
            i.kind === "list"
              ? addressesOfListing(modelListing(repo, i.commit))
              : i.kind === "diff"
                ? pathsIntroduced(modelDiffEntries(repo, i.parent, i.commit)).map((p) =>
                    modelStat(repo, i.commit, p),
                  )
                : [],
          ),
      );
    // m is listed in full: a diff of m against b would yield nothing, losing X and Y.
    expect(items.filter((i) => i.side === "active")).toEqual([
      { side: "active", kind: "list", commit: "m" },
    ]);
    const active = collect("active");
    expect([...active].sort()).toEqual([`${ns}/X`, `${ns}/Y`]);
    expect([...collect("expired")].filter((a) => !active.has(a))).toEqual([`${ns}/Z`]);
  });

  it("lists the kept commits and diffs the expired ones at 100 000 commits", () => {
    const g = new CommitGraph();
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      g.add({
        id: `m${i}`,
        parents: i === 0 ? [] : [`m${i - 1}`],
        creation_date: NOW - (n - i) * 3600,
      });
    }
    const retention = computeRetention(
      g,
      [{ kind: "branch", name: "main", commitId: `m${n - 1}`, retentionDays: 10 }],
      NOW,
    );
    const counts = planCounts(planAddressCollection(g, retention, ["main"]));
    expect(counts).toEqual({
      // 10 days and 3 hours (the slack) of hourly commits (the oldest dated in the threshold's
      // second, which counts as inside the window) plus the first one before the window.
      active_list: 244,
      expired_list: 1,
      expired_diff: n - 245,
      active_staged: 1,
    });
  });
});
