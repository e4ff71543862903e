// lakeFS's diff compares entries by identity (size, ETag, user metadata, content type), not by
// physical address (pkg/catalog/entry.go EntryToValue; committed/diff.go skips equal
// identities; the uncommitted diff likewise). Its merge writes the SOURCE value when both
// sides hold the same identity (committed/merge.go handleBothKeys), and a revert is a merge:
// a commit can hold at a path an address its parent does not, with no diff reporting it.
// GC must still protect it. The fake is MemoryLakeFs with lakeFS's identity rule in its diffs
// (each address has an ETag, its content's); everything else is the product's pipeline.
import { describe, expect, it } from "vitest";
import type { GcStepDeps } from "../../lambdas/gc/ports";
import { markAndSweepInMemory, runGcPipeline } from "../support/gc-pipeline";
import { type MemoryGcRecords, type MemoryGcStore, memoryGcWorld } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";
const RULES = { default_retention_days: 3, branches: [] };

/** MemoryLakeFs whose diffs compare entries as lakeFS does: by identity (ETag), not address. */
class IdentityLakeFs extends MemoryLakeFs {
  /** physical address -> ETag of its content */
  readonly etag = new Map<string, string>();

  protected override sameEntry(a: string, b: string): boolean {
    return this.etag.get(a) === this.etag.get(b);
  }
}

interface World {
  lakefs: IdentityLakeFs;
  store: MemoryGcStore;
  records: MemoryGcRecords;
  deps: GcStepDeps;
}

let seq = 0;
function world(): World {
  return memoryGcWorld(new IdentityLakeFs(() => NOW), NOW * 1000 + 3_600_000);
}

/** Uploads `content` (a new physical address; its ETag is the content's). */
function upload(w: World, content: string): string {
  const address = `${NS}/data/obj-${seq++}`;
  w.lakefs.etag.set(address, `etag-of-${content}`);
  w.store.objects.set(address.replace("s3://", ""), new TextEncoder().encode(content));
  return address;
}

const exists = (w: World, address: string) => w.store.objects.has(address.replace("s3://", ""));

async function markAndSweep(w: World) {
  const out = await markAndSweepInMemory(w.deps, w.records, {
    runId: `20270101T000000000Z-ms${seq++}`,
    storageNamespace: NS,
    rules: RULES,
    now: NOW,
  });
  expect(out.success).toBe(true);
  return out;
}

describe("GC with lakeFS diffs that compare identity (ETag), not physical address", () => {
  it("keeps the object a merged-and-deleted branch brought into main's head", async () => {
    // All commits are one hour old, retention 3 days: nothing is old.
    const w = world();
    const t = NOW - 3600;
    const c0 = w.lakefs.addCommit([], new Map([["keep", upload(w, "k")]]), t - 30);
    w.lakefs.createBranch("main", c0);
    // feature (from c0) adds p = "hello" (address Y) and commits s.
    w.lakefs.createBranch("feature", c0);
    const Y = upload(w, "hello");
    w.lakefs.stage("feature", "p", Y);
    const s = w.lakefs.commit("feature", t - 20);
    // main adds the same content at p (address X, same ETag) and commits d.
    const X = upload(w, "hello");
    w.lakefs.stage("main", "p", X);
    const d = w.lakefs.commit("main", t - 10);
    // lakeFS merge feature -> main: both added the same record -> the source's value (Y).
    const e = w.lakefs.addCommit([d, s], new Map([...w.lakefs.treeOf(d), ["p", Y]]), t);
    w.lakefs.hardReset("main", e);
    // The usual end of a feature branch.
    w.lakefs.deleteBranch("feature");

    expect(w.lakefs.treeOf("main").get("p")).toBe(Y); // what `main` serves at p
    // lakeFS's GC would mark nothing: e, d and c0 are active, and A(e) holds Y.
    await markAndSweep(w);
    expect(exists(w, Y), "main's head references Y; GC must not delete it").toBe(true);
  });

  it("keeps the object a merge brought into a kept commit that is no longer the head", async () => {
    const w = world();
    const t = NOW - 3600;
    const c0 = w.lakefs.addCommit([], new Map([["keep", upload(w, "k")]]), NOW - 12 * DAY);
    w.lakefs.createBranch("main", c0);
    w.lakefs.createBranch("feature", c0);
    const Y = upload(w, "hello");
    w.lakefs.stage("feature", "p", Y);
    // Older than the retention: once the branch is deleted, s (its tip) is expired.
    const s = w.lakefs.commit("feature", NOW - 10 * DAY);
    w.lakefs.stage("main", "p", upload(w, "hello"));
    const d = w.lakefs.commit("main", t - 10);
    const e = w.lakefs.addCommit([d, s], new Map([...w.lakefs.treeOf(d), ["p", Y]]), t);
    w.lakefs.hardReset("main", e);
    w.lakefs.deleteBranch("feature");
    // main moves on: p is rewritten, so only e (kept: an hour old) still references Y.
    w.lakefs.stage("main", "p", upload(w, "bye"));
    w.lakefs.commit("main", t + 10);

    expect(w.lakefs.treeOf(e).get("p")).toBe(Y);
    await markAndSweep(w);
    expect(exists(w, Y), "the kept commit e references Y; GC must not delete it").toBe(true);
  });

  it("keeps the object a revert brought back at the branch head", async () => {
    const w = world();
    const X = upload(w, "v1");
    const c0 = w.lakefs.addCommit([], new Map([["p", X]]), NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    w.lakefs.stage("main", "p", upload(w, "v2"));
    const c1 = w.lakefs.commit("main", NOW - 15 * DAY);
    // v1 uploaded again (new address, same ETag) 10 days ago.
    const Y = upload(w, "v1");
    w.lakefs.stage("main", "p", Y);
    const c2 = w.lakefs.commit("main", NOW - 10 * DAY);
    // Today: revert c1 on main. lakeFS: merge(dest=c2, source=c0, base=c1); at p source and
    // dest have the same identity -> "both added the same record" -> the source's value X.
    const r = w.lakefs.addCommit([c2], new Map([["p", X]]), NOW - 60);
    w.lakefs.hardReset("main", r);
    void c1;

    expect(w.lakefs.treeOf("main").get("p")).toBe(X);
    // lakeFS's GC: active r, c2 (r is recent); expired c1, c0; A(r) holds X -> X kept.
    await markAndSweep(w);
    expect(exists(w, X), "main's head references X; GC must not delete it").toBe(true);
  });

  it("keeps an uncommitted entry linking an old address with the committed entry's ETag", async () => {
    const w = world();
    const X = upload(w, "v1");
    const c0 = w.lakefs.addCommit([], new Map([["p", X]]), NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    w.lakefs.stage("main", "p", upload(w, "v2"));
    w.lakefs.commit("main", NOW - 15 * DAY);
    w.lakefs.stage("main", "p", upload(w, "v1"));
    w.lakefs.commit("main", NOW - 10 * DAY);
    // The user links the old version's address at p (lakeFS stageObject/link): uncommitted,
    // and what reading p on main returns.
    w.lakefs.stage("main", "p", X);
    expect((await w.lakefs.statObject("r1", "main", "p")).physical_address).toBe(X);
    await markAndSweep(w);
    expect(exists(w, X), "staged on main; GC must not delete it").toBe(true);
  });

  it("keeps an object a revert brings back while the revalidation map lists", async () => {
    // The revert of the test above, made after revalidation read the refs and before the
    // first delete: its diff against main's previous head shows nothing at p (same ETag).
    const w = world();
    const X = upload(w, "v1");
    const c0 = w.lakefs.addCommit([], new Map([["p", X]]), NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    w.lakefs.stage("main", "p", upload(w, "v2"));
    w.lakefs.commit("main", NOW - 15 * DAY);
    w.lakefs.stage("main", "p", upload(w, "v1"));
    const c2 = w.lakefs.commit("main", NOW - 10 * DAY);
    const runId = `20270101T000000000Z-window${seq++}`;
    const out = await markAndSweepInMemory(
      w.deps,
      w.records,
      { runId, storageNamespace: NS, rules: RULES, now: NOW },
      {
        afterRevalidationMap: () => {
          const r = w.lakefs.addCommit([c2], new Map([["p", X]]), NOW - 60);
          w.lakefs.hardReset("main", r);
        },
      },
    );
    expect(out.success).toBe(true);
    expect(out.counts.marked_addresses).toBe(2);
    expect(exists(w, X), "main's head references X; GC must not delete it").toBe(true);
  });

  it("stops the sweep when a branch is reset to an expired commit during the deletes, and the next sweep keeps its objects", async () => {
    // An identical rewrite (v1 uploaded again: new address, same ETag) made c0 expired with X
    // marked. During the deletes, main is reset to c0 ("back to how it was"): the diff from
    // the covered head shows nothing at p, yet main now serves X.
    const w = world();
    const X = upload(w, "v1");
    const c0 = w.lakefs.addCommit([], new Map([["p", X]]), NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    w.lakefs.stage("main", "p", upload(w, "v1"));
    w.lakefs.commit("main", NOW - 10 * DAY);
    const again = await expectStopThenKept(
      w,
      X,
      () => w.lakefs.hardReset("main", c0),
      () => `commit ${c0} became active again during the sweep`,
    );
    expect(again.counts).toMatchObject({ deleted_objects: 0 });
  });

  it("stops the sweep when an expired commit is merged during the deletes, and the next sweep keeps its objects", async () => {
    // An identical rewrite made c0 expired with X marked. During the deletes, c0 is merged into
    // main by its id (lakeFS merges a commit id as any ref): where both sides hold the same
    // identity the merge takes the merged side's entry, so main's new head holds X at p, and
    // its diff from the covered first parent shows nothing there.
    const w = world();
    const X = upload(w, "v1");
    const c0 = w.lakefs.addCommit([], new Map([["p", X]]), NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    w.lakefs.stage("main", "p", upload(w, "v1"));
    const c1 = w.lakefs.commit("main", NOW - 10 * DAY);
    const again = await expectStopThenKept(
      w,
      X,
      () => w.lakefs.hardReset("main", w.lakefs.addCommit([c1, c0], new Map([["p", X]]), NOW - 60)),
      () => `commit ${c0} became active again during the sweep`,
    );
    expect(again.counts).toMatchObject({ deleted_objects: 0 });
  });

  it("stops the sweep when an expired commit is squash-merged during the deletes, and the next sweep keeps its objects", async () => {
    // As above, with lakeFS's squash_merge: the merge commit keeps only main's head as parent,
    // so no second parent leads to c0; lakeFS's merge-strategy metadata says it is a merge.
    const w = world();
    const X = upload(w, "v1");
    const c0 = w.lakefs.addCommit([], new Map([["p", X]]), NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    w.lakefs.stage("main", "p", upload(w, "v1"));
    const c1 = w.lakefs.commit("main", NOW - 10 * DAY);
    const again = await expectStopThenKept(
      w,
      X,
      () => {
        const merge = w.lakefs.addCommit([c1], new Map([["p", X]]), NOW - 60, undefined, {
          message: `Merge '${c0}' into 'main'`,
          metadata: { ".lakefs.merge.strategy": "default" },
        });
        w.lakefs.hardReset("main", merge);
        return merge;
      },
      (merge) => `commit ${merge} (a squash merge of ${c0}) was made during the sweep`,
    );
    expect(again.counts).toMatchObject({ deleted_objects: 0 });
  });

  it("stops the sweep when a revert made during the deletes brings back an expired commit's entry, and the next sweep keeps it", async () => {
    // c1 replaced v1 (X) at p, c2 wrote v1 again (Y: new address, same ETag), so c0 and c1
    // expired with X marked. During the deletes c1 is reverted: lakeFS merges c0 into main with
    // c1 as the base, both sides hold v1 at p, the merge takes c0's X, and the revert's diff
    // from c2 shows nothing at p: only its message says where its entries came from.
    const w = world();
    const X = upload(w, "v1");
    const c0 = w.lakefs.addCommit([], new Map([["p", X]]), NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    w.lakefs.stage("main", "p", upload(w, "v2"));
    const c1 = w.lakefs.commit("main", NOW - 15 * DAY);
    w.lakefs.stage("main", "p", upload(w, "v1"));
    w.lakefs.commit("main", NOW - 10 * DAY);
    await expectStopThenKept(
      w,
      X,
      () => w.lakefs.revert("main", c1, NOW - 60),
      (revert) => `commit ${revert} (a revert of ${c1}) was made during the sweep`,
    );
  });

  it("stops the sweep when a revert made during the deletes is left expired under a backdated commit that holds its entries", async () => {
    // As above, but a commit dated 30 days back (lakeFS's commit `date`) is made on the revert:
    // the new head is active, the revert (its parent) is not, and the head's diff from c2 shows
    // nothing at p, yet the head holds the revert's X.
    const w = world();
    const X = upload(w, "v1");
    const c0 = w.lakefs.addCommit([], new Map([["p", X]]), NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    w.lakefs.stage("main", "p", upload(w, "v2"));
    const c1 = w.lakefs.commit("main", NOW - 15 * DAY);
    w.lakefs.stage("main", "p", upload(w, "v1"));
    w.lakefs.commit("main", NOW - 10 * DAY);
    await expectStopThenKept(
      w,
      X,
      () => {
        const revert = w.lakefs.revert("main", c1, NOW - 60);
        w.lakefs.stage("main", "q", upload(w, "other"));
        w.lakefs.commit("main", NOW - 30 * DAY);
        return revert;
      },
      (revert) => `commit ${revert} (a revert of ${c1}) was made during the sweep`,
    );
  });

  it("stops the sweep when a cherry-pick made during the deletes brings back an expired commit's entry, and the next sweep keeps it", async () => {
    // c1 wrote v1 (X) at p over v2; c2 wrote v2 again, c3 v1 again (Y), so c0 to c2 expired
    // with X marked. During the deletes c1 is cherry-picked onto main: lakeFS merges c1 with
    // c0 as the base; both sides hold v1 at p, so the merge takes c1's X, which no diff shows.
    const w = world();
    const c0 = w.lakefs.addCommit([], new Map([["p", upload(w, "v2")]]), NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    const X = upload(w, "v1");
    w.lakefs.stage("main", "p", X);
    const c1 = w.lakefs.commit("main", NOW - 15 * DAY);
    w.lakefs.stage("main", "p", upload(w, "v2"));
    w.lakefs.commit("main", NOW - 12 * DAY);
    w.lakefs.stage("main", "p", upload(w, "v1"));
    w.lakefs.commit("main", NOW - 10 * DAY);
    await expectStopThenKept(
      w,
      X,
      () => w.lakefs.cherryPick("main", c1, NOW - 60),
      (pick) => `commit ${pick} (a cherry-pick of ${c1}) was made during the sweep`,
    );
  });

  it("goes on deleting when a revert or cherry-pick made during the deletes takes entries of kept commits only", async () => {
    // c0's G is garbage (rewritten 10 days ago); c1 and c2 are inside the retention. Reverting c2
    // takes c1's entries and cherry-picking c1 takes c1's: both kept, nothing marked is brought
    // back, so the sweep must not stop.
    const w = world();
    const G = upload(w, "old");
    const c0 = w.lakefs.addCommit([], new Map([["p", G]]), NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    w.lakefs.stage("main", "p", upload(w, "v0"));
    w.lakefs.commit("main", NOW - 10 * DAY);
    w.lakefs.stage("main", "p", upload(w, "v1"));
    const c1 = w.lakefs.commit("main", NOW - 2 * DAY);
    w.lakefs.stage("main", "p", upload(w, "v2"));
    const c2 = w.lakefs.commit("main", NOW - DAY);
    w.lakefs.createBranch("other", c2);
    const out = await markAndSweepInMemory(
      w.deps,
      w.records,
      { runId: `20270101T000000000Z-kept${seq++}`, storageNamespace: NS, rules: RULES, now: NOW },
      {
        beforeSweepMap: () => {
          w.lakefs.revert("main", c2, NOW - 60);
          w.lakefs.cherryPick("other", c1, NOW - 60);
        },
      },
    );
    expect(out.success, out.errorMessage).toBe(true);
    expect(out.counts).toMatchObject({ deleted_objects: 1 });
    expect(exists(w, G)).toBe(false);
  });

  it("stops the sweep when a revert made during the deletes names its commit by a branch (which may have moved since)", async () => {
    const w = world();
    // As above: c1 and its parent are kept, but the sweep cannot tell which commit "main" named.
    const c0 = w.lakefs.addCommit([], new Map([["p", upload(w, "old")]]), NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    w.lakefs.stage("main", "p", upload(w, "v0"));
    w.lakefs.commit("main", NOW - 10 * DAY);
    w.lakefs.stage("main", "p", upload(w, "v1"));
    const c1 = w.lakefs.commit("main", NOW - DAY);
    const out = await markAndSweepInMemory(
      w.deps,
      w.records,
      { runId: `20270101T000000000Z-named${seq++}`, storageNamespace: NS, rules: RULES, now: NOW },
      { beforeSweepMap: () => void w.lakefs.revert("main", c1, NOW - 60, "Revert main") },
    );
    expect(out.success).toBe(false);
    expect(out.errorMessage).toContain("(a revert of main) was made during the sweep");
    expect(w.store.deleted).toEqual([]);
  });

  it("stops the sweep when a revert made during the deletes names a branch whose name is also a kept commit's id prefix", async () => {
    // lakeFS resolves a ref as a full commit id, then a branch, then a tag, and only then as an
    // id prefix: "Revert cafe01" reverted the branch cafe01's head c1, taking c0's X (p was
    // rewritten with the same bytes in c2), not the kept commit whose id starts with cafe01.
    const w = world();
    const X = upload(w, "v1");
    const c0 = w.lakefs.addCommit([], new Map([["p", X]]), NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    w.lakefs.stage("main", "p", upload(w, "v2"));
    const c1 = w.lakefs.commit("main", NOW - 15 * DAY);
    w.lakefs.createBranch("cafe01", c1);
    const tree = new Map([["p", upload(w, "v1")]]);
    const c2 = w.lakefs.addCommit([c1], tree, NOW - 10 * DAY, "cafe01".padEnd(64, "7"));
    w.lakefs.hardReset("main", c2);
    const stopped = await markAndSweepInMemory(
      w.deps,
      w.records,
      {
        runId: `20270101T000000000Z-hexname${seq++}`,
        storageNamespace: NS,
        rules: RULES,
        now: NOW,
      },
      { beforeSweepMap: () => void w.lakefs.revert("main", c1, NOW - 60, "Revert cafe01") },
    );
    expect(w.lakefs.treeOf("main").get("p")).toBe(X);
    expect(exists(w, X), "main's head references X; GC must not delete it").toBe(true);
    expect(stopped.success).toBe(false);
    expect(stopped.errorMessage).toContain("(a revert of cafe01) was made during the sweep");
  });

  it("stops the sweep when a branch is re-created during the deletes on a commit no ref reached, forked from an expired one", async () => {
    // feature forked from c0, committed o and was deleted (not merged) before the mark: o is
    // reached by no ref, so neither the mark nor revalidation sees it. main then rewrote p
    // with the same bytes (new address, same ETag), so c0 expired with X marked; o still holds
    // X at p. During the deletes the branch is created again on o (lakeFS takes a commit id as
    // the source): the diff from main's covered head shows nothing at p, yet feature serves X.
    const w = world();
    const X = upload(w, "v1");
    const c0 = w.lakefs.addCommit([], new Map([["p", X]]), NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    w.lakefs.createBranch("feature", c0);
    w.lakefs.stage("feature", "q", upload(w, "extra"));
    const o = w.lakefs.commit("feature", NOW - 19 * DAY);
    w.lakefs.deleteBranch("feature");
    w.lakefs.stage("main", "p", upload(w, "v1"));
    w.lakefs.commit("main", NOW - 10 * DAY);
    const runId = `20270101T000000000Z-orphan${seq++}`;
    const stopped = await markAndSweepInMemory(
      w.deps,
      w.records,
      { runId, storageNamespace: NS, rules: RULES, now: NOW },
      {
        beforeSweepMap: () => {
          w.lakefs.createBranch("feature", o);
        },
      },
    );
    expect(w.lakefs.treeOf("feature").get("p")).toBe(X);
    expect(exists(w, X), "feature's head references X; GC must not delete it").toBe(true);
    expect(stopped.success).toBe(false);
    expect(stopped.errorMessage).toContain(`commit ${o} became active again during the sweep`);
    // The same mark swept again: revalidation lists o, X is spared.
    const again = await sweepAgain(w, runId);
    expect(again.success).toBe(true);
    expect(again.counts).toMatchObject({ deleted_objects: 0, spared_by_revalidation: 1 });
    expect(exists(w, X)).toBe(true);
  });
});

/** A sweep-only run of the mark `markRunId` made. */
async function sweepAgain(w: World, markRunId: string) {
  const runId = `20270101T010000000Z-again${seq++}`;
  const record = {
    repository: "r1",
    runId,
    mode: "sweep-only" as const,
    markId: markRunId,
    status: "running" as const,
    counts: {},
    startedAt: new Date(NOW * 1000).toISOString(),
  };
  expect(w.records.startSweeping(record, NOW)).toBeUndefined();
  return runGcPipeline(w.deps, {
    repository: "r1",
    runId,
    markId: markRunId,
    doMark: false,
    doSweep: true,
    storageNamespace: NS,
    rules: RULES,
    now: NOW,
    markRunId,
    markNow: NOW,
    markRules: RULES,
  });
}

/**
 * Marks and sweeps while `during` changes the repository right before the deletes: main's head
 * holds X at p, the sweep must stop saying `message(what during returned)` and keep X, and the
 * same mark swept again keeps X as well (its revalidation lists what came back).
 */
async function expectStopThenKept(
  w: World,
  X: string,
  during: () => unknown,
  message: (made: string) => string,
) {
  const runId = `20270101T000000000Z-during${seq++}`;
  let made = "";
  const stopped = await markAndSweepInMemory(
    w.deps,
    w.records,
    { runId, storageNamespace: NS, rules: RULES, now: NOW },
    {
      beforeSweepMap: () => {
        const result = during();
        made = typeof result === "string" ? result : "";
      },
    },
  );
  expect(w.lakefs.treeOf("main").get("p")).toBe(X);
  expect(exists(w, X), "main's head references X; GC must not delete it").toBe(true);
  expect(stopped.success).toBe(false);
  expect(stopped.errorMessage).toContain(message(made));
  const again = await sweepAgain(w, runId);
  expect(again.success).toBe(true);
  expect(again.counts).toMatchObject({ spared_by_revalidation: 1 });
  expect(exists(w, X)).toBe(true);
  return again;
}
