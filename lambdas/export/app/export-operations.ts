// Export tasks (plan shards) to engine operations. A task that cannot be carried out as
// planned becomes a failure of that task, not an error of the batch: a source address that
// cannot be parsed, a destination key longer than S3 allows, an object of the commit where a
// selected directory's success marker goes. Keep tasks need no operation.

import type { BatchOperation, OperationFailure } from "../../shared/s3-copy/types";
import { parseS3ObjectUri } from "../../shared/s3-uri";
import { type DirectorySelector, markerDirectoryOf } from "../domain/markers";
import type { ExportTask } from "../domain/tasks";

/** S3's limit on the UTF-8 bytes of an object key. */
export const MAX_KEY_BYTES = 1024;

export function operationsOfTasks(
  tasks: readonly ExportTask[],
  destBucket: string,
  selector?: DirectorySelector,
): { operations: BatchOperation[]; invalid: OperationFailure[] } {
  const operations: BatchOperation[] = [];
  const invalid: OperationFailure[] = [];
  for (const task of tasks) {
    const tooLong = Buffer.byteLength(task.destKey, "utf8") > MAX_KEY_BYTES;
    // Such a key cannot exist in S3: nothing to delete.
    if (task.op === "delete" && tooLong) continue;
    if (task.op === "delete") {
      // A selected directory's marker is the markers step's to write or remove (the task still
      // names its directory in the shard's summary): deleted here, an attempt of this batch
      // still running after the markers step wrote it would remove it under a success line.
      if (selector && markerDirectoryOf(task.path, selector) !== undefined) continue;
      operations.push({ kind: "delete", id: task.path, bucket: destBucket, key: task.destKey });
      continue;
    }
    const problem = taskProblem(task, tooLong, selector);
    if (problem) {
      invalid.push(problem);
      continue;
    }
    if (task.op === "keep") continue;
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

/** Why an object of the commit (copy or keep) cannot be exported, or undefined. */
function taskProblem(
  task: ExportTask,
  tooLong: boolean,
  selector: DirectorySelector | undefined,
): OperationFailure | undefined {
  if (tooLong) {
    const bytes = Buffer.byteLength(task.destKey, "utf8");
    return {
      path: task.path,
      code: "KeyTooLong",
      message: `under the export prefix its key is ${bytes} bytes; S3 keys are at most ${MAX_KEY_BYTES}`,
    };
  }
  const dir = selector ? markerDirectoryOf(task.path, selector) : undefined;
  if (dir === undefined) return undefined;
  return {
    path: task.path,
    code: "MarkerCollision",
    message: `the commit has an object where the success marker of the selected directory ${JSON.stringify(dir)} goes; rename it or change lastKeysInPrefixRegexp`,
  };
}
