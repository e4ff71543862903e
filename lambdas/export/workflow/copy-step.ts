// Copy step (a distributed map child): a batch of task shards, each run as one copy batch
// (runExportShard). Per shard it writes the marker summary, then the shard result: a shard
// with a result is complete. Returns only counts (the map discards them anyway).
import type { S3Client } from "@aws-sdk/client-s3";
import { parseS3Uri } from "../../shared/s3-uri";
import { type CopyBatchOptions, runExportShard } from "../copy";
import { compileDirectorySelector } from "../domain/markers";
import { exportWorkKeys } from "../domain/work-layout";
import type { ExportObjectStore } from "../ports";

export interface CopyBatchEvent {
  Items: { shard: number }[];
  BatchInput: { exportId: string; exportPath: string; lastKeysInPrefixRegexp: string[] };
}

export interface CopyStepDeps {
  store: ExportObjectStore;
  s3: S3Client;
  workBucket: string;
  copy?: CopyBatchOptions;
}

export class MissingTaskShardError extends Error {
  override readonly name = "MissingTaskShardError";
}

export async function runCopyStep(
  deps: CopyStepDeps,
  event: CopyBatchEvent,
): Promise<{ shards: number; copied: number; deleted: number; failed: number }> {
  const { exportId, exportPath, lastKeysInPrefixRegexp } = event.BatchInput ?? {};
  const keys = exportWorkKeys(exportId);
  const destBucket = parseS3Uri(exportPath, "BatchInput.exportPath").bucket;
  const selector = compileDirectorySelector(lastKeysInPrefixRegexp ?? []);
  const out = { shards: 0, copied: 0, deleted: 0, failed: 0 };
  for (const item of event.Items ?? []) {
    const shardIndex = item.shard;
    if (!Number.isInteger(shardIndex) || shardIndex < 0) {
      throw new RangeError(`Items[].shard: expected a shard index, got ${JSON.stringify(item)}`);
    }
    const body = await deps.store.getText(deps.workBucket, keys.taskShard(shardIndex));
    if (body === undefined) {
      throw new MissingTaskShardError(`task shard ${keys.taskShard(shardIndex)} does not exist`);
    }
    const { result, markerSummaryLines } = await runExportShard(
      deps.s3,
      { shardIndex, body, destBucket, selector },
      deps.copy ?? {},
    );
    if (markerSummaryLines.length > 0) {
      await deps.store.put(
        deps.workBucket,
        keys.markerSummary(shardIndex),
        `${markerSummaryLines.join("\n")}\n`,
      );
    }
    await deps.store.put(deps.workBucket, keys.shardResult(shardIndex), JSON.stringify(result));
    out.shards++;
    out.copied += result.copied;
    out.deleted += result.deleted;
    out.failed += result.failed.length;
  }
  return out;
}
