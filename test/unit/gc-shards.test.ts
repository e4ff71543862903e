import { describe, expect, it } from "vitest";
import type { AddressWorkItem } from "../../lambdas/gc/domain/address-plan";
import { CommitGraph } from "../../lambdas/gc/domain/commit-graph";
import { markPartition } from "../../lambdas/gc/domain/mark";
import { choosePassCount, partitionOf, passOf } from "../../lambdas/gc/domain/partition";
import { AddressShardBuffer } from "../../lambdas/gc/domain/shard-buffer";
import {
  decodeAddressShard,
  decodeCommitGraph,
  decodeWorkItems,
  encodeAddressShard,
  encodeCommitGraph,
  encodeWorkItems,
  ShardFormatError,
} from "../../lambdas/gc/domain/shards";

describe("GC work-bucket formats", () => {
  it("round-trip work items, one JSON a line", () => {
    const items: AddressWorkItem[] = [
      { side: "active", kind: "list", commit: "c1" },
      { side: "expired", kind: "diff", commit: "c2", parent: "c1" },
      { side: "active", kind: "staged", branch: "main" },
    ];
    const text = encodeWorkItems(items);
    expect(text.split("\n")).toHaveLength(4);
    expect(decodeWorkItems(text)).toEqual(items);
    expect(
      decodeWorkItems('{"side":"active","kind":"list","commit":"c1","after":"p/9"}\n'),
    ).toEqual([{ side: "active", kind: "list", commit: "c1", after: "p/9" }]);
  });

  it("refuse malformed work items", () => {
    expect(() => decodeWorkItems('{"side":"expired","kind":"staged","branch":"b"}\n')).toThrow(
      ShardFormatError,
    );
    expect(() => decodeWorkItems('{"side":"active","kind":"diff","commit":"c"}\n')).toThrow(
      /work item 1/,
    );
    expect(() => decodeWorkItems("not json\n")).toThrow(/line 1: not JSON/);
  });

  it("round-trip address shards, even keys with line breaks", () => {
    const keys = ["data/a", "weird\nkey", 'q"uote', "ü"];
    expect([...decodeAddressShard(encodeAddressShard(keys))]).toEqual(keys);
    expect(() => [...decodeAddressShard("1\n")]).toThrow(/not a string/);
  });

  it("round-trip the commit graph", () => {
    const g = new CommitGraph();
    g.add({ id: "a", parents: [], creation_date: 1 });
    g.add({ id: "b", parents: ["a"], creation_date: 2 });
    g.add({ id: "m", parents: ["b", "a"], creation_date: 3 });
    g.add({ id: "m", parents: ["ignored"], creation_date: 9 });
    const back = decodeCommitGraph(encodeCommitGraph(g));
    expect(back.size).toBe(3);
    expect(back.parentsOf("m")).toEqual(["b", "a"]);
    expect(back.creationDateOf("m")).toBe(3);
    expect(() => decodeCommitGraph('{"id":"x"}\n')).toThrow(/commit graph/);
  });
});

describe("multi-pass mark", () => {
  it("splits keys evenly and the passes together give the one-pass result", async () => {
    const protectedKeys = Array.from({ length: 3000 }, (_, i) => `k${i * 2}`);
    const expiredKeys = Array.from({ length: 3000 }, (_, i) => `k${i * 3}`);
    const onePass: string[] = [];
    for await (const k of markPartition(protectedKeys, expiredKeys)) onePass.push(k);

    const passes = 3;
    const perPass = [0, 0, 0];
    const together: string[] = [];
    for (let pass = 0; pass < passes; pass++) {
      for await (const k of markPartition(protectedKeys, expiredKeys, { pass, passes })) {
        expect(passOf(k, passes)).toBe(pass);
        perPass[pass]!++;
        together.push(k);
      }
    }
    expect(together.sort()).toEqual(onePass.sort());
    expect(onePass).toHaveLength(2000);
    for (const n of perPass) expect(n).toBeGreaterThan(550);
    expect(choosePassCount(5_000_000)).toBe(3);
    expect(passOf("anything", 1)).toBe(0);
    expect(() => passOf("x", 0)).toThrow(/passes/);
  });
});

describe("address shard buffer", () => {
  it("partitions namespace keys, drops outside addresses and flushes when full", () => {
    const buffer = new AddressShardBuffer({
      storageNamespace: "s3://b/ns",
      partitions: 3,
      side: "expired",
      maxBufferedKeys: 4,
    });
    expect(buffer.add(["s3://b/ns/k1", "s3://other/k2", "s3://b/ns/k3"])).toEqual([]);
    const flushed = buffer.add(["s3://b/ns/k4", "s3://b/ns-old/k5", "s3://b/ns/k6"]);
    expect(flushed.length).toBeGreaterThan(0);
    expect(flushed.every((s) => s.seq === 0 && s.side === "expired")).toBe(true);
    const rest = buffer.add(["s3://b/ns/k7"]).concat(buffer.finish());
    expect(rest.every((s) => s.seq === 1)).toBe(true);
    expect(buffer.finish()).toEqual([]);

    const all = [...flushed, ...rest];
    const keys = all.flatMap((s) => {
      const decoded = [...decodeAddressShard(s.body)];
      expect(decoded).toHaveLength(s.keys);
      for (const k of decoded) expect(partitionOf(k, 3)).toBe(s.partition);
      return decoded;
    });
    expect(keys.sort()).toEqual(["k1", "k3", "k4", "k6", "k7"]);
    expect(buffer.counts).toEqual({ inside: 5, outside: 2 });
  });
});
