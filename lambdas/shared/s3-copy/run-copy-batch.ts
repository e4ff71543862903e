// Runs a batch of copies and deletes with bounded concurrency. Copies run one per slot;
// deletes are grouped per bucket into DeleteObjects calls of up to 1 000 keys, each taking a
// slot. Throttling is retried with backoff and jitter (copyObject / deleteObjects); what still
// fails is reported per operation, the batch itself never throws for an S3 error.
import type { S3Client } from "@aws-sdk/client-s3";
import { forEachConcurrently, type Source } from "../concurrency";
import { errorCode } from "../retry";
import { type CopyObjectOptions, copyObject } from "./copy-object";
import { deleteObjects, MAX_DELETE_BATCH } from "./delete-objects";
import type { BatchOperation, CopyBatchResult, CopyOperation, DeleteOperation } from "./types";

export interface CopyBatchOptions extends CopyObjectOptions {
  /** Operations (copies, or delete calls) in flight. Default 32. */
  concurrency?: number;
  /** Keys per DeleteObjects call. Default 1 000. */
  deleteBatchSize?: number;
  /**
   * Shared by batches run side by side: at most its limit of operations in flight across all
   * of them (each batch still runs at most `concurrency`), so a batch nearing its end hands
   * its slots to the others instead of idling them.
   */
  limiter?: <R>(task: () => Promise<R>) => Promise<R>;
  /** Called after each copy or delete call with the counts so far (a CLI's progress line). */
  onProgress?: (soFar: Readonly<CopyBatchResult>) => void;
}

type Job =
  | { kind: "copy"; op: CopyOperation }
  | { kind: "delete"; bucket: string; ops: DeleteOperation[] };

async function* jobsOf(ops: Source<BatchOperation>, deleteBatchSize: number): AsyncGenerator<Job> {
  const deletes = new Map<string, DeleteOperation[]>();
  for await (const op of ops) {
    if (op.kind === "copy") {
      yield { kind: "copy", op };
      continue;
    }
    const list = deletes.get(op.bucket) ?? [];
    list.push(op);
    deletes.set(op.bucket, list);
    if (list.length >= deleteBatchSize) {
      deletes.delete(op.bucket);
      yield { kind: "delete", bucket: op.bucket, ops: list };
    }
  }
  for (const [bucket, list] of deletes) yield { kind: "delete", bucket, ops: list };
}

export async function runCopyBatch(
  s3: S3Client,
  ops: Source<BatchOperation>,
  opts: CopyBatchOptions = {},
): Promise<CopyBatchResult> {
  const result: CopyBatchResult = {
    succeeded: 0,
    copied: 0,
    deleted: 0,
    copiedBytes: 0,
    failed: [],
  };
  const deleteBatchSize = Math.min(opts.deleteBatchSize ?? MAX_DELETE_BATCH, MAX_DELETE_BATCH);
  const limited = opts.limiter ?? (<R>(task: () => Promise<R>) => task());
  await forEachConcurrently(jobsOf(ops, deleteBatchSize), opts.concurrency ?? 32, (job) =>
    limited(async () => {
      await runJob(job);
      opts.onProgress?.(result);
    }),
  );
  return result;

  async function runJob(job: Job): Promise<void> {
    if (job.kind === "copy") {
      try {
        const out = await copyObject(s3, job.op, opts);
        result.copied++;
        result.succeeded++;
        result.copiedBytes += out.size;
      } catch (error) {
        result.failed.push({
          path: job.op.id,
          code: errorCode(error),
          message: (error as Error)?.message ?? String(error),
        });
      }
      return;
    }
    const byKey = new Map<string, string[]>();
    for (const op of job.ops) byKey.set(op.key, [...(byKey.get(op.key) ?? []), op.id]);
    const out = await deleteObjects(s3, job.bucket, [...byKey.keys()], {
      retry: opts.retry ?? {},
      batchSize: deleteBatchSize,
    });
    const failedKeys = new Set<string>();
    for (const f of out.failed) {
      failedKeys.add(f.key);
      for (const id of byKey.get(f.key) ?? [f.key]) result.failed.push({ path: id, ...pick(f) });
    }
    const ok = job.ops.filter((op) => !failedKeys.has(op.key)).length;
    result.deleted += ok;
    result.succeeded += ok;
  }
}

const pick = (f: { code: string; message: string }) => ({ code: f.code, message: f.message });
