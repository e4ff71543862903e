// README (Continuous export, plan): the first plan call stops after a shard for every child
// the copy map runs at once, and at least eight; its shards are copied while the rest is listed.
import { describe, expect, it } from "vitest";
import {
  firstSegmentShards,
  MIN_FIRST_SEGMENT_SHARDS,
} from "../../lambdas/export/domain/plan-segments";

describe("first plan segment", () => {
  it.each([
    [1, MIN_FIRST_SEGMENT_SHARDS],
    [2, 8],
    [8, 8],
    [9, 9],
    [50, 50],
  ])("%i children at once: %i shards", (concurrency, expected) => {
    expect(firstSegmentShards(concurrency)).toBe(expected);
  });

  it("names a bad concurrency", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => firstSegmentShards(bad)).toThrow(/mapConcurrency: expected a positive integer/);
    }
  });
});
