// The S3 ceiling: how many CopyObject calls per second the embedded S3 answers for a tight
// concurrent loop with no Lakeport code, measured in the same run as the export it is
// compared with (same server, same disk, same machine load).
import {
  CopyObjectCommand,
  CreateBucketCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { runPool } from "./pool";

export interface CeilingResult {
  copies: number;
  concurrency: number;
  seconds: number;
  objectsPerSecond: number;
  /** Every concurrency tried, the best is the ceiling. */
  tried: { concurrency: number; objectsPerSecond: number }[];
}

export async function measureCopyCeiling(
  s3: S3Client,
  opts: { bucket: string; sources: number; copies: number; concurrencies: number[]; body: string },
): Promise<CeilingResult> {
  await s3.send(new CreateBucketCommand({ Bucket: opts.bucket }));
  await runPool(opts.sources, 32, (i) =>
    s3.send(new PutObjectCommand({ Bucket: opts.bucket, Key: `src/${i}`, Body: opts.body })),
  );
  const tried: CeilingResult["tried"] = [];
  let best: CeilingResult | undefined;
  for (const concurrency of opts.concurrencies) {
    const t0 = performance.now();
    await runPool(opts.copies, concurrency, (i) =>
      s3.send(
        new CopyObjectCommand({
          Bucket: opts.bucket,
          Key: `dst-${concurrency}/${i}`,
          CopySource: `${opts.bucket}/src/${i % opts.sources}`,
        }),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    const objectsPerSecond = opts.copies / seconds;
    tried.push({ concurrency, objectsPerSecond });
    if (!best || objectsPerSecond > best.objectsPerSecond) {
      best = { copies: opts.copies, concurrency, seconds, objectsPerSecond, tried };
    }
  }
  return best!;
}
