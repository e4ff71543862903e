// What earlier exports touched, read back from their task shards in the work bucket: a
// failed or interrupted export may have copied or deleted any path of the shards its plan
// result counts (each plan call writes the result, with the shards so far, before a copy map
// takes its shards; an export without a plan result touched nothing in the export path). Each
// export's shards are in path order; several exports are merged into one sorted stream, each
// path once.

import { compareKeys } from "../domain/keys";
import type { TouchedPaths } from "../domain/plan";
import { mergeSortedPaths } from "../domain/sorted-paths";
import { parseTaskShard } from "../domain/tasks";
import { exportWorkKeys } from "../domain/work-layout";
import type { ExportObjectStore } from "../ports";

export class TouchedPathsOfExports implements TouchedPaths {
  constructor(
    private readonly store: Pick<ExportObjectStore, "getText">,
    private readonly workBucket: string,
    private readonly exportIds: readonly string[],
  ) {}

  paths(afterPath: string | undefined): AsyncIterable<string> {
    return mergeSortedPaths(this.exportIds.map((id) => this.pathsOf(id, afterPath)));
  }

  private async *pathsOf(exportId: string, afterPath: string | undefined): AsyncGenerator<string> {
    const keys = exportWorkKeys(exportId);
    const result = await this.store.getText(this.workBucket, keys.planResult);
    if (result === undefined) return;
    const shards = (JSON.parse(result) as { counts?: { shards?: number } }).counts?.shards ?? 0;
    for (let i = 0; i < shards; i++) {
      const body = await this.store.getText(this.workBucket, keys.taskShard(i));
      if (body === undefined) {
        throw new Error(
          `task shard ${keys.taskShard(i)} of the failed export ${exportId} is missing, so what it touched is unknown: run export repair --full`,
        );
      }
      for (const task of parseTaskShard(body)) {
        if (afterPath === undefined || compareKeys(task.path, afterPath) > 0) yield task.path;
      }
    }
  }
}
