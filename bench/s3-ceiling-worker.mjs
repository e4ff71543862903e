// One client thread of the S3 ceiling loop (bench/s3-ceiling.ts): CopyObject calls with no
// Lakeport code, `concurrency` in flight, in a worker thread like the Lambdas' clients.
import { parentPort, workerData } from "node:worker_threads";
import { CopyObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";

const { endpoint, credentials, bucket, sources, from, to, concurrency, prefix } = workerData;
// The Lambdas' client settings (lambdas/shared/aws/clients.ts): kept-alive sockets, no
// optional checksums.
const s3 = new S3Client({
  endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  credentials,
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
  requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true, maxSockets: 128 } }),
});
let next = from;
const loop = async () => {
  while (next < to) {
    const i = next++;
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: `${prefix}/${i}`,
        CopySource: `${bucket}/src/${i % sources}`,
      }),
    );
  }
};
// Modules are loaded: say so, and start when every thread is ready (timing excludes loading).
parentPort.postMessage("ready");
await new Promise((resolve) => parentPort.once("message", resolve));
await Promise.all(Array.from({ length: Math.min(concurrency, to - from) }, loop));
s3.destroy();
parentPort.postMessage("done");
