// The pure half of the sweep: DeleteObjects batches and what their answers mean. A sweep
// run again after an interruption must finish without error, so a key that is already
// gone counts as deleted (S3 answers success for it anyway).

/** S3 DeleteObjects takes at most 1 000 keys a request. */
export const DELETE_BATCH_SIZE = 1000;

export function* deleteBatches(
  keys: Iterable<string>,
  size: number = DELETE_BATCH_SIZE,
): Generator<string[]> {
  if (!Number.isInteger(size) || size < 1 || size > DELETE_BATCH_SIZE) {
    throw new RangeError(`delete batch size must be 1..${DELETE_BATCH_SIZE}`);
  }
  let batch: string[] = [];
  for (const key of keys) {
    batch.push(key);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** The same batches from a stream (a marked part read line by line). */
export async function* deleteBatchesOf(
  keys: AsyncIterable<string>,
  size: number = DELETE_BATCH_SIZE,
): AsyncGenerator<string[]> {
  if (!Number.isInteger(size) || size < 1 || size > DELETE_BATCH_SIZE) {
    throw new RangeError(`delete batch size must be 1..${DELETE_BATCH_SIZE}`);
  }
  let batch: string[] = [];
  for await (const key of keys) {
    batch.push(key);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Per-key error codes worth another try (throttling and server-side trouble). */
const RETRYABLE = new Set(["SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"]);

export interface DeleteOutcome {
  deleted: string[];
  /** Try these again (after a back-off). */
  retry: string[];
  /** Reported in the run, never ignored. */
  failed: { key: string; code: string; message: string }[];
}

/**
 * Sorts the keys of one DeleteObjects request by its answer (the SDK's `Deleted` and
 * `Errors`, keys relative to the bucket). A key in neither list (a quiet-mode answer) was
 * deleted; NoSuchKey means it already was.
 */
export function classifyDeleteResult(
  requested: readonly string[],
  result: {
    Errors?: { Key?: string; Code?: string; Message?: string }[];
  },
): DeleteOutcome {
  const errors = new Map<string, { code: string; message: string }>();
  for (const e of result.Errors ?? []) {
    if (e.Key !== undefined) {
      errors.set(e.Key, { code: e.Code ?? "Unknown", message: e.Message ?? "" });
    }
  }
  const outcome: DeleteOutcome = { deleted: [], retry: [], failed: [] };
  for (const key of requested) {
    const error = errors.get(key);
    if (error === undefined || error.code === "NoSuchKey") outcome.deleted.push(key);
    else if (RETRYABLE.has(error.code)) outcome.retry.push(key);
    else outcome.failed.push({ key, ...error });
  }
  return outcome;
}
