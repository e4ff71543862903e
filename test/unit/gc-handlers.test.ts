// The GC steps with fakes at their ports: resumable address items, multi-pass mark, per-key
// delete errors reported through the summary, failure summaries.
import { describe, expect, it } from "vitest";
import { runAddressStep } from "../../lambdas/gc/app/addresses";
import { runCommitsStep } from "../../lambdas/gc/app/commits";
import { runMarkStep } from "../../lambdas/gc/app/mark";
import { describeFailure, runSummaryStep } from "../../lambdas/gc/app/summary";
import { runSweepStep } from "../../lambdas/gc/app/sweep";
import { gcWorkKeys } from "../../lambdas/gc/domain/paths";
import { decodeAddressShard } from "../../lambdas/gc/domain/shards";
import { encodeSweepSnapshot } from "../../lambdas/gc/domain/sweep-snapshot";
import type { GcLakeFs, GcStepDeps } from "../../lambdas/gc/ports";
import type { Commit, ObjectStats, Page, Ref } from "../../lambdas/shared/lakefs/types";
import { MemoryGcRecords, MemoryGcStore } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const NS = "s3://ns-bucket/repo1";
const WORK = "work-bucket";
const RUN = "20261123T010000000Z-abcdef0123";

class FakeRuns extends MemoryGcRecords {
  constructor() {
    super();
    this.leaseHolder = RUN;
  }
}

function object(path: string, address: string): ObjectStats {
  return { path, path_type: "object", physical_address: address, checksum: "x", mtime: 0 };
}

function deps(store: MemoryGcStore, lakefs: Partial<GcLakeFs> = {}, runs = new FakeRuns()) {
  const d: GcStepDeps = {
    s3: store,
    lakefs: lakefs as GcLakeFs,
    runs,
    lease: runs,
    workBucket: WORK,
    now: () => new Date("2026-11-23T02:00:00Z"),
  };
  return d;
}

const input = {
  repository: "repo1",
  runId: RUN,
  markId: "m1",
  doMark: true,
  doSweep: true,
  storageNamespace: NS,
  rules: { default_retention_days: 1, branches: [] },
  now: 1_795_000_000,
  markRunId: RUN,
  markNow: 1_795_000_000,
  markRules: { default_retention_days: 1, branches: [] },
};

describe("address step", () => {
  it("resumes a listing with `after` when time runs out, without losing or adding addresses", async () => {
    const all = [
      object("a", `${NS}/data/a`),
      object("b", `${NS}/data/b`),
      object("c", "s3://elsewhere/c"), // outside the namespace: dropped
      object("d", `${NS}/data/d`),
      object("e", `${NS}-old/e`), // sibling prefix: outside too
    ];
    const calls: (string | undefined)[] = [];
    const lakefs: Partial<GcLakeFs> = {
      async listObjectsPage(_repo, _ref, opts = {}) {
        calls.push(opts.after);
        const start = opts.after ? all.findIndex((o) => o.path === opts.after) + 1 : 0;
        const results = all.slice(start, start + 2);
        const has_more = start + 2 < all.length;
        return {
          results,
          pagination: {
            has_more,
            next_offset: results.at(-1)!.path,
            results: results.length,
            max_per_page: 2,
          },
        } satisfies Page<ObjectStats>;
      },
    };
    const store = new MemoryGcStore();
    const batch = { repository: "repo1", runId: RUN, storageNamespace: NS, partitions: 3 };
    const first = await runAddressStep(
      deps(store, lakefs),
      { Items: [{ side: "expired", kind: "list", commit: "c1" }], BatchInput: batch },
      { pageSize: 2, outOfTime: () => true },
    );
    expect(first.done).toBe(false);
    expect(first.items).toEqual([{ side: "expired", kind: "list", commit: "c1", after: "b" }]);
    let result = first;
    while (!result.done) {
      result = await runAddressStep(deps(store, lakefs), result, {
        pageSize: 2,
        outOfTime: () => true,
      });
    }
    expect(calls).toEqual([undefined, "b", "d"]);
    const work = gcWorkKeys("repo1", RUN);
    const keys: string[] = [];
    for (const k of store.keysUnder(`${WORK}/${work.root}addresses/`)) {
      expect(k).toContain("/expired/");
      keys.push(...decodeAddressShard(store.text(k)!));
    }
    expect(keys.sort()).toEqual(["data/a", "data/b", "data/d"]);
  });

  it("refuses a malformed work item, naming it", async () => {
    await expect(
      runAddressStep(deps(new MemoryGcStore()), {
        Items: [{ side: "expired", kind: "list" }],
        BatchInput: { repository: "repo1", runId: RUN, storageNamespace: NS, partitions: 1 },
      }),
    ).rejects.toThrow(/item 0/);
  });
});

describe("mark step", () => {
  async function markWith(keysPerPass: number) {
    const store = new MemoryGcStore();
    const work = gcWorkKeys("repo1", RUN);
    const put = (side: "active" | "expired", name: string, keys: string[]) =>
      store.put(
        WORK,
        work.addressShard(0, side, name),
        keys.map((k) => JSON.stringify(k)).join("\n"),
      );
    const expired = Array.from({ length: 50 }, (_, i) => `data/x${i}`);
    const active = expired.filter((_, i) => i % 3 === 0);
    await put("active", "a1", active);
    await put("expired", "e1", expired.slice(0, 30));
    await put("expired", "e2", [...expired.slice(20), "data/x1"]); // overlaps: marked once
    const out = await runMarkStep(
      deps(store),
      {
        Items: [{ partition: 0 }],
        BatchInput: {
          repository: "repo1",
          runId: RUN,
          markId: "m1",
          storageNamespace: NS,
          now: input.now,
        },
      },
      { keysPerPass },
    );
    const text = store.text(
      `ns-bucket/repo1/_lakefs/retention/gc/addresses.text/mark_id=m1/part-00000.txt`,
    );
    const counts = JSON.parse(store.text(`${WORK}/${work.markCounts(0)}`)!);
    return { out, text, counts, expected: expired.filter((_, i) => i % 3 !== 0).sort() };
  }

  it("marks expired minus protected once each, in one pass or several", async () => {
    const one = await markWith(2_000_000);
    expect(one.text!.split("\n").filter(Boolean)).toEqual(one.expected);
    expect(one.out.marked).toBe(one.expected.length);
    expect(one.counts).toMatchObject({ passes: 1, marked_addresses: one.expected.length });
    const many = await markWith(5);
    expect(many.counts.passes).toBeGreaterThan(1);
    // Each pass's keys are sorted; the set is the same.
    expect(many.text!.split("\n").filter(Boolean).sort()).toEqual(one.expected);
  });
});

describe("mark step reading many shards", () => {
  /** A store whose shard reads take a while, counting how many run at once. */
  class SlowShardStore extends MemoryGcStore {
    inFlight = 0;
    maxInFlight = 0;
    /** A shard listed by the step that is gone when read. */
    vanished = "";
    override async getText(bucket: string, key: string) {
      if (key === this.vanished) return undefined;
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      await new Promise((r) => setTimeout(r, 2));
      this.inFlight--;
      return super.getText(bucket, key);
    }
  }
  const ctx = {
    repository: "repo1",
    runId: RUN,
    markId: "m2",
    storageNamespace: NS,
    now: input.now,
  };

  async function storeWithShards(shards: number) {
    const store = new SlowShardStore();
    const work = gcWorkKeys("repo1", RUN);
    const keys = (i: number) => [`data/s${i}a`, `data/s${i}b`, `data/shared`];
    await store.put(WORK, work.addressShard(0, "active", "a"), JSON.stringify("data/s0a"));
    for (let i = 0; i < shards; i++) {
      await store.put(
        WORK,
        work.addressShard(0, "expired", `e${String(i).padStart(4, "0")}`),
        keys(i)
          .map((k) => JSON.stringify(k))
          .join("\n"),
      );
    }
    const expected = [
      ...Array.from({ length: shards }, (_, i) => keys(i).slice(0, 2)).flat(),
      "data/shared",
    ]
      .filter((k) => k !== "data/s0a")
      .sort();
    return { store, work, expected };
  }

  it("reads shards ahead, a bounded few at a time, and marks the same set", async () => {
    const { store, expected } = await storeWithShards(60);
    const out = await runMarkStep(deps(store), { Items: [{ partition: 0 }], BatchInput: ctx });
    const text = store.text(
      `ns-bucket/repo1/_lakefs/retention/gc/addresses.text/mark_id=m2/part-00000.txt`,
    );
    expect(text!.split("\n").filter(Boolean)).toEqual(expected);
    expect(out.marked).toBe(expected.length);
    expect(store.maxInFlight).toBeGreaterThan(1);
    expect(store.maxInFlight).toBeLessThanOrEqual(8);
  });

  it("fails, writing no address list, when a shard read ahead has disappeared", async () => {
    const { store, work } = await storeWithShards(20);
    store.vanished = work.addressShard(0, "expired", "e0005");
    await expect(
      runMarkStep(deps(store), { Items: [{ partition: 0 }], BatchInput: ctx }),
    ).rejects.toThrow(/e0005.*disappeared/);
    expect(
      store.text(`ns-bucket/repo1/_lakefs/retention/gc/addresses.text/mark_id=m2/part-00000.txt`),
    ).toBeUndefined();
  });
});

describe("sweep and summary", () => {
  it("reports keys that could not be deleted and fails the run, keeping the rest deleted", async () => {
    const store = new MemoryGcStore();
    for (const k of ["data/a", "data/b", "data/c"]) await store.put("ns-bucket", `repo1/${k}`, k);
    await store.put(
      "ns-bucket",
      "repo1/_lakefs/retention/gc/addresses.text/mark_id=m1/part-00002.txt",
      "data/a\ndata/b\ndata/c\ndata/gone\n",
    );
    store.failDelete.set("repo1/data/b", "AccessDenied");
    const runs = new FakeRuns();
    const d = deps(store, new MemoryLakeFs(), runs);
    // Revalidation's snapshot: an empty repository, nothing referenced again.
    await store.put(
      WORK,
      gcWorkKeys("repo1", RUN).revalidationSnapshot,
      encodeSweepSnapshot({
        refs: { branches: [], tags: [] },
        covered: [],
        partitions: 3,
        markNow: input.now,
        rules: input.rules,
        checkedAt: "2026-11-23T01:00:00.000Z",
      }),
    );
    const items = [
      { key: "repo1/_lakefs/retention/gc/addresses.text/mark_id=m1/part-00002.txt", part: 2 },
    ];
    const out = await runSweepStep(d, {
      Items: items,
      BatchInput: { repository: "repo1", runId: RUN, storageNamespace: NS, now: input.now },
    });
    // data/gone was already deleted (an earlier, interrupted sweep): counted as deleted.
    expect(out).toEqual({ deleted: 3, failed: 1, spared: 0 });
    expect(store.objects.has("ns-bucket/repo1/data/a")).toBe(false);
    expect(store.objects.has("ns-bucket/repo1/data/b")).toBe(true);
    expect(store.keysUnder("ns-bucket/repo1/_lakefs/logs/gc/deleted_objects/dt=")).toHaveLength(1);

    const summary = await runSummaryStep(d, { ...input, doMark: false });
    expect(summary.success).toBe(false);
    expect(summary.errorMessage).toContain("data/b (AccessDenied)");
    expect(runs.completed[0]!.end).toMatchObject({
      status: "failed",
      counts: { deletedObjects: 3, failedDeletes: 1 },
    });
    const written = JSON.parse(
      store.text(`ns-bucket/repo1/_lakefs/retention/gc/summary/run_id=${RUN}.json`)!,
    );
    expect(written).toMatchObject({ mode: "sweep-only", success: false });
  });

  it("a failure caught by the state machine ends the run failed with the Lambda's message", async () => {
    const runs = new FakeRuns();
    const cause = JSON.stringify({ errorType: "LakeFsNotFoundError", errorMessage: "no commit x" });
    const out = await runSummaryStep(deps(new MemoryGcStore(), {}, runs), {
      ...input,
      error: { Error: "LakeFsNotFoundError", Cause: cause },
    });
    expect(out.success).toBe(false);
    expect(out.errorMessage).toBe("LakeFsNotFoundError: no commit x");
    expect(runs.completed[0]!.end.status).toBe("failed");
    expect(describeFailure({ Error: "States.Timeout" })).toBe("States.Timeout");
  });
});

describe("commits step", () => {
  // main: c1 <- c2 <- c3 (head); dev forked at c2: c2 <- d1 (head). One page per commit.
  const day = 86_400;
  const now = 1_795_000_000;
  const graph: Record<string, { parents: string[]; age: number }> = {
    c1: { parents: [], age: 30 },
    c2: { parents: ["c1"], age: 20 },
    c3: { parents: ["c2"], age: 1 },
    d1: { parents: ["c2"], age: 10 },
  };
  const commitOf = (id: string): Commit => ({
    id,
    parents: graph[id]!.parents,
    committer: "t",
    message: id,
    creation_date: now - graph[id]!.age * day,
    meta_range_id: "",
  });
  const pageOf = <T>(results: T[], has_more: boolean): Page<T> => ({
    results,
    pagination: { has_more, next_offset: "x", results: results.length, max_per_page: 1 },
  });

  it("walks each log only until the history is known, writes commits.csv and the work items", async () => {
    const logPages: string[] = [];
    const lakefs: Partial<GcLakeFs> = {
      async *listBranches() {
        yield pageOf<Ref>(
          [
            { id: "main", commit_id: "c3" },
            { id: "dev", commit_id: "d1" },
          ],
          false,
        );
      },
      async *listTags() {
        yield pageOf<Ref>([], false);
      },
      async *logCommits(_repo, ref) {
        // A log lists the whole ancestry, newest first, one commit a page.
        const order = ref === "c3" ? ["c3", "c2", "c1"] : ["d1", "c2", "c1"];
        for (let i = 0; i < order.length; i++) {
          logPages.push(`${ref}:${order[i]}`);
          yield pageOf([commitOf(order[i]!)], i < order.length - 1);
        }
      },
    };
    const store = new MemoryGcStore();
    const out = await runCommitsStep(
      deps(store, lakefs),
      {
        ...input,
        now,
        rules: { default_retention_days: 7, branches: [{ branch_id: "dev", retention_days: 1 }] },
      },
      { addressesPerPartition: 1_000_000 },
    );
    // dev's log stops after d1: its parent c2 (and so c1) came with main's walk.
    expect(logPages).toEqual(["c3:c3", "c3:c2", "c3:c1", "d1:d1"]);
    const csv = store.text(
      `ns-bucket/repo1/_lakefs/retention/gc/commits/run_id=${RUN}/commits.csv`,
    );
    // main (7 days): c3, and c2 (first before the window). dev (1 day): d1. c1 expired.
    expect(csv).toBe("commit_id,expired\nc1,true\nc2,false\nc3,false\nd1,false\n");
    const items = store
      .text(`${WORK}/${out.itemsKey}`)!
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(items).toEqual([
      { side: "active", kind: "list", commit: "c2" },
      { side: "active", kind: "list", commit: "d1" },
      { side: "active", kind: "list", commit: "c3" },
      { side: "expired", kind: "list", commit: "c1" },
      { side: "active", kind: "staged", branch: "dev", whole: true },
      { side: "active", kind: "staged", branch: "main", whole: true },
    ]);
    // Every listing counts whole (four trees and two branches of up to ~1M each: a mark
    // partition reads every key written to it), 1M per partition.
    expect(out.partitions).toBe(6);
    expect(store.text(`${WORK}/${out.partitionsKey}`)!.split("\n").filter(Boolean)).toHaveLength(6);
  });
});
