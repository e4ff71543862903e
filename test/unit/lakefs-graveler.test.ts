// The development server's tree structures (ranges and metaranges) and sorted staging map, at
// the scale a benchmark branch reaches, in memory.
import { describe, expect, it } from "vitest";
import { MemoryRangeStore } from "../../local/lakefs/file-store";
import {
  applyChanges,
  type Change,
  diffTrees,
  type EntryValue,
  entriesFrom,
  lookup,
  RANGE_TARGET,
} from "../../local/lakefs/graveler";
import { SortedMap } from "../../local/lakefs/sorted-map";

const value = (n: number, tag = ""): EntryValue => ({
  a: `s3://bucket/ns/data/g1/c${n}${tag}`,
  c: `etag${n}${tag}`,
  s: n,
  m: 1_700_000_000,
  t: "application/octet-stream",
});
const key = (n: number) => `data/part-${String(n).padStart(7, "0")}.parquet`;

/** A deterministic pseudo-random generator (mulberry32). */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("graveler ranges at 1 000 000 entries", () => {
  const N = 1_000_000;
  const store = new MemoryRangeStore();
  const empty = store.putMetarange([]);
  function* all(): Generator<Change> {
    for (let i = 0; i < N; i++) yield [key(i), value(i)];
  }
  const big = applyChanges(store, empty, all());

  it("splits the tree into ranges of about RANGE_TARGET entries", () => {
    expect(big.ranges.reduce((n, r) => n + r.count, 0)).toBe(N);
    expect(big.ranges.length).toBeGreaterThanOrEqual(N / (2 * RANGE_TARGET));
    expect(big.ranges.length).toBeLessThanOrEqual(N / RANGE_TARGET);
    for (let i = 1; i < big.ranges.length; i++) {
      expect(big.ranges[i - 1]!.max < big.ranges[i]!.min).toBe(true);
    }
  });

  it("looks up and seeks by binary search", () => {
    expect(lookup(store, big, key(765_432))).toEqual(value(765_432));
    expect(lookup(store, big, "data/part-0765432")).toBeUndefined();
    const it = entriesFrom(store, big.ranges, { key: key(999_998), inclusive: false });
    expect([...it].map(([k]) => k)).toEqual([key(999_999)]);
    const from = entriesFrom(store, big.ranges, { key: "data/part-05", inclusive: true });
    expect(from.next().value![0]).toBe(key(500_000));
  });

  it("a commit of 10 changes rewrites only the ranges they fall into", () => {
    const changes: Change[] = [
      [key(10), value(10, "v2")],
      [key(200_000), null],
      [`${key(400_000)}-new`, value(1)],
      [key(999_999), value(0, "v2")],
    ];
    for (let i = 0; i < 6; i++) changes.push([key(600_000 + i), value(i, "v2")]);
    changes.sort(([a], [b]) => (a < b ? -1 : 1));
    const writesBefore = store.rangeWrites;
    const next = applyChanges(store, big, changes);
    expect(store.rangeWrites - writesBefore).toBeLessThanOrEqual(5);
    const shared = next.ranges.filter((r) => big.ranges.some((b) => b.id === r.id)).length;
    expect(shared).toBeGreaterThanOrEqual(big.ranges.length - 5);
    expect(lookup(store, next, key(200_000))).toBeUndefined();
    expect(lookup(store, next, `${key(400_000)}-new`)).toEqual(value(1));
    expect(next.ranges.reduce((n, r) => n + r.count, 0)).toBe(N);

    // The diff visits only ranges the two trees do not share.
    let loads = 0;
    const counting = {
      ...store,
      getRange: (id: string) => {
        loads++;
        return store.getRange(id);
      },
    };
    const diff = [...diffTrees(counting as MemoryRangeStore, big, next)];
    expect(diff.map((d) => d.key)).toEqual(changes.map(([k]) => k));
    const removed = diff.find((d) => d.key === key(200_000))!;
    expect(removed.left).toEqual(value(200_000));
    expect(removed.right).toBeUndefined();
    expect(loads).toBeLessThanOrEqual(10);
  });
});

describe("graveler against a reference map", () => {
  it("applyChanges and diffTrees agree with a plain sorted map over random edits", () => {
    const random = rng(42);
    const store = new MemoryRangeStore();
    let tree = store.putMetarange([]);
    const reference = new Map<string, EntryValue>();
    for (let round = 0; round < 8; round++) {
      const changes = new Map<string, EntryValue | null>();
      const count = round === 0 ? 6000 : Math.floor(random() * 800);
      for (let i = 0; i < count; i++) {
        const k = key(Math.floor(random() * 8000));
        changes.set(k, random() < 0.25 ? null : value(Math.floor(random() * 1e6), `r${round}`));
      }
      const sorted = [...changes.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
      const before = new Map(reference);
      for (const [k, v] of sorted) {
        if (v) reference.set(k, v);
        else reference.delete(k);
      }
      const previous = tree;
      tree = applyChanges(store, tree, sorted);
      const listed = [...entriesFrom(store, tree.ranges)];
      const expected = [...reference.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
      expect(listed).toEqual(expected);
      const expectedDiff = [...new Set([...before.keys(), ...reference.keys()])]
        .filter((k) => JSON.stringify(before.get(k)) !== JSON.stringify(reference.get(k)))
        .sort();
      expect([...diffTrees(store, previous, tree)].map((d) => d.key)).toEqual(expectedDiff);
    }
  });
});

describe("SortedMap", () => {
  it("keeps keys sorted through random sets and deletes, and iterates from any key", () => {
    const random = rng(7);
    const map = new SortedMap<number>();
    const reference = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const k = `k${Math.floor(random() * 5000)}`;
      if (random() < 0.3) {
        expect(map.delete(k)).toBe(reference.delete(k));
      } else {
        map.set(k, i);
        reference.set(k, i);
      }
    }
    const sorted = [...reference.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    expect(map.size).toBe(reference.size);
    expect([...map.entriesAfter()]).toEqual(sorted);
    const pivot = sorted[Math.floor(sorted.length / 2)]![0];
    expect([...map.entriesAfter(pivot)]).toEqual(sorted.filter(([k]) => k > pivot));
    expect([...map.entriesFrom(pivot)]).toEqual(sorted.filter(([k]) => k >= pivot));
    expect(map.get(pivot)).toBe(reference.get(pivot));
  });
});
