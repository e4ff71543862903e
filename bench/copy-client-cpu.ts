// Diagnostic (not part of `npm run bench`): client CPU per CopyObject, three ways, against a
// stand-in server in another process that answers every request with a CopyObjectResult (so
// that only the client's work is counted, in this process):
//
//   - sdk:    S3Client.send(new CopyObjectCommand(...)), the Lambdas' client settings;
//   - direct: Lakeport's copy (lambdas/shared/s3-copy/direct-copy.ts: the SDK's signer, the
//             client's HTTP handler, the request built by the SDK once per bucket);
//   - signed: the ceiling loop's hand-signed request (bench/signed-copy.mjs).
//
//   npx tsx bench/copy-client-cpu.ts   (COPIES=20000 IN_FLIGHT=64 ROUNDS=2)
//
// Each way warms up untimed, then makes COPIES copies with IN_FLIGHT in flight; the rounds
// alternate the ways, as this machine's speed drifts within minutes.
import { type ChildProcess, spawn } from "node:child_process";
import { CopyObjectCommand } from "@aws-sdk/client-s3";
import { createS3Client } from "../lambdas/shared/aws/clients";
import { copyHeadersOf, copySourceOf } from "../lambdas/shared/s3-copy/copy-object";
import { createDirectCopier } from "../lambdas/shared/s3-copy/direct-copy";
import { createSignedCopier } from "./signed-copy.mjs";

const COPIES = Number(process.env.COPIES ?? 20_000);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 64);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const credentials = { accessKeyId: "AKIADIAGNOSTIC", secretAccessKey: "diagnostic-secret" };
const BUCKET = "copy-client-cpu";

/** The stand-in server: a child process, so its CPU is not this process's. */
const SERVER = `
const http = require("node:http");
const body = '<?xml version="1.0" encoding="UTF-8"?>\\n<CopyObjectResult><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag></CopyObjectResult>';
http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
}).listen(0, "127.0.0.1", function () { process.send(this.address().port); });
`;

async function startServer(): Promise<{ endpoint: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["-e", SERVER], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve) =>
    child.once("message", (m) => resolve(m as number)),
  );
  return { endpoint: `http://127.0.0.1:${port}`, child };
}

const keyOf = (i: number) =>
  `exp/data/${String(i % 100).padStart(2, "0")}/part-${String(i).padStart(7, "0")}.bin`;
const sourceOf = (i: number) => copySourceOf(BUCKET, `src/${i % 1000}`);

async function timed(copy: (i: number) => Promise<unknown>, copies: number) {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < copies) await copy(next++);
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return {
    microsPerCopy: (cpu.user + cpu.system) / copies,
    perSecond: copies / ((performance.now() - t0) / 1000),
  };
}

async function main() {
  const { endpoint, child } = await startServer();
  const s3 = createS3Client({ endpoint, region: "us-east-1", credentials });
  const direct = createDirectCopier(s3);
  const signed = createSignedCopier({ endpoint, credentials });
  const input = {
    sourceBucket: BUCKET,
    sourceKey: "src/0",
    destBucket: BUCKET,
    destKey: "x",
    contentType: "application/octet-stream",
  };
  const headers = copyHeadersOf(input);
  const ways: Record<string, (i: number) => Promise<unknown>> = {
    sdk: (i) =>
      s3.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: keyOf(i),
          CopySource: sourceOf(i),
          MetadataDirective: "REPLACE",
          TaggingDirective: "REPLACE",
          ContentType: input.contentType,
          Metadata: {},
        }),
      ),
    direct: async (i) => {
      const out = await direct.copy({
        bucket: BUCKET,
        key: keyOf(i),
        copySource: sourceOf(i),
        headers,
      });
      if (!out) throw new Error("the direct copy fell back to the SDK");
    },
    signed: (i) => signed.copy(BUCKET, keyOf(i), sourceOf(i), headers),
  };
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, copy] of Object.entries(ways)) {
        await timed(copy, 2_000);
        const r = await timed(copy, COPIES);
        console.log(
          `round ${round} ${name.padEnd(6)}: ${r.microsPerCopy.toFixed(0)} µs of client CPU per copy (${r.perSecond.toFixed(0)} copies/s, ${IN_FLIGHT} in flight)`,
        );
      }
    }
  } finally {
    signed.destroy();
    s3.destroy();
    child.kill();
  }
}

await main();
