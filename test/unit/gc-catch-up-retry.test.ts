// The state machine retries a step whose Lambda died (Lambda.Unknown: a timeout, out of memory)
// with the same input. A CatchUp round that died after it rewrote the revalidation snapshot
// (the refs it saw, the commits it found newly active) but before the state machine got its
// answer must, when run again, still have the revalidation map list those commits: the
// snapshot says they are covered, so neither the retried round nor the sweep's checks would
// look at them again.
import { describe, expect, it } from "vitest";
import { gcWorkKeys } from "../../lambdas/gc/domain/paths";
import { markAndSweepInMemory } from "../support/gc-pipeline";
import { labelledObjects, memoryGcWorld } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";
const RULES = { default_retention_days: 3, branches: [] };

let seq = 0;

/** main: c0 (20 days) a=A0; c1 (15 days) a=A1; c2 (10 days) a=A2. A0 and A1 are garbage. */
function repository() {
  const w = memoryGcWorld(new MemoryLakeFs(() => NOW), NOW * 1000 + 3_600_000);
  const { address, object } = labelledObjects(w.store, NS);
  const c0 = w.lakefs.addCommit([], new Map([["a", object("A0")]]), NOW - 20 * DAY);
  w.lakefs.createBranch("main", c0);
  w.lakefs.stage("main", "a", object("A1"));
  w.lakefs.commit("main", NOW - 15 * DAY);
  w.lakefs.stage("main", "a", object("A2"));
  w.lakefs.commit("main", NOW - 10 * DAY);
  const exists = (label: string) => w.store.objects.has(address[label]!.replace("s3://", ""));
  return { ...w, c0, exists };
}

describe("GC catch-up round retried after its Lambda died", () => {
  it("still lists what the round found when the retry finds the refs unchanged", async () => {
    const w = repository();
    const runId = `20270101T000000000Z-retry${seq++}`;
    // The Lambda of the first CatchUp invocation dies right after the snapshot is written.
    const counts = gcWorkKeys("r1", runId).revalidationCounts;
    const put = w.store.put.bind(w.store);
    let crashes = 0;
    let catchingUp = false;
    w.store.put = async (bucket, key, body) => {
      if (key === counts && crashes === 0 && catchingUp) {
        crashes++;
        throw Object.assign(new Error("Task timed out"), { name: "Lambda.Unknown" });
      }
      return put(bucket, key, body);
    };
    const out = await markAndSweepInMemory(
      w.deps,
      w.records,
      { runId, storageNamespace: NS, rules: RULES, now: NOW },
      {
        // While the revalidation map listed, a branch was created on the expired c0.
        afterRevalidationMap: () => w.lakefs.createBranch("restore-a0", w.c0),
        // Step Functions' Retry: the same input again after a Lambda error.
        catchUp: async (invoke) => {
          catchingUp = true;
          try {
            return await invoke();
          } catch (err) {
            if ((err as Error).name !== "Lambda.Unknown") throw err;
            return invoke();
          } finally {
            catchingUp = false;
          }
        },
      },
    );
    expect(crashes).toBe(1);
    expect(out.errorMessage).toBeUndefined();
    expect(out.success).toBe(true);
    expect(w.exists("A0"), "branch restore-a0 references A0; GC must not delete it").toBe(true);
    expect(w.exists("A1")).toBe(false);
    expect(w.exists("A2")).toBe(true);
    expect(out.counts.revalidated_commits).toBe(1);
  });
});
