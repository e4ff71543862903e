// One client thread of the S3 ceiling loop (bench/s3-ceiling.ts): CopyObject calls with no
// Lakeport code and no SDK, `concurrency` in flight, in a worker thread like the Lambdas'
// clients, timed after an untimed warm-up. Each request is signed here (SigV4 with node:crypto,
// the signing key derived once a day) and sent with node:http over kept-alive sockets: the
// least client work a CopyObject can take, so that S3, not the client, is what the loop
// measures. (Through the SDK's S3Client.send a copy cost some 590 µs of client CPU here,
// hand-signed some 100 µs; the export signs with the SDK's signer, some 170 µs.)
import { createHash, createHmac } from "node:crypto";
import { readlinkSync } from "node:fs";
import http from "node:http";
import { parentPort, workerData } from "node:worker_threads";

const { endpoint, credentials, bucket, sources, from, to, concurrency, prefix, request } =
  workerData;
const WARMUP_COPIES = 500;
const REGION = "us-east-1";
const url = new URL(endpoint);
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const EMPTY_SHA256 = createHash("sha256").update("").digest("hex");
const hmac = (key, text) => createHmac("sha256", key).update(text).digest();
let signingDay = "";
let signingKey;
const keyOf = (day) => {
  if (day !== signingDay) {
    signingDay = day;
    signingKey = hmac(
      hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), REGION), "s3"),
      "aws4_request",
    );
  }
  return signingKey;
};
const encodeSegment = (s) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
// request "export": the copy request the export sends (lakeport's copy-object.ts: the lakeFS
// content type replaces the source's, its tags are not copied) to keys laid out as the
// bench's branch.
const exportHeaders = {
  "content-type": "application/octet-stream",
  "x-amz-metadata-directive": "REPLACE",
  "x-amz-tagging-directive": "REPLACE",
};

/** One signed CopyObject; rejects on anything but a CopyObjectResult. */
function copyObject(key, copySource) {
  const path = `/${bucket}/${key.split("/").map(encodeSegment).join("/")}`;
  const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, "");
  const day = amzDate.slice(0, 8);
  const headers = {
    host: url.host,
    "x-amz-content-sha256": EMPTY_SHA256,
    "x-amz-copy-source": copySource,
    "x-amz-date": amzDate,
    ...(request === "export" ? exportHeaders : {}),
  };
  const names = Object.keys(headers).sort();
  const canonical = [
    "PUT",
    path,
    "",
    ...names.map((n) => `${n}:${headers[n]}`),
    "",
    names.join(";"),
    EMPTY_SHA256,
  ].join("\n");
  const scope = `${day}/${REGION}/s3/aws4_request`;
  const toSign = [
    "AWS4-HMAC-SHA256",
    amzDate,
    scope,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  const signature = createHmac("sha256", keyOf(day)).update(toSign).digest("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  headers["content-length"] = "0";
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname: url.hostname, port: url.port, path, method: "PUT", headers, agent },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString();
          if (res.statusCode === 200 && body.includes("<CopyObjectResult")) resolve();
          else reject(new Error(`CopyObject ${key}: HTTP ${res.statusCode} ${body.slice(0, 300)}`));
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const exportPath = (i) =>
  `data/${String(i % 100).padStart(2, "0")}/part-${String(i).padStart(7, "0")}.bin`;
const copies = async (first, last, keyPrefix) => {
  let next = first;
  const loop = async () => {
    while (next < last) {
      const i = next++;
      await copyObject(
        request === "export" ? `${keyPrefix}/${exportPath(i)}` : `${keyPrefix}/${i}`,
        `${bucket}/src/${i % sources}`,
      );
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
agent.destroy();
parentPort.postMessage("done");
// Kept alive until told to end: the bench reads this thread's CPU time after "done".
await new Promise((resolve) => parentPort.once("message", resolve));
