// Reading the per-shard files of an export back from the work bucket.
import { exportWorkKeys, shardIndexOfKey } from "../domain/work-layout";
import type { ExportObjectStore } from "../ports";

/** A planned task shard is not in the work bucket (expired or deleted): its tasks are unknown. */
export class MissingTaskShardError extends Error {
  override readonly name = "MissingTaskShardError";
}

/** Indexes of the shards whose copy batch completed (a result file exists). */
export async function completedShards(
  store: ExportObjectStore,
  workBucket: string,
  exportId: string,
): Promise<Set<number>> {
  const done = new Set<number>();
  for await (const key of store.listKeys(workBucket, exportWorkKeys(exportId).resultsPrefix)) {
    done.add(shardIndexOfKey(key));
  }
  return done;
}

/** Shards planned but without a result: their copy batch failed or never ran. */
export function missingShards(planned: number, completed: ReadonlySet<number>): number[] {
  const missing: number[] = [];
  for (let i = 0; i < planned; i++) if (!completed.has(i)) missing.push(i);
  return missing;
}

export function nonEmptyLines(body: string): string[] {
  return body.split("\n").filter((l) => l.trim() !== "");
}
