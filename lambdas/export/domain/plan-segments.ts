// A plan of several calls hands each call's task shards (its segment) to a copy map that runs
// while the next call lists (the export workflow's CopyWhilePlanning), so copies do not wait
// for the whole listing. The first call stops early: its segment is what the copies start on
// while the rest is listed. A later call lists on until the plan is done or its Lambda's time
// runs short, so a plan has few segments: each segment's map ends with a drain of its last
// copies before the next segment's map starts.

/** Shards the first segment holds at least: while its copies run, the next call lists on, and
 * copies that end first wait for it. Measured on the benchmark machine, one copy worker: the
 * plan, beside the copies, lists a shard in about 37 ms and the copies take 300 to 370 ms to
 * copy one; four shards' copies ended before the next call had listed 46 more, eight last
 * longer than it takes to list some 70. */
export const MIN_FIRST_SEGMENT_SHARDS = 8;

/** The first plan call's shards at most: one for every child the copy map runs at once, and
 * at least MIN_FIRST_SEGMENT_SHARDS. */
export function firstSegmentShards(mapConcurrency: number): number {
  if (!Number.isInteger(mapConcurrency) || mapConcurrency < 1) {
    throw new RangeError(`mapConcurrency: expected a positive integer, got ${mapConcurrency}`);
  }
  return Math.max(MIN_FIRST_SEGMENT_SHARDS, mapConcurrency);
}
