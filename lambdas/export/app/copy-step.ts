// Copy step (a distributed map child): a batch of task shards, each run as one copy batch
// (runExportShard). Per shard it writes the marker summary, then the shard result: a shard
// with a result is complete. Returns only counts (the map discards them anyway).
import type { S3Client } from "@aws-sdk/client-s3";
import { createLimiter } from "../../shared/concurrency";
import { logger } from "../../shared/logger";
import type { CopyBatchOptions } from "../../shared/s3-copy";
import { parseS3Uri } from "../../shared/s3-uri";
import { compileDirectorySelector } from "../domain/markers";
import { parseShardResult, type ShardResult } from "../domain/results";
import { exportWorkKeys } from "../domain/work-layout";
import type { ExportObjectStore, ExportProgressStore } from "../ports";
import { asWriter } from "./export-writers";
import { runExportShard } from "./run-export-shard";
import { MissingTaskShardError } from "./shard-files";

export interface CopyBatchEvent {
  Items: { shard: number }[];
  BatchInput: { exportId: string; exportPath: string; lastKeysInPrefixRegexp: string[] };
  /** Step Functions' retries of this batch so far ($$.State.RetryCount; absent: the first). */
  retryCount?: number;
}

export interface CopyStepDeps {
  store: ExportObjectStore;
  s3: S3Client;
  workBucket: string;
  copy?: CopyBatchOptions;
  /** Where each completed shard's counts are added while the export runs (none: not recorded). */
  progress?: ExportProgressStore;
  now?: () => Date;
}

export { MissingTaskShardError };

export interface CopyBatchCounts {
  shards: number;
  copied: number;
  deleted: number;
  failed: number;
  /** Shards a retried batch found complete (a result without failures) and left alone. */
  skipped?: number;
  /** A late attempt: the export had ended (its status step ran), so it copied nothing. */
  late?: true;
}

export async function runCopyStep(
  deps: CopyStepDeps,
  event: CopyBatchEvent,
): Promise<CopyBatchCounts> {
  const { exportId, exportPath, lastKeysInPrefixRegexp } = event.BatchInput ?? {};
  const keys = exportWorkKeys(exportId);
  const destBucket = parseS3Uri(exportPath, "BatchInput.exportPath").bucket;
  const selector = compileDirectorySelector(lastKeysInPrefixRegexp ?? []);
  const shards = (event.Items ?? []).map((item) => {
    if (!Number.isInteger(item?.shard) || item.shard < 0) {
      throw new RangeError(`Items[].shard: expected a shard index, got ${JSON.stringify(item)}`);
    }
    return item.shard;
  });
  const retried = retriedBatch(event.retryCount);
  // The batch's shards run side by side under one limit of operations in flight, so the
  // tail of one shard does not leave the function's connections idle (one shard needs none).
  const copy = deps.copy ?? {};
  const limiter =
    copy.limiter ?? (shards.length > 1 ? createLimiter(copy.concurrency ?? 32) : undefined);
  const out: CopyBatchCounts = { shards: 0, copied: 0, deleted: 0, failed: 0 };
  // Task shards are read while the writer registers: a read needs no registration (only
  // writes to the export path do), and each request in sequence waits behind the copies other
  // functions have in flight. A late batch reads its shards and drops them.
  const bodies = new Map(
    shards.map((s) => [s, settled(deps.store.getText(deps.workBucket, keys.taskShard(s)))]),
  );
  // A retry (after a Lambda service error: an earlier attempt may have run, or still run) leaves
  // alone the shards an attempt completed: a shard with a result is complete, and copies only
  // start over where one failed. Without it, a batch retried for a slow shard redid them all.
  const priorResults = retried
    ? new Map(
        shards.map((s) => [s, settled(deps.store.getText(deps.workBucket, keys.shardResult(s)))]),
      )
    : undefined;
  const runShard = async (shardIndex: number) => {
    if (priorResults) {
      const prior = await unsettled(priorResults.get(shardIndex) as Settled<string | undefined>);
      if (completeWithoutFailures(prior, shardIndex)) {
        out.shards++;
        out.skipped = (out.skipped ?? 0) + 1;
        return;
      }
    }
    const body = await unsettled(bodies.get(shardIndex) as Settled<string | undefined>);
    if (body === undefined) {
      throw new MissingTaskShardError(`task shard ${keys.taskShard(shardIndex)} does not exist`);
    }
    const { result, markerSummaryLines } = await runExportShard(
      deps.s3,
      { shardIndex, body, destBucket, selector },
      { ...copy, limiter },
    );
    if (markerSummaryLines.length > 0) {
      await deps.store.put(
        deps.workBucket,
        keys.markerSummary(shardIndex),
        `${markerSummaryLines.join("\n")}\n`,
      );
    }
    if (result.failed.length > 0) {
      logger.error("copy operations failed", {
        shard: shardIndex,
        failed: result.failed.length,
        firstFailure: result.failed[0],
      });
    }
    // A shard with a result is complete: written last. The progress count (for people
    // watching, never read back by the export) goes alongside, not after it.
    await Promise.all([
      deps.store.put(deps.workBucket, keys.shardResult(shardIndex), JSON.stringify(result)),
      addCopiedQuietly(deps, exportId, result),
    ]);
    out.shards++;
    out.copied += result.copied;
    out.deleted += result.deleted;
    out.failed += result.failed.length;
  };
  // Registered as a writer of the export path: the export's end waits for this invocation,
  // and an invocation starting after that end copies nothing (export-writers.ts).
  const ran = await asWriter(
    { store: deps.store, workBucket: deps.workBucket, ...(deps.now ? { now: deps.now } : {}) },
    exportId,
    "copy",
    async () => {
      const settled = await Promise.allSettled(shards.map(runShard));
      const rejected = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
      if (rejected) throw rejected.reason;
      return out;
    },
  );
  if (ran) return ran;
  logger.warn("copy batch started after its export ended: nothing copied", { exportId, shards });
  return { ...out, late: true };
}

/** retryCount as Step Functions passes it: absent or 0 on the first attempt. */
function retriedBatch(retryCount: unknown): boolean {
  if (retryCount === undefined) return false;
  if (!Number.isInteger(retryCount) || (retryCount as number) < 0) {
    throw new RangeError(`retryCount: expected a retry count, got ${JSON.stringify(retryCount)}`);
  }
  return (retryCount as number) > 0;
}

/** A result an earlier attempt wrote for this shard, with every operation done. */
function completeWithoutFailures(text: string | undefined, shard: number): boolean {
  if (text === undefined) return false;
  try {
    const result = parseShardResult(text);
    return result.shard === shard && result.failed.length === 0;
  } catch {
    // Unreadable: the shard is copied again, and its result written over.
    return false;
  }
}

/** Progress is for people watching: failing to record it never fails the batch. A retried
 * batch adds its shards again (the status step's totals, from the shard results, are exact). */
async function addCopiedQuietly(deps: CopyStepDeps, exportId: string, result: ShardResult) {
  if (!deps.progress) return;
  try {
    await deps.progress.addCopied(
      exportId,
      {
        shards: 1,
        copied: result.copied,
        deleted: result.deleted,
        copiedBytes: result.copiedBytes,
        failed: result.failed.length,
      },
      (deps.now ?? (() => new Date()))(),
    );
  } catch (err) {
    logger.warn("export progress not recorded", { error: (err as Error).message });
  }
}

type Settled<T> = Promise<{ value: T } | { error: unknown }>;
/** A promise whose rejection is held until it is awaited (none unhandled if never awaited). */
const settled = <T>(p: Promise<T>): Settled<T> =>
  p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
const unsettled = async <T>(p: Settled<T>): Promise<T> => {
  const r = await p;
  if ("error" in r) throw r.error;
  return r.value;
};
