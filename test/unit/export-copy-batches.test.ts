// README (Continuous export, copy): a copy map child takes one task shard until the export has
// four times as many shards as the map runs children at once, then more, up to ten.
import { describe, expect, it } from "vitest";
import {
  MAX_SHARDS_PER_COPY_BATCH,
  shardsPerCopyBatch,
} from "../../lambdas/export/domain/copy-batches";

describe("shards per copy map child", () => {
  it.each([
    [0, 50, 1],
    [1, 50, 1],
    [199, 50, 1],
    [200, 50, 2],
    [299, 50, 2],
    [300, 50, 3],
    [100_000, 50, MAX_SHARDS_PER_COPY_BATCH],
    [3, 1, 1],
    [4, 1, 2],
    [5, 1, 2],
    [50, 1, 10],
    [50, 2, 10],
    [50, 10, 2],
  ])("%i shards, %i children at once: %i each", (shards, concurrency, expected) => {
    expect(shardsPerCopyBatch(shards, concurrency)).toBe(expected);
  });

  it("never leaves a concurrent child without a batch while another runs two", () => {
    for (let concurrency = 1; concurrency <= 60; concurrency++) {
      for (let shards = 1; shards <= 1000; shards++) {
        const per = shardsPerCopyBatch(shards, concurrency);
        expect(Math.ceil(shards / per)).toBeGreaterThanOrEqual(Math.min(shards, concurrency));
      }
    }
  });

  it("names the bad setting", () => {
    expect(() => shardsPerCopyBatch(10, 0)).toThrow(/mapConcurrency: expected a positive integer/);
  });
});
