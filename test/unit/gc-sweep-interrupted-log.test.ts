// The deleted-objects log lists exactly what a sweep deleted, also when the sweep stops part way
// (a failed delete request, a failed check, a lost lease): the requests that went through
// before deleted their objects, and a mark that is never resumed (too old, retired) leaves no
// other record of them.
import { parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import { markAndSweepInMemory } from "../support/gc-pipeline";
import { memoryGcWorld } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";
const RULES = { default_retention_days: 3, branches: [] };
const LOGS = "lake/repos/r1/_lakefs/logs/gc/deleted_objects/";

describe("the deleted-objects log of an interrupted sweep", () => {
  it("lists the objects the requests before the failure deleted", async () => {
    const w = memoryGcWorld(new MemoryLakeFs(() => NOW), NOW * 1000 + 3_600_000);
    // c0 (20 days) holds 1 500 objects, c1 (15 days) deletes them, c2 (1 day) is the head:
    // the mark holds the 1 500, two DeleteObjects requests.
    const tree = new Map<string, string>();
    for (let i = 0; i < 1500; i++) {
      const address = `${NS}/data/o-${String(i).padStart(4, "0")}`;
      tree.set(`p${i}`, address);
      w.store.objects.set(address.replace("s3://", ""), new TextEncoder().encode("x"));
    }
    const c0 = w.lakefs.addCommit([], tree, NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    for (const path of tree.keys()) w.lakefs.stage("main", path, null);
    w.lakefs.commit("main", NOW - 15 * DAY);
    w.lakefs.stage("main", "keep", `${NS}/data/keep`);
    w.lakefs.commit("main", NOW - 1 * DAY);

    let requests = 0;
    w.store.beforeDelete = () => {
      if (++requests === 2) throw new Error("DeleteObjects: InternalError");
    };
    const runId = "20270101T000000000Z-interrupted";
    const out = await markAndSweepInMemory(
      w.deps,
      w.records,
      { runId, storageNamespace: NS, rules: RULES, now: NOW },
      { addressesPerPartition: 100_000_000, sweep: { concurrency: 1 } },
    );
    expect(out.success).toBe(false);
    expect(out.counts.marked_addresses).toBe(1500);
    expect(w.store.deleted).toHaveLength(1000);

    const logged: string[] = [];
    for (const key of w.store.keysUnder(LOGS)) {
      const bytes = w.store.objects.get(key)!;
      const file = bytes.buffer.slice(
        bytes.byteOffset,
        bytes.byteOffset + bytes.byteLength,
      ) as ArrayBuffer;
      const rows = (await parquetReadObjects({ file })) as { address: string }[];
      logged.push(...rows.map((r) => `lake/repos/r1/${r.address}`));
    }
    expect(logged.sort()).toEqual([...w.store.deleted].sort());
    expect(out.counts.deleted_objects).toBe(1000);
  });
});
