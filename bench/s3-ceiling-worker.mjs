// One client thread of the S3 ceiling loop (bench/s3-ceiling.ts): CopyObject calls with no
// Lakeport code, `concurrency` in flight, in a worker thread like the Lambdas' clients, timed
// after an untimed warm-up.
import { readlinkSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { CopyObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";

const { endpoint, credentials, bucket, sources, from, to, concurrency, prefix, request } =
  workerData;
const WARMUP_COPIES = 500;
// The Lambdas' client settings (lambdas/shared/aws/clients.ts): kept-alive sockets, no
// optional checksums, S3_TIMEOUTS (a timer per request, as the Lambdas' requests have).
const s3 = new S3Client({
  endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  credentials,
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
  requestHandler: new NodeHttpHandler({
    httpAgent: { keepAlive: true, maxSockets: 128 },
    connectionTimeout: 3_000,
    requestTimeout: 300_000,
    throwOnRequestTimeout: true,
  }),
});
// request "export": the copy request the export sends (lakeport's copy-object.ts: the lakeFS
// content type and metadata replace the source's, its tags are not copied) to keys laid out
// as the bench's branch.
const exportHeaders = {
  MetadataDirective: "REPLACE",
  TaggingDirective: "REPLACE",
  ContentType: "application/octet-stream",
  Metadata: {},
};
const exportPath = (i) =>
  `data/${String(i % 100).padStart(2, "0")}/part-${String(i).padStart(7, "0")}.bin`;
const copies = async (first, last, keyPrefix) => {
  let next = first;
  const loop = async () => {
    while (next < last) {
      const i = next++;
      await s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: request === "export" ? `${keyPrefix}/${exportPath(i)}` : `${keyPrefix}/${i}`,
          CopySource: `${bucket}/src/${i % sources}`,
          ...(request === "export" ? exportHeaders : {}),
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, last - first) }, loop));
};
// Warm up untimed (the SDK's code compiled, sockets open), as a running Lambda is: a fresh
// thread's first few hundred calls are slower and would make the ceiling lower than S3 is.
await copies(from, from + WARMUP_COPIES, `${prefix}-warmup`);
// "ready" with this thread's Linux thread id: the bench counts the loop's CPU time apart.
let linuxThreadId = "";
try {
  linuxThreadId = readlinkSync("/proc/thread-self").split("/").pop();
} catch {
  // No /proc: the loop's threads are not told apart.
}
parentPort.postMessage(`ready:${linuxThreadId}`);
await new Promise((resolve) => parentPort.once("message", resolve));
await copies(from, to, prefix);
s3.destroy();
parentPort.postMessage("done");
// Kept alive until told to end: the bench reads this thread's CPU time after "done".
await new Promise((resolve) => parentPort.once("message", resolve));
