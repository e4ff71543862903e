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

/** Copies as they come; deletes grouped per bucket into calls of up to `size` keys. */
class JobGrouper {
  private readonly deletes = new Map<string, DeleteOperation[]>();
  constructor(private readonly size: number) {}

  /** The job `op` completes, if any. */
  add(op: BatchOperation): Job | undefined {
    if (op.kind === "copy") return { kind: "copy", op };
    const list = this.deletes.get(op.bucket) ?? [];
    list.push(op);
    this.deletes.set(op.bucket, list);
    if (list.length < this.size) return undefined;
    this.deletes.delete(op.bucket);
    return { kind: "delete", bucket: op.bucket, ops: list };
  }

  /** The delete calls still open at the end. */
  rest(): Job[] {
    return [...this.deletes].map(([bucket, ops]) => ({ kind: "delete", bucket, ops }));
  }
}

// A plain generator for in-memory operations (an export shard): the async one costs a few
// promise turns per operation, which a copy batch CPU-bound on small objects feels.
function* jobsOfIterable(ops: Iterable<BatchOperation>, size: number): Generator<Job> {
  const g = new JobGrouper(size);
  for (const op of ops) {
    const job = g.add(op);
    if (job) yield job;
  }
  yield* g.rest();
}

async function* jobsOfStream(
  ops: AsyncIterable<BatchOperation>,
  size: number,
): AsyncGenerator<Job> {
  const g = new JobGrouper(size);
  for await (const op of ops) {
    const job = g.add(op);
    if (job) yield job;
  }
  yield* g.rest();
}

const jobsOf = (ops: Source<BatchOperation>, size: number): Source<Job> =>
  Symbol.asyncIterator in ops
    ? jobsOfStream(ops as AsyncIterable<BatchOperation>, size)
    : jobsOfIterable(ops as Iterable<BatchOperation>, size);

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
    present: 0,
    failed: [],
  };
  const deleteBatchSize = Math.min(opts.deleteBatchSize ?? MAX_DELETE_BATCH, MAX_DELETE_BATCH);
  const onProgress = opts.onProgress;
  const run = onProgress
    ? async (job: Job) => {
        await runJob(job);
        onProgress(result);
      }
    : runJob;
  const limiter = opts.limiter;
  await forEachConcurrently(
    jobsOf(ops, deleteBatchSize),
    opts.concurrency ?? 32,
    limiter ? (job) => limiter(() => run(job)) : run,
  );
  return result;

  async function runJob(job: Job): Promise<void> {
    if (job.kind === "copy") {
      try {
        const out = await copyObject(s3, job.op, opts);
        result.succeeded++;
        if (out.present) {
          result.present++;
        } else {
          result.copied++;
          result.copiedBytes += out.size;
        }
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
