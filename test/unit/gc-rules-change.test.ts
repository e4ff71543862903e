// Retention rules changed while a GC run is under way: the sweep keeps what the rules in force
// when it deletes keep, not only what the rules of the run's start kept (a mark phase can take
// hours; an administrator who lengthens the retention meanwhile must not lose the commits the
// new rules keep).
import { describe, expect, it } from "vitest";
import type { GcRules } from "../../lambdas/gc/domain/rules";
import { markAndSweepInMemory } from "../support/gc-pipeline";
import { labelledObjects, memoryGcWorld } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";
const SHORT: GcRules = { default_retention_days: 3, branches: [] };
const LONG: GcRules = {
  default_retention_days: 3,
  branches: [{ branch_id: "main", retention_days: 30 }],
};

let seq = 0;

/**
 * main: c0 (20 days) a=A0; c1 (15 days) a=A1; c2 (10 days) a=A2; c3 (1 day) a=A3. With 3 days
 * c3 and c2 are kept and A0, A1 marked; with 30 days on main every commit is kept.
 */
function repository() {
  const w = memoryGcWorld(new MemoryLakeFs(() => NOW), NOW * 1000 + 3_600_000);
  const { address, object } = labelledObjects(w.store, NS);
  const c0 = w.lakefs.addCommit([], new Map([["a", object("A0")]]), NOW - 20 * DAY);
  w.lakefs.createBranch("main", c0);
  for (const [label, age] of [
    ["A1", 15],
    ["A2", 10],
    ["A3", 1],
  ] as const) {
    w.lakefs.stage("main", "a", object(label));
    w.lakefs.commit("main", NOW - age * DAY);
  }
  const exists = (label: string) => w.store.objects.has(address[label]!.replace("s3://", ""));
  return { ...w, exists };
}

describe("GC when the retention rules change during a run", () => {
  it("a mark-and-sweep run keeps the commits rules lengthened during its mark phase keep", async () => {
    const w = repository();
    w.records.rules = SHORT;
    const runId = `20270101T000000000Z-rules${seq++}`;
    const out = await markAndSweepInMemory(
      w.deps,
      w.records,
      { runId, storageNamespace: NS, rules: SHORT, now: NOW },
      {
        afterMark: () => {
          // The mark (3 days) holds A0 and A1; main's retention becomes 30 days meanwhile.
          expect(w.store.deleted).toEqual([]);
          w.records.rules = LONG;
        },
      },
    );
    expect(out.success).toBe(true);
    expect(out.counts.marked_addresses).toBe(2);
    expect(w.exists("A1"), "c1 is kept by the rules in force when the sweep runs").toBe(true);
    expect(w.exists("A0"), "c0 is kept by the rules in force when the sweep runs").toBe(true);
    expect(w.store.deleted).toEqual([]);
  });

  it("rules lengthened during the deletes stop the sweep before any request (the commits they keep come back)", async () => {
    const w = repository();
    w.records.rules = SHORT;
    const runId = `20270101T000000000Z-rules${seq++}`;
    const out = await markAndSweepInMemory(
      w.deps,
      w.records,
      { runId, storageNamespace: NS, rules: SHORT, now: NOW },
      {
        // Revalidation is done (with 3 days); main's retention becomes 30 days before the
        // first delete request.
        beforeSweepMap: () => {
          w.records.rules = LONG;
        },
      },
    );
    expect(out.success).toBe(false);
    expect(out.errorMessage).toContain("became active again during the sweep");
    expect([w.exists("A0"), w.exists("A1")]).toEqual([true, true]);
    expect(w.store.deleted).toEqual([]);
  });

  it("without a change the same run deletes what the mark holds", async () => {
    const w = repository();
    w.records.rules = SHORT;
    const runId = `20270101T000000000Z-rules${seq++}`;
    const out = await markAndSweepInMemory(w.deps, w.records, {
      runId,
      storageNamespace: NS,
      rules: SHORT,
      now: NOW,
    });
    expect(out.success).toBe(true);
    expect([w.exists("A0"), w.exists("A1"), w.exists("A2"), w.exists("A3")]).toEqual([
      false,
      false,
      true,
      true,
    ]);
  });
});
