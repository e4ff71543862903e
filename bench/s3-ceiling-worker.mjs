// One client thread of the S3 ceiling loop (bench/s3-ceiling.ts): CopyObject calls with no
// Lakeport code and no SDK (bench/signed-copy.mjs: signed here, sent with node:http),
// `concurrency` in flight, in a worker thread like the Lambdas' clients, timed after an untimed
// warm-up: the least client work a copy can take, so that S3, not the client, is what the loop
// measures. (Through the SDK's S3Client.send a copy cost some 590 µs of client CPU here,
// hand-signed some 100 µs; the export's own signed request some 140 µs:
// bench/copy-client-cpu.ts.)
import { readlinkSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { createSignedCopier } from "./signed-copy.mjs";

const {
  endpoint,
  credentials,
  bucket,
  sources,
  from,
  to,
  concurrency,
  prefix,
  request,
  extraClientWork,
} = workerData;
const WARMUP_COPIES = 500;
const copier = createSignedCopier({ endpoint, credentials });
// request "export": the copy request the export sends (lakeport's copy-object.ts: the lakeFS
// content type replaces the source's, its tags are not copied) to keys laid out as the
// bench's branch.
const exportHeaders = {
  "content-type": "application/octet-stream",
  "x-amz-metadata-directive": "REPLACE",
  "x-amz-tagging-directive": "REPLACE",
};
const exportPath = (i) =>
  `data/${String(i % 100).padStart(2, "0")}/part-${String(i).padStart(7, "0")}.bin`;
// Extra client work after each copy's answer (ExtraClientWork in s3-ceiling.ts): how much a
// loop loses to work beside its copies, as the export's functions do beside theirs.
const garbageDoc = JSON.stringify(
  Array.from({ length: 8 }, (_, i) => ({
    path: `data/${i}/part-${String(i).padStart(7, "0")}.bin`,
    size: i * 1000,
    etag: `"${"a".repeat(32)}"`,
  })),
);
let sink = 0;
const extraWork = !extraClientWork
  ? undefined
  : extraClientWork.kind === "spin"
    ? () => {
        let x = sink;
        for (let k = 0; k < extraClientWork.amount * 1000; k++) x = (x * 31 + k) | 0;
        sink = x;
      }
    : () => {
        for (let k = 0; k < extraClientWork.amount; k++) sink += JSON.parse(garbageDoc).length;
      };
const copies = async (first, last, keyPrefix) => {
  let next = first;
  const loop = async () => {
    while (next < last) {
      const i = next++;
      await copier.copy(
        bucket,
        request === "export" ? `${keyPrefix}/${exportPath(i)}` : `${keyPrefix}/${i}`,
        `${bucket}/src/${i % sources}`,
        request === "export" ? exportHeaders : {},
      );
      extraWork?.();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, last - first) }, loop));
};
// Warm up untimed (the code compiled, sockets open), as a running Lambda is: a fresh
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
copier.destroy();
if (sink === 0.5) console.log(sink); // keeps the extra work from being optimized away
parentPort.postMessage("done");
// Kept alive until told to end: the bench reads this thread's CPU time after "done".
await new Promise((resolve) => parentPort.once("message", resolve));
