// Property: the production pipeline (retention -> address plan -> partition -> mark) marks
// exactly what the brute-force model marks, and never an address an active commit or a
// staged entry references, on random commit graphs, dates, rules, staging and addresses.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planAddressCollection } from "../../lambdas/gc/domain/address-plan";
import { CommitGraph } from "../../lambdas/gc/domain/commit-graph";
import { addressesOfListing, pathsIntroduced } from "../../lambdas/gc/domain/item-addresses";
import { markPartition } from "../../lambdas/gc/domain/mark";
import { partitionOf } from "../../lambdas/gc/domain/partition";
import { computeRetention, startingPoints } from "../../lambdas/gc/domain/retention";
import { parseGcRules } from "../../lambdas/gc/domain/rules";
import { AddressShardBuffer } from "../../lambdas/gc/domain/shard-buffer";
import {
  decodeAddressShard,
  decodeCommitGraph,
  decodeWorkItems,
  encodeCommitGraph,
  encodeWorkItems,
} from "../../lambdas/gc/domain/shards";
import {
  type ModelCommit,
  type ModelRepo,
  modelDiffEntries,
  modelListing,
  modelMark,
  modelRetention,
  modelStat,
} from "./gc-model";

const NOW = 1_800_000_000;
const NAMESPACE = "s3://bkt/repo1";
const ZONES = {
  inside: `${NAMESPACE}/data/o`,
  outside: "s3://bkt/imported/o",
  sibling: "s3://bkt/repo1-old/o",
} as const;
type Zone = keyof typeof ZONES;

const arbZone = fc.constantFrom<Zone>("inside", "inside", "inside", "outside", "sibling");
const arbAddress = fc.record({ zone: arbZone, n: fc.integer({ min: 0, max: 400 }) });
const arbOp = fc.record({
  op: fc.constantFrom("put", "put", "delete", "reuse", "takeFromSecond"),
  path: fc.nat(10),
  address: arbAddress,
  pick: fc.nat(),
});
const arbCommit = fc.record({
  shape: fc.nat(9),
  mainPick: fc.nat(),
  secondPick: fc.nat(),
  /** Hours before its predecessor in the list; sometimes negative (dates need not be ordered). */
  gapHours: fc.integer({ min: -12, max: 72 }),
  ops: fc.array(arbOp, { minLength: 1, maxLength: 5 }),
});
const arbScenario = fc.record({
  commits: fc.array(arbCommit, { minLength: 2, maxLength: 30, size: "medium" }),
  heads: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
  tags: fc.array(fc.nat(), { maxLength: 2 }),
  defaultDays: fc.integer({ min: 0, max: 6 }),
  branchDays: fc.array(fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }), {
    minLength: 5,
    maxLength: 5,
  }),
  // A staged entry is a new address, or (reusePick) one a commit already references.
  staged: fc.array(
    fc.record({
      branch: fc.nat(),
      address: arbAddress,
      reusePick: fc.option(fc.nat(), { nil: undefined }),
    }),
    { maxLength: 6 },
  ),
  partitions: fc.integer({ min: 1, max: 6 }),
  /** Mark passes per partition (as when a partition outgrew its estimate). */
  passes: fc.integer({ min: 1, max: 3 }),
  namespaceInput: fc.constantFrom(NAMESPACE, `${NAMESPACE}/`),
});
type Scenario = typeof arbScenario extends fc.Arbitrary<infer T> ? T : never;

const addressOf = (a: { zone: Zone; n: number }) => `${ZONES[a.zone]}${a.n}`;

function buildRepo(s: Scenario): ModelRepo {
  const commits = new Map<string, ModelCommit>();
  const order: ModelCommit[] = [];
  const used: string[] = [];
  // The last commit is the youngest: ages accumulate the gaps from the end.
  const ageHours: number[] = [];
  for (let i = s.commits.length - 1, age = 0; i >= 0; i--) {
    ageHours[i] = Math.max(0, age);
    age += s.commits[i]!.gapHours;
  }
  s.commits.forEach((c, i) => {
    const parents: string[] = [];
    if (i > 0 && c.shape !== 0) {
      // Mostly a chain (the previous commit), sometimes a fork from further back.
      const back = c.mainPick % 4 === 0 ? c.mainPick % i : 0;
      parents.push(order[i - 1 - back]!.id);
      const second = order[c.secondPick % i]!.id;
      if (c.shape <= 3 && second !== parents[0]) parents.push(second);
    }
    const main = parents[0] === undefined ? undefined : commits.get(parents[0]);
    const secondTree = parents[1] === undefined ? undefined : commits.get(parents[1])!.tree;
    const tree = new Map(main?.tree ?? []);
    // A merge brings in the second parent's new paths.
    for (const [path, address] of secondTree ?? []) if (!tree.has(path)) tree.set(path, address);
    for (const op of c.ops) {
      const path = `p${op.path}`;
      if (op.op === "put") tree.set(path, addressOf(op.address));
      else if (op.op === "delete") tree.delete(path);
      else if (op.op === "reuse" && used.length > 0) tree.set(path, used[op.pick % used.length]!);
      else if (op.op === "takeFromSecond" && secondTree?.has(path)) {
        tree.set(path, secondTree.get(path)!);
      }
    }
    for (const a of tree.values()) used.push(a);
    const commit: ModelCommit = {
      id: `c${String(i).padStart(3, "0")}`,
      parents,
      creationDate: NOW - ageHours[i]! * 3600,
      tree,
    };
    commits.set(commit.id, commit);
    order.push(commit);
  });
  const staged = new Map<string, string[]>();
  for (const st of s.staged) {
    const branch = `b${st.branch % s.heads.length}`;
    const address =
      st.reusePick === undefined || used.length === 0
        ? addressOf(st.address)
        : used[st.reusePick % used.length]!;
    staged.set(branch, [...(staged.get(branch) ?? []), address]);
  }
  return { commits, storageNamespace: NAMESPACE, staged };
}

async function runPipeline(s: Scenario, repo: ModelRepo) {
  const ids = [...repo.commits.keys()];
  const graph = new CommitGraph();
  for (const c of repo.commits.values()) {
    graph.add({ id: c.id, parents: c.parents, creation_date: c.creationDate });
  }
  const rules = parseGcRules({
    default_retention_days: s.defaultDays,
    branches: s.branchDays.flatMap((d, i) =>
      d === undefined ? [] : [{ branch_id: `b${i}`, retention_days: d }],
    ),
  });
  // Picks count from the newest commit: heads usually have history behind them.
  const pick = (n: number) => ids[ids.length - 1 - (n % ids.length)]!;
  const branches = s.heads.map((h, i) => ({ id: `b${i}`, commit_id: pick(h) }));
  const tags = s.tags.map((t, i) => ({ id: `v${i}`, commit_id: pick(t) }));
  const points = startingPoints(rules, branches, tags);
  const retention = computeRetention(graph, points, NOW);

  // Through the work-bucket formats, as the workflow will pass them between steps.
  const items = decodeWorkItems(
    encodeWorkItems(
      planAddressCollection(
        decodeCommitGraph(encodeCommitGraph(graph)),
        retention,
        branches.map((b) => b.id),
      ),
    ),
  );
  const shards = new Map<number, { active: string[]; expired: string[] }>();
  for (const item of items) {
    // As the address step will: listings give addresses, diffs give paths to stat.
    const addresses =
      item.kind === "list"
        ? addressesOfListing(modelListing(repo, item.commit))
        : item.kind === "diff"
          ? pathsIntroduced(modelDiffEntries(repo, item.parent, item.commit)).map((path) =>
              modelStat(repo, item.commit, path),
            )
          : (repo.staged.get(item.branch) ?? []);
    const buffer = new AddressShardBuffer({
      storageNamespace: s.namespaceInput,
      partitions: s.partitions,
      side: item.side,
      maxBufferedKeys: 3,
    });
    for (const out of [...addresses.flatMap((a) => buffer.add([a])), ...buffer.finish()]) {
      const shard = shards.get(out.partition) ?? { active: [], expired: [] };
      shard[out.side].push(out.body);
      shards.set(out.partition, shard);
    }
  }
  const marked: string[] = [];
  for (let p = 0; p < s.partitions; p++) {
    const shard = shards.get(p) ?? { active: [], expired: [] };
    for (let pass = 0; pass < s.passes; pass++) {
      const only = { pass, passes: s.passes };
      const read = (texts: string[]) => texts.flatMap((t) => [...decodeAddressShard(t)]);
      for await (const key of markPartition(read(shard.active), read(shard.expired), only)) {
        expect(partitionOf(key, s.partitions)).toBe(p);
        marked.push(key);
      }
    }
  }
  const starts = points.map((p) => ({ commitId: p.commitId, retentionDays: p.retentionDays }));
  return { retention, items, marked, starts };
}

describe("GC pipeline against the brute-force model", () => {
  it("marks exactly the namespace addresses only expired commits reference", async () => {
    // How often the interesting cases came up, so the property cannot pass vacuously.
    const seen = { marked: 0, merges: 0, protectedByStaging: 0, expiredOnActiveBase: 0 };
    await fc.assert(
      fc.asyncProperty(arbScenario, async (s) => {
        const repo = buildRepo(s);
        const { retention, items, marked, starts } = await runPipeline(s, repo);

        const model = modelRetention(repo, starts, NOW);
        expect([...retention.active].sort()).toEqual([...model.active].sort());
        expect([...retention.expired].sort()).toEqual([...model.expired].sort());

        // Every active or expired commit is covered by exactly one item of its own side.
        const covered = items.flatMap((i) =>
          i.kind === "staged" ? [] : [`${i.side}:${i.commit}`],
        );
        expect(new Set(covered).size).toBe(covered.length);
        expect(covered.length).toBe(model.active.size + model.expired.size);

        // Never an address an active commit or a staged entry references.
        const inside = `${NAMESPACE}/`;
        const protectedKeys = new Set<string>();
        for (const id of model.active) {
          for (const a of repo.commits.get(id)!.tree.values()) protectedKeys.add(a);
        }
        for (const list of repo.staged.values()) for (const a of list) protectedKeys.add(a);
        for (const key of marked) expect(protectedKeys.has(inside + key)).toBe(false);

        // Each key once, and exactly the model's set.
        expect(new Set(marked).size).toBe(marked.length);
        expect(marked.sort()).toEqual([...modelMark(repo, model)].sort());

        if (marked.length > 0) seen.marked++;
        if ([...repo.commits.values()].some((c) => c.parents.length > 1)) seen.merges++;
        const withoutStaging = modelMark({ ...repo, staged: new Map() }, model);
        if (withoutStaging.size > marked.length) seen.protectedByStaging++;
        if (
          items.some((i) => i.kind === "diff" && i.side === "expired" && model.active.has(i.parent))
        ) {
          seen.expiredOnActiveBase++;
        }
      }),
      { numRuns: 300 },
    );
    expect(seen.marked).toBeGreaterThan(60);
    expect(seen.merges).toBeGreaterThan(60);
    expect(seen.protectedByStaging).toBeGreaterThan(2);
    expect(seen.expiredOnActiveBase).toBeGreaterThan(10);
  });
});
