// A plan of several calls hands each call's task shards (its segment) to a copy map that runs
// while the next call lists (the export workflow's CopyWhilePlanning), so copies do not wait
// for the whole listing. The first call stops early: its segment is what the copies start on
// while the rest is listed. A later call lists on until the plan is done or its Lambda's time
// runs short, so a plan has few segments: each segment's map ends with a drain of its last
// copies before the next segment's map starts.

/** Shards the first segment holds at least: on one copy worker, four shards are copied for
 * longer than the plan takes to list several hundred more (measured: about 13 µs of plan CPU
 * per object against about 290 µs of machine time per copy). */
export const MIN_FIRST_SEGMENT_SHARDS = 4;

/** The first plan call's shards at most: one for every child the copy map runs at once, and
 * at least MIN_FIRST_SEGMENT_SHARDS. */
export function firstSegmentShards(mapConcurrency: number): number {
  if (!Number.isInteger(mapConcurrency) || mapConcurrency < 1) {
    throw new RangeError(`mapConcurrency: expected a positive integer, got ${mapConcurrency}`);
  }
  return Math.max(MIN_FIRST_SEGMENT_SHARDS, mapConcurrency);
}
