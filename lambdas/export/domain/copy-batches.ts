// Task shards per copy map child. A child's start (its shards' reads, its registration as a
// writer) and end (its last copies draining, its results written) leave its copy slots idle;
// with one shard a child, a Lambda spends them once per 1 000 copies (measured locally: a
// twentieth of the copy phase on one worker). So a child takes several shards, run side by
// side under one limit, once the export has enough shards for every concurrent child to run
// COPY_BATCH_WAVES batches: a small export still gives each concurrent child a shard of its
// own, and the last wave is never more than half of a child's work.

/** Batches each concurrent child runs, at least, before a child takes a second shard. */
export const COPY_BATCH_WAVES = 2;
/** A child's shards at most: a failed child's copies are retried together. */
export const MAX_SHARDS_PER_COPY_BATCH = 10;

/**
 * Shards per copy map child for `shards` task shards and a map that runs `mapConcurrency`
 * children at once: 1 below 2 x COPY_BATCH_WAVES x mapConcurrency shards, then more, up to 10.
 */
export function shardsPerCopyBatch(shards: number, mapConcurrency: number): number {
  if (!Number.isInteger(mapConcurrency) || mapConcurrency < 1) {
    throw new RangeError(`mapConcurrency: expected a positive integer, got ${mapConcurrency}`);
  }
  const perChild = Math.floor(shards / (mapConcurrency * COPY_BATCH_WAVES));
  return Math.min(MAX_SHARDS_PER_COPY_BATCH, Math.max(1, perChild));
}
