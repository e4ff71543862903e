// A branch deleted while a GC run reads it (short-lived branches come and go all the time): its
// staged entries are gone with it, and its head was a starting point (a kept commit, listed on
// its own), so the run goes on instead of failing on lakeFS's 404. A repository that is gone
// still fails the run.
import { describe, expect, it } from "vitest";
import { LakeFsNotFoundError } from "../../lambdas/shared/lakefs/errors";
import { markAndSweepInMemory } from "../support/gc-pipeline";
import { labelledObjects, memoryGcWorld } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";
const RULES = { default_retention_days: 3, branches: [] };

let seq = 0;

/** main: c0 (20 days) a=A0; c1 (10 days) a=A1; c2 (1 day) a=A2. A0 is garbage. Branch tmp. */
function repository() {
  const w = memoryGcWorld(new MemoryLakeFs(() => NOW), NOW * 1000 + 3_600_000);
  const { address, object } = labelledObjects(w.store, NS);
  const c0 = w.lakefs.addCommit([], new Map([["a", object("A0")]]), NOW - 20 * DAY);
  w.lakefs.createBranch("main", c0);
  w.lakefs.stage("main", "a", object("A1"));
  w.lakefs.commit("main", NOW - 10 * DAY);
  w.lakefs.stage("main", "a", object("A2"));
  const c2 = w.lakefs.commit("main", NOW - 1 * DAY);
  w.lakefs.createBranch("tmp", c2);
  w.lakefs.stage("tmp", "t", object("T"));
  const exists = (label: string) => w.store.objects.has(address[label]!.replace("s3://", ""));
  return { ...w, exists };
}

function run(w: ReturnType<typeof repository>) {
  return markAndSweepInMemory(w.deps, w.records, {
    runId: `20270101T000000000Z-del${seq++}`,
    storageNamespace: NS,
    rules: RULES,
    now: NOW,
  });
}

describe("GC with a branch deleted during the run", () => {
  for (const [what, op, nth] of [
    ["its listing in the mark's address step", "listObjects", 1],
    ["its listing in the revalidation map", "listObjects", 2],
    ["the sweep's check of its uncommitted entries", "diffBranch", 1],
  ] as const) {
    it(`goes on when it is deleted right before ${what}`, async () => {
      const w = repository();
      let reads = 0;
      w.lakefs.beforeRead = (o, ref) => {
        if (o === op && ref === "tmp" && ++reads === nth) w.lakefs.deleteBranch("tmp");
      };
      const out = await run(w);
      expect(out.errorMessage).toBeUndefined();
      expect(out.success).toBe(true);
      expect(reads).toBeGreaterThanOrEqual(nth);
      expect([w.exists("A0"), w.exists("A1"), w.exists("A2")]).toEqual([false, true, true]);
    });
  }

  it("still fails when the branch is reported missing but is listed", async () => {
    const w = repository();
    const list = w.lakefs.listObjectsPage.bind(w.lakefs);
    w.lakefs.listObjectsPage = async (repo, ref, opts) => {
      if (ref === "tmp") throw new LakeFsNotFoundError("lakeFS: 404 not found", 404, "not found");
      return list(repo, ref, opts);
    };
    const out = await run(w);
    expect(out.success).toBe(false);
    expect(w.exists("A0")).toBe(true);
  });
});
