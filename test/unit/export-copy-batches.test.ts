// README (Continuous export, copy): a copy map child takes one task shard until the plan call has
// eight times as many shards as the map runs children at once, then more, up to ten; with one
// child at a time, up to ten at once.
import { describe, expect, it } from "vitest";
import {
  COPY_BATCH_WAVES,
  MAX_SHARDS_PER_COPY_BATCH,
  shardsPerCopyBatch,
} from "../../lambdas/export/domain/copy-batches";

describe("shards per copy map child", () => {
  it.each([
    [0, 50, 1],
    [1, 50, 1],
    [399, 50, 1],
    [400, 50, 2],
    [599, 50, 2],
    [600, 50, 3],
    [100_000, 50, MAX_SHARDS_PER_COPY_BATCH],
    [1, 1, 1],
    [7, 1, 7],
    [9, 1, 9],
    [50, 1, 10],
    [7, 2, 1],
    [16, 2, 2],
    [50, 2, 6],
    [50, 10, 1],
  ])("%i shards, %i children at once: %i each", (shards, concurrency, expected) => {
    expect(shardsPerCopyBatch(shards, concurrency)).toBe(expected);
  });

  it("batches only when every concurrent child gets four full batches, so a child alone at the end runs one at most", () => {
    for (let concurrency = 2; concurrency <= 60; concurrency++) {
      for (let shards = 1; shards <= 2000; shards++) {
        const per = shardsPerCopyBatch(shards, concurrency);
        if (per === 1) continue;
        expect(Math.floor(shards / per)).toBeGreaterThanOrEqual(concurrency * COPY_BATCH_WAVES);
      }
    }
  });

  it("with one child at a time, gives a child up to ten shards: nothing waits at the map's end", () => {
    for (let shards = 1; shards <= 100; shards++) {
      expect(shardsPerCopyBatch(shards, 1)).toBe(Math.min(shards, MAX_SHARDS_PER_COPY_BATCH));
    }
  });

  it("keeps a child's copies within 50 GiB by the largest shard's bytes", () => {
    const GiB = 1024 ** 3;
    expect(shardsPerCopyBatch(1000, 1, 5 * GiB)).toBe(10);
    expect(shardsPerCopyBatch(1000, 1, 10 * GiB)).toBe(5);
    expect(shardsPerCopyBatch(1000, 1, 26 * GiB)).toBe(1);
    // A shard past the limit alone (one object above 50 GiB) still goes, alone.
    expect(shardsPerCopyBatch(1000, 1, 60 * GiB)).toBe(1);
    expect(shardsPerCopyBatch(1000, 1, 0)).toBe(10);
  });

  it("names the bad setting", () => {
    expect(() => shardsPerCopyBatch(10, 0)).toThrow(/mapConcurrency: expected a positive integer/);
  });
});
