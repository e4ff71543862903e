// A backup counts a listed object the namespace no longer holds as absent. When the location
// holds it all the same (saved there by an earlier backup of the mark into its own location),
// it is saved, not absent: the record's promise then covers it, and a restore that later finds
// it missing from the location counts it short of the backup instead of taking it for one of
// the backup's absent objects (which would hide another object the location lost). A restore's
// listed object the location lacks but the namespace still holds (never swept) is present too:
// nothing of it is lost, so it does not count short of the backup.
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { errorCode } from "../../shared/retry";
import type { CopyOperation } from "../../shared/s3-copy/types";

/** The copies (whose source was absent) whose destination holds the object already. */
export async function heldAtDestination(
  s3: S3Client,
  ops: readonly CopyOperation[],
  concurrency = 32,
): Promise<CopyOperation[]> {
  const held: CopyOperation[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ops.length) {
      const op = ops[next++] as CopyOperation;
      try {
        await s3.send(new HeadObjectCommand({ Bucket: op.destBucket, Key: op.destKey }));
        held.push(op);
      } catch (err) {
        const code = errorCode(err);
        if (code !== "NotFound" && code !== "NoSuchKey") throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ops.length) }, worker));
  return held;
}
