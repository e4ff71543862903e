// Writes empty marker objects (`_lakefs_success`), bounded concurrency, throttling retried;
// failures are reported per key (they withhold the markers of ancestor directories).
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { forEachConcurrently } from "../concurrency";
import { errorCode, type RetryOptions, withRetry } from "../retry";
import type { KeyFailure } from "./delete-objects";

export async function writeEmptyObjects(
  s3: S3Client,
  bucket: string,
  keys: Iterable<string> | AsyncIterable<string>,
  opts: { concurrency?: number; retry?: RetryOptions } = {},
): Promise<{ written: number; failed: KeyFailure[] }> {
  let written = 0;
  const failed: KeyFailure[] = [];
  await forEachConcurrently(keys, opts.concurrency ?? 32, async (key) => {
    try {
      await withRetry(
        () =>
          s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "", ContentLength: 0 })),
        opts.retry ?? {},
      );
      written++;
    } catch (error) {
      failed.push({
        key,
        code: errorCode(error),
        message: (error as Error)?.message ?? String(error),
      });
    }
  });
  return { written, failed };
}
