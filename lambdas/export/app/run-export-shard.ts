// The work of one plan shard: parse its tasks, run them as one copy batch, and summarise the
// shard for the status (ShardResult) and for the success markers (sorted summary lines).
import type { S3Client } from "@aws-sdk/client-s3";
import { type CopyBatchOptions, runCopyBatch } from "../../shared/s3-copy/run-copy-batch";
import {
  type DirectorySelector,
  encodeMarkerSummaryLine,
  ShardMarkerSummaryBuilder,
} from "../domain/markers";
import type { ShardResult } from "../domain/results";
import { parseTaskShard } from "../domain/tasks";
import { operationsOfTasks } from "./export-operations";

export interface ExportShardInput {
  shardIndex: number;
  /** The shard's JSON Lines. */
  body: string;
  destBucket: string;
  selector: DirectorySelector;
}

export interface ExportShardOutput {
  result: ShardResult;
  /** Lines of exports/<id>/markers/summary/shard-NNNNNN.jsonl (empty without regexes). */
  markerSummaryLines: string[];
}

export async function runExportShard(
  s3: S3Client,
  input: ExportShardInput,
  opts: CopyBatchOptions = {},
): Promise<ExportShardOutput> {
  const tasks = parseTaskShard(input.body);
  const { operations, invalid } = operationsOfTasks(tasks, input.destBucket, input.selector);
  const batch = await runCopyBatch(s3, operations, opts);
  const failed = [...invalid, ...batch.failed];
  const failedPaths = new Set(failed.map((f) => f.path));
  const summary = new ShardMarkerSummaryBuilder(input.selector);
  for (const t of tasks) summary.add(t.path, failedPaths.has(t.path), t.op !== "delete");
  return {
    result: {
      version: 1,
      shard: input.shardIndex,
      copied: batch.copied,
      deleted: batch.deleted,
      copiedBytes: batch.copiedBytes,
      failed,
    },
    markerSummaryLines: summary.entries().map(encodeMarkerSummaryLine),
  };
}
