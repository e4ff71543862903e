// A mark partition bigger than one pass holds is marked in several passes. Each pass read every
// shard of the partition again: the mark's reads grew with passes x keys, the square of the
// partition's size (a partition of 200 million keys: 100 passes over some 8 GB of shards, in one
// Lambda of 15 minutes). Its shards are now read once and split by pass into the work bucket,
// and each pass reads its own share: reads of the partition's keys stay about twice its size.
import { expect, it } from "vitest";
import { runMarkStep } from "../../lambdas/gc/app/mark";
import { gcWorkKeys } from "../../lambdas/gc/domain/paths";
import { decodeAddressShard } from "../../lambdas/gc/domain/shards";
import type { GcStepDeps } from "../../lambdas/gc/ports";
import { MemoryGcRecords, MemoryGcStore } from "../support/memory-gc";

const NS = "s3://ns-bucket/repo1";
const WORK = "work-bucket";
const RUN = "20261123T010000000Z-abcdef0123";
const TEXT_LIST = "ns-bucket/repo1/_lakefs/retention/gc/addresses.text/mark_id=m1/part-00000.txt";

/** Counts the keys (address shard lines) read from the work bucket. */
class CountingStore extends MemoryGcStore {
  keysRead = 0;
  override async getText(bucket: string, key: string) {
    const text = await super.getText(bucket, key);
    if (bucket === WORK && text !== undefined && key.endsWith(".jsonl")) {
      this.keysRead += [...decodeAddressShard(text)].length;
    }
    return text;
  }
}

async function mark(keysPerPass: number) {
  const store = new CountingStore();
  const runs = new MemoryGcRecords();
  runs.leaseHolder = RUN;
  const work = gcWorkKeys("repo1", RUN);
  const expired = Array.from({ length: 400 }, (_, i) => `data/x${String(i).padStart(3, "0")}`);
  const active = expired.filter((_, i) => i % 4 === 0);
  const put = (side: "active" | "expired", name: string, keys: string[]) =>
    store.put(
      WORK,
      work.addressShard(0, side, name),
      keys.map((k) => JSON.stringify(k)).join("\n"),
    );
  await put("active", "a1", active);
  // Overlapping shards: some keys are offered twice, marked once.
  let expiredLines = 0;
  for (let s = 0; s < 8; s++) {
    const keys = expired.slice(s * 50, s * 50 + 60);
    expiredLines += keys.length;
    await put("expired", `e${s}`, keys);
  }
  const deps: GcStepDeps = {
    s3: store,
    lakefs: {} as GcStepDeps["lakefs"],
    runs,
    lease: runs,
    workBucket: WORK,
    now: () => new Date("2026-11-23T02:00:00Z"),
  };
  const ctx = { repository: "repo1", runId: RUN, markId: "m1", storageNamespace: NS, now: 1 };
  const out = await runMarkStep(
    deps,
    { Items: [{ partition: 0 }], BatchInput: ctx },
    { keysPerPass },
  );
  const counts = JSON.parse(store.text(`${WORK}/${work.markCounts(0)}`)!);
  const marked = store.text(TEXT_LIST)!.split("\n").filter(Boolean).sort();
  const expected = expired.filter((_, i) => i % 4 !== 0);
  return {
    store,
    out,
    counts,
    marked,
    expected,
    expiredLines,
    lines: active.length + expiredLines,
  };
}

it("a partition marked in 20 passes reads its shards' keys about twice, not once a pass", async () => {
  const many = await mark(5);
  expect(many.counts.passes).toBeGreaterThanOrEqual(20);
  expect(many.marked).toEqual(many.expected);
  expect(many.out.marked).toBe(many.expected.length);
  // Counted once, as in one pass: every line of the partition's shards.
  expect(many.counts).toMatchObject({ protected_keys: 100, expired_keys: many.expiredLines });
  expect(many.store.keysRead).toBeLessThanOrEqual(2 * many.lines);
});

it("a partition of one pass reads its shards once and writes no split", async () => {
  const one = await mark(2_000_000);
  expect(one.counts).toMatchObject({
    passes: 1,
    protected_keys: 100,
    expired_keys: one.expiredLines,
  });
  expect(one.marked).toEqual(one.expected);
  expect(one.store.keysRead).toBe(one.lines);
  const split = `${WORK}/${gcWorkKeys("repo1", RUN).root}mark-passes/`;
  expect([...one.store.keysUnder(split)]).toEqual([]);
});
