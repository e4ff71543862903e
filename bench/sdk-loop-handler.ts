// A copy Lambda stand-in for the copy-handler diagnostic (`VARIANTS=entry:bench/sdk-loop-handler.ts`):
// CopyObject through the AWS SDK's S3Client.send (the way the ceiling loop and the copy Lambdas
// copied until 2026-12-05) behind the copy handler's event: the task shard read, then 32
// copies in flight and nothing else (no retries, limiter, results or logging). What the real
// handler costs beyond or below it is Lakeport's copy path (which no longer uses send).
import { CopyObjectCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";

const s3 = new S3Client({
  region: process.env.AWS_REGION ?? "us-east-1",
  forcePathStyle: true,
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
  requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true, maxSockets: 128 } }),
});

interface CopyEvent {
  Items: { shard: number }[];
  BatchInput: { exportId: string; exportPath: string };
}

export const handler = async (event: CopyEvent) => {
  const { exportId, exportPath } = event.BatchInput;
  const destBucket = exportPath.replace(/^s3:\/\//, "").split("/")[0];
  const shard = String(event.Items[0]?.shard ?? 0).padStart(6, "0");
  const o = await s3.send(
    new GetObjectCommand({
      Bucket: process.env.WORK_BUCKET,
      Key: `exports/${exportId}/tasks/shard-${shard}.jsonl`,
    }),
  );
  const body = (await o.Body?.transformToString()) ?? "";
  const tasks = body
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { sourceAddress: string; destKey: string });
  let next = 0;
  const loop = async () => {
    while (next < tasks.length) {
      const t = tasks[next++] as { sourceAddress: string; destKey: string };
      await s3.send(
        new CopyObjectCommand({
          Bucket: destBucket,
          Key: t.destKey,
          CopySource: t.sourceAddress.replace(/^s3:\/\//, ""),
          MetadataDirective: "REPLACE",
          ContentType: "application/octet-stream",
          Metadata: {},
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: 32 }, loop));
  return { copied: tasks.length };
};
