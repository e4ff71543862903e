import { describe, expect, it } from "vitest";
import { markPartition, PartitionMark } from "../../lambdas/gc/domain/mark";
import {
  choosePartitionCount,
  fnv1a64,
  MAX_ADDRESSES_PER_PARTITION,
  MAX_PARTITIONS,
  namespaceKeyer,
  normaliseNamespace,
  partitionAddresses,
  partitionOf,
} from "../../lambdas/gc/domain/partition";
import { ValidationError } from "../../lambdas/shared/errors";

/** Reference FNV-1a 64 with BigInt, to check the 32-bit-halves version. */
function fnvBigInt(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

const asBigInt = ([hi, lo]: [number, number]) => (BigInt(hi) << 32n) | BigInt(lo);

describe("address partitioning", () => {
  it("hashes with FNV-1a 64 (published test vectors and a BigInt reference)", () => {
    expect(asBigInt(fnv1a64(""))).toBe(0xcbf29ce484222325n);
    expect(asBigInt(fnv1a64("a"))).toBe(0xaf63dc4c8601ec8cn);
    expect(asBigInt(fnv1a64("foobar"))).toBe(0x85944171f73967e8n);
    for (const s of ["data/gab4rd9ivoqv2l1tf1m0/cqbn4l2i", "ü/日本/😀", "x".repeat(5000)]) {
      expect(asBigInt(fnv1a64(s))).toBe(fnvBigInt(s));
    }
  });

  it("partitions stably: hash modulo the count", () => {
    for (const key of ["a", "data/1", "data/2/ü", "z".repeat(300)]) {
      for (const count of [1, 2, 7, 64, 1000, MAX_PARTITIONS]) {
        const p = partitionOf(key, count);
        expect(p).toBe(Number(fnvBigInt(key) % BigInt(count)));
        expect(partitionOf(key, count)).toBe(p);
      }
    }
    expect(() => partitionOf("a", 0)).toThrow(/partitionCount/);
    expect(() => partitionOf("a", MAX_PARTITIONS + 1)).toThrow(ValidationError);
  });

  it("spreads keys evenly enough", () => {
    const counts = new Array(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[partitionOf(`data/g${i}/c${i * 7}`, 16)]++;
    for (const c of counts) {
      expect(c).toBeGreaterThan(800);
      expect(c).toBeLessThan(1200);
    }
  });

  it("chooses enough partitions for the estimate", () => {
    expect(choosePartitionCount(0)).toBe(1);
    expect(choosePartitionCount(MAX_ADDRESSES_PER_PARTITION)).toBe(1);
    expect(choosePartitionCount(MAX_ADDRESSES_PER_PARTITION + 1)).toBe(2);
    expect(choosePartitionCount(100_000_000)).toBe(50);
    expect(choosePartitionCount(1e15)).toBe(MAX_PARTITIONS);
    expect(choosePartitionCount(10, 3)).toBe(4);
    expect(() => choosePartitionCount(-1)).toThrow(/estimatedAddresses/);
    expect(() => choosePartitionCount(10, 0)).toThrow(/perPartition/);
  });

  it("keeps only addresses inside the namespace, as keys relative to it", () => {
    const keyOf = namespaceKeyer("s3://bucket/repo1/");
    expect(keyOf("s3://bucket/repo1/data/abc")).toBe("data/abc");
    // Keys another store would resolve to another object are never GC's.
    expect(keyOf("s3://bucket/repo1/a//b")).toBeUndefined();
    expect(keyOf("s3://bucket/repo1/../repo2/x")).toBeUndefined();
    expect(keyOf("s3://bucket/repo1/a/./b")).toBeUndefined();
    expect(keyOf("s3://bucket/repo1/data/a/..b/.c")).toBe("data/a/..b/.c");
    expect(keyOf("s3://bucket/repo1")).toBeUndefined();
    expect(keyOf("s3://bucket/repo1/")).toBeUndefined();
    expect(keyOf("s3://bucket/repo10/data/abc")).toBeUndefined();
    expect(keyOf("s3://bucket/repo1-old/x")).toBeUndefined();
    expect(keyOf("s3://other/repo1/x")).toBeUndefined();
    expect(keyOf("s3a://bucket/repo1/x")).toBeUndefined();
    expect(keyOf("data/relative")).toBeUndefined();
    // lakeFS's own metadata in the namespace is never a GC key.
    expect(keyOf("s3://bucket/repo1/_lakefs/abc123")).toBeUndefined();
    expect(keyOf("s3://bucket/repo1/_lakefs/retention/gc/x")).toBeUndefined();
    expect(keyOf("s3://bucket/repo1/data/_lakefs/abc")).toBe("data/_lakefs/abc");
    // lakeFS's GC deletes only under data/ and at the top level (older repositories), not its
    // dummy: a key linked elsewhere in the namespace is never GC's.
    expect(keyOf("s3://bucket/repo1/_lakefsx/abc")).toBeUndefined();
    expect(keyOf("s3://bucket/repo1/raw/file.csv")).toBeUndefined();
    expect(keyOf("s3://bucket/repo1/datax/abc")).toBeUndefined();
    expect(keyOf("s3://bucket/repo1/old-layout-object")).toBe("old-layout-object");
    expect(keyOf("s3://bucket/repo1/dummy")).toBeUndefined();
    expect(keyOf("s3://bucket/repo1/data/dummy")).toBe("data/dummy");
    expect(normaliseNamespace("s3://b/p//")).toBe("s3://b/p");
    expect(normaliseNamespace("s3://b")).toBe("s3://b");
    expect(() => normaliseNamespace("bucket/prefix")).toThrow(/storageNamespace/);
  });

  it("groups a batch of addresses by partition", () => {
    const addresses = [
      "s3://b/ns/k1",
      "s3://b/ns/k2",
      "s3://b/elsewhere/k3",
      "s3://b/ns/k4",
      "s3://b/ns/k1",
    ];
    const groups = partitionAddresses(addresses, "s3://b/ns", 3);
    const all = [...groups.values()].flat().sort();
    expect(all).toEqual(["k1", "k1", "k2", "k4"]);
    for (const [p, keys] of groups) for (const k of keys) expect(partitionOf(k, 3)).toBe(p);
  });
});

describe("partition mark", () => {
  it("is expired minus protected, each key once", async () => {
    const out: string[] = [];
    for await (const k of markPartition(["a", "b"], ["a", "c", "d", "c", "b", "e"])) out.push(k);
    expect(out).toEqual(["c", "d", "e"]);
  });

  it("takes async streams", async () => {
    async function* gen(keys: string[]) {
      for (const k of keys) yield k;
    }
    const out: string[] = [];
    for await (const k of markPartition(gen(["x"]), gen(["x", "y"]))) out.push(k);
    expect(out).toEqual(["y"]);
  });

  it("counts and refuses protected keys after expired ones", () => {
    const mark = new PartitionMark();
    mark.protect("a");
    mark.protect("a");
    expect(mark.offerExpired("a")).toBe(false);
    expect(mark.offerExpired("b")).toBe(true);
    expect(mark.offerExpired("b")).toBe(false);
    expect(mark.counts).toEqual({ protectedKeys: 2, expiredKeys: 3, markedKeys: 1 });
    expect(() => mark.protect("c")).toThrow(/before the expired/);
  });
});
