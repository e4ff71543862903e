// Batched deletes: DeleteObjects with up to 1 000 keys per call, per-key errors reported.
// Keys answered with a retryable code (SlowDown, InternalError) are retried with backoff.
// A key XML cannot carry goes alone in a DeleteObject, its key in the URI.
import { DeleteObjectCommand, DeleteObjectsCommand, type S3Client } from "@aws-sdk/client-s3";
import type { FinalizeRequestMiddleware, MiddlewareStack } from "@smithy/types";
import {
  defaultSleep,
  errorCode,
  fullJitterDelayMs,
  isRetryableAwsError,
  logRetry,
  type RetryOptions,
  withRetry,
} from "../retry";

export const MAX_DELETE_BATCH = 1000;

export interface KeyFailure {
  key: string;
  code: string;
  message: string;
}

export interface DeleteObjectsResult {
  deleted: number;
  failed: KeyFailure[];
  /** Keys `beforeSend` withheld from a request: neither deleted nor failed. */
  withheld: string[];
}

/**
 * `beforeSend` threw (`reason`): the call stopped there. `partial` says what its requests did
 * before: the keys in none of `failed`, `withheld` and `unsent` were deleted (a request of a
 * batch whose throttled keys were to be resent went through, and the caller's record of what
 * was deleted must list them). `unsent`: keys not deleted because the call stopped.
 */
export class DeleteStoppedError extends Error {
  override readonly name = "DeleteStoppedError";
  constructor(
    readonly reason: unknown,
    readonly partial: DeleteObjectsResult & { unsent: string[] },
  ) {
    super((reason as Error)?.message ?? String(reason));
  }
}

export interface DeleteObjectsOptions {
  retry?: RetryOptions;
  batchSize?: number;
  /**
   * Called right before every request, retries included, with the keys it would delete;
   * returns those it may (GC's check that nothing references them again: a key throttled and
   * resent seconds later must be checked again). An error it throws ends the call: a
   * DeleteStoppedError with that error as `reason` and what the call did before.
   */
  beforeSend?: (keys: string[]) => Promise<string[]>;
  /**
   * How long one request may wait for its answer to begin (default: the client's limit,
   * minutes). Past it the request is taken as lost (TimeoutError) and sent again, through
   * `beforeSend`: GC's sweep stopping before its function's timeout must not wait minutes.
   */
  requestTimeoutMs?: number;
}

/** The send options of one request: its own answer limit when one is given. */
const sendOptions = (opts: DeleteObjectsOptions) =>
  opts.requestTimeoutMs ? { requestTimeout: opts.requestTimeoutMs } : undefined;

export async function deleteObjects(
  s3: S3Client,
  bucket: string,
  keys: readonly string[],
  opts: DeleteObjectsOptions = {},
): Promise<DeleteObjectsResult> {
  const batchSize = Math.min(opts.batchSize ?? MAX_DELETE_BATCH, MAX_DELETE_BATCH);
  const result: DeleteObjectsResult = { deleted: 0, failed: [], withheld: [] };
  const batched = keys.filter((k) => !XML_INVALID.test(k));
  const singles = keys.filter((k) => XML_INVALID.test(k));
  /** Stopped by `beforeSend`: what went through before, and every key not yet sent. */
  const stopped = (reason: unknown, partial: DeleteObjectsResult, unsent: string[]) =>
    new DeleteStoppedError(reason, {
      deleted: result.deleted + partial.deleted,
      failed: [...result.failed, ...partial.failed],
      withheld: [...result.withheld, ...partial.withheld],
      unsent,
    });
  for (let i = 0; i < batched.length; i += batchSize) {
    let r: DeleteObjectsResult;
    try {
      r = await deleteBatch(s3, bucket, batched.slice(i, i + batchSize), opts);
    } catch (error) {
      if (!(error instanceof DeleteStoppedError)) throw error;
      throw stopped(error.reason, error.partial, [
        ...error.partial.unsent,
        ...batched.slice(i + batchSize),
        ...singles,
      ]);
    }
    result.deleted += r.deleted;
    result.failed.push(...r.failed);
    result.withheld.push(...r.withheld);
  }
  for (const [j, key] of singles.entries()) {
    const hook = hookCalls(opts.beforeSend);
    try {
      let sent = true;
      await withRetry(async () => {
        sent = (await hook.call([key])).length > 0;
        if (sent) {
          const command = new DeleteObjectCommand({ Bucket: bucket, Key: key });
          if (opts.beforeSend) sentOnceBySdk(command);
          await s3.send(command, sendOptions(opts));
        }
      }, opts.retry ?? {});
      if (sent) result.deleted++;
      else result.withheld.push(key);
    } catch (error) {
      if (hook.failed) {
        throw stopped(error, { deleted: 0, failed: [], withheld: [] }, singles.slice(j));
      }
      const message = (error as Error).message ?? String(error);
      result.failed.push({ key, code: errorCode(error), message });
    }
  }
  return result;
}

/**
 * The command with the SDK's own retry replaced, for it alone, by a pass-through: each resend
 * is then this module's, through `beforeSend` again. The SDK resent a delete whose answer was
 * lost or hung (its request timeout, minutes) unchecked, and deleted an object back at its key
 * since (a restore's copy, a link): test/integration/gc-delete-resend-check.test.ts.
 */
function sentOnceBySdk<I extends object, O extends object>(command: {
  middlewareStack: MiddlewareStack<I, O>;
}): void {
  const passThrough: FinalizeRequestMiddleware<I, O> = (next) => (args) => next(args);
  command.middlewareStack.add(passThrough, {
    name: "retryMiddleware",
    tags: ["RETRY"],
    step: "finalizeRequest",
    priority: "high",
    override: true,
  });
}

/** Runs `beforeSend` (none: every key), remembering whether it threw (its error is no S3's). */
function hookCalls(beforeSend: DeleteObjectsOptions["beforeSend"]) {
  const hook = {
    failed: false,
    call: async (keys: string[]): Promise<string[]> => {
      if (!beforeSend) return keys;
      try {
        return await beforeSend(keys);
      } catch (error) {
        hook.failed = true;
        throw error;
      }
    },
  };
  return hook;
}

/**
 * Characters XML 1.0 cannot hold, not even as a character reference: S3 answers a
 * DeleteObjects naming such a key MalformedXML, failing every key of the batch.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const XML_INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

/**
 * The keys of `sent` an error's Key may stand for. An XML parser reads a carriage return
 * written as is (S3 writes keys so in listings) as a line feed: an error for `a\rb` then
 * names `a\nb`, which may be another object, not in the batch. Matched with line ends made
 * alike, every sent key that could be meant is taken (retrying a delete of a key also in the
 * batch is harmless).
 */
function keysAsAnswered(sent: readonly string[]): (answered: string) => string[] {
  const exact = new Set(sent);
  const lineEnds = (k: string) => k.replace(/\r\n?/g, "\n");
  let byLineEnds: Map<string, string[]> | undefined;
  return (answered) => {
    if (exact.has(answered) && !/[\r\n]/.test(answered)) return [answered];
    byLineEnds ??= groupBy(sent, lineEnds);
    return byLineEnds.get(lineEnds(answered)) ?? [];
  };
}

function groupBy(keys: readonly string[], of: (k: string) => string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const k of keys) {
    const group = out.get(of(k));
    if (group) group.push(k);
    else out.set(of(k), [k]);
  }
  return out;
}

async function deleteBatch(
  s3: S3Client,
  bucket: string,
  keys: string[],
  opts: DeleteObjectsOptions,
): Promise<DeleteObjectsResult> {
  const retry = opts.retry ?? {};
  const maxAttempts = Math.max(1, retry.maxAttempts ?? 8);
  const sleep = retry.sleep ?? defaultSleep;
  const random = retry.random ?? Math.random;
  const hook = hookCalls(opts.beforeSend);
  let pending = keys;
  let deleted = 0;
  const failed: KeyFailure[] = [];
  const withheld: string[] = [];
  for (let attempt = 1; pending.length > 0; attempt++) {
    let errors: { Key?: string; Code?: string; Message?: string }[];
    let sent: string[] = [];
    try {
      const out = await withRetry(async () => {
        sent = await hook.call(pending);
        if (sent.length === 0) return { Errors: [] };
        const command = new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: sent.map((Key) => ({ Key })), Quiet: true },
        });
        if (opts.beforeSend) sentOnceBySdk(command);
        return s3.send(command, sendOptions(opts));
      }, retry);
      errors = out.Errors ?? [];
    } catch (error) {
      // Keys deleted by this batch's earlier requests stay deleted: the caller is told which.
      if (hook.failed) {
        throw new DeleteStoppedError(error, { deleted, failed, withheld, unsent: pending });
      }
      // The whole call failed (no permission, no bucket...): every key of the batch fails.
      const code = errorCode(error);
      const message = (error as Error).message ?? String(error);
      for (const key of sent) failed.push({ key, code, message });
      withheld.push(...notIn(pending, sent));
      return { deleted, failed, withheld };
    }
    withheld.push(...notIn(pending, sent));
    const retryable = new Set<string>();
    const erroredKeys = new Set<string>();
    const sentAs = keysAsAnswered(sent);
    for (const e of errors) {
      const code = e.Code ?? "Unknown";
      const message = e.Message ?? code;
      const keys = sentAs(e.Key ?? "");
      if (keys.length === 0) {
        // A key that is none of those sent: which one failed is unknown, so the batch did.
        failed.push({ key: e.Key ?? "", code, message });
        deleted--;
        continue;
      }
      for (const key of keys) {
        erroredKeys.add(key);
        if (attempt < maxAttempts && isRetryableAwsError({ code })) retryable.add(key);
        else failed.push({ key, code, message });
      }
    }
    deleted += sent.filter((k) => !erroredKeys.has(k)).length;
    pending = [...retryable];
    if (pending.length > 0) {
      const delayMs = fullJitterDelayMs(attempt, {
        baseDelayMs: retry.baseDelayMs ?? 100,
        maxDelayMs: retry.maxDelayMs ?? 10_000,
        random,
      });
      logRetry(attempt, delayMs, {
        code: "DeleteObjectsKeyErrors",
        message: `${pending.length} key(s) answered with a transient error`,
      });
      await sleep(delayMs);
    }
  }
  return { deleted, failed, withheld };
}

const notIn = (keys: readonly string[], sent: readonly string[]) => {
  if (sent.length === keys.length) return [];
  const kept = new Set(sent);
  return keys.filter((k) => !kept.has(k));
};
