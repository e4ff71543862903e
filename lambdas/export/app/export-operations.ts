// Export tasks (plan shards) to engine operations. A task whose source address cannot be
// parsed becomes a failure of that task, not an error of the batch. Keep tasks need none.

import type { BatchOperation, OperationFailure } from "../../shared/s3-copy/types";
import { parseS3ObjectUri } from "../../shared/s3-uri";
import type { ExportTask } from "../domain/tasks";

export function operationsOfTasks(
  tasks: readonly ExportTask[],
  destBucket: string,
): { operations: BatchOperation[]; invalid: OperationFailure[] } {
  const operations: BatchOperation[] = [];
  const invalid: OperationFailure[] = [];
  for (const task of tasks) {
    if (task.op === "keep") continue;
    if (task.op === "delete") {
      operations.push({ kind: "delete", id: task.path, bucket: destBucket, key: task.destKey });
      continue;
    }
    try {
      const source = parseS3ObjectUri(task.sourceAddress, `sourceAddress of ${task.path}`);
      operations.push({
        kind: "copy",
        id: task.path,
        sourceBucket: source.bucket,
        sourceKey: source.key,
        destBucket,
        destKey: task.destKey,
        ...(task.size !== undefined ? { size: task.size } : {}),
        ...(task.contentType ? { contentType: task.contentType } : {}),
        ...(task.metadata ? { metadata: task.metadata } : {}),
      });
    } catch (error) {
      invalid.push({
        path: task.path,
        code: "InvalidSourceAddress",
        message: (error as Error).message,
      });
    }
  }
  return { operations, invalid };
}
