// Task shards per copy map child. A child's start (its shards' reads, its registration as a
// writer) and end (its last copies draining, its results written) leave its copy slots idle;
// with one shard a child, a Lambda spends them once per 1 000 copies (measured locally: a
// twentieth of the copy phase on one worker). So a child takes several shards, run side by
// side under one limit, once the export has enough shards for every concurrent child to run
// COPY_BATCH_WAVES batches. Batches are of equal size but the last, which is smaller: a child
// left to run alone at the end runs at most one batch, a quarter of a concurrent child's work.
// A map that runs one child at a time has no slot to leave idle at its end: a child then takes
// as many shards as it may (the gaps between children are the only loss).
/** Batches each concurrent child runs, at least, before a child takes a second shard. */
export const COPY_BATCH_WAVES = 4;
/** A child's shards at most: a failed child's copies are retried together. */
export const MAX_SHARDS_PER_COPY_BATCH = 10;
/** Source bytes a child copies at most when it takes several shards: what one shard may copy
 * alone (the plan's maxCopyBytesPerShard), one Lambda's work within its timeout. */
export const MAX_COPY_BYTES_PER_BATCH = 50 * 1024 ** 3;

/**
 * Shards per copy map child for `shards` task shards and a map that runs `mapConcurrency`
 * children at once: one each below 8 x mapConcurrency shards (COPY_BATCH_WAVES batches of two
 * for every child), then more, up to 10 (with one child at a time, up to 10 at once),
 * and no more than keep a child's copies within MAX_COPY_BYTES_PER_BATCH given the largest
 * shard's (`maxShardCopyBytes`).
 */
export function shardsPerCopyBatch(
  shards: number,
  mapConcurrency: number,
  maxShardCopyBytes = 0,
): number {
  if (!Number.isInteger(mapConcurrency) || mapConcurrency < 1) {
    throw new RangeError(`mapConcurrency: expected a positive integer, got ${mapConcurrency}`);
  }
  const perChild =
    mapConcurrency === 1 ? shards : Math.floor(shards / (mapConcurrency * COPY_BATCH_WAVES));
  const byBytes =
    maxShardCopyBytes > 0
      ? Math.floor(MAX_COPY_BYTES_PER_BATCH / maxShardCopyBytes)
      : MAX_SHARDS_PER_COPY_BATCH;
  return Math.max(1, Math.min(MAX_SHARDS_PER_COPY_BATCH, perChild, byBytes));
}
