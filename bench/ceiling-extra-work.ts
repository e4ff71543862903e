// How much the S3 ceiling loop loses to client work beside its copies, as the export's
// functions do beside theirs: one thread with 64 copies in flight, 50 000 copies a sample
// (LAKEPORT_BENCH_COPIES), one sample per item of LAKEPORT_BENCH_EXTRA_WORK (default
// "none,spin:16,garbage:16,none,spin:16,garbage:16"; see extraClientWorkSeriesOf), one after
// another on the bench's own environment, each with its CPU split as the bench reports it.
//   npx tsx bench/ceiling-extra-work.ts
import { rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { LOCAL_S3_CREDENTIALS } from "../local/s3/credentials";
import { defaultDataRoot, startBenchEnv } from "./env";
import { type ExtraClientWork, extraClientWorkSeriesOf, measureCopyCeiling } from "./s3-ceiling";

const series = extraClientWorkSeriesOf(
  process.env.LAKEPORT_BENCH_EXTRA_WORK ?? "none,spin:16,garbage:16,none,spin:16,garbage:16",
);
const copies = Number(process.env.LAKEPORT_BENCH_COPIES ?? 50_000);
if (!Number.isInteger(copies) || copies < 1000) {
  throw new RangeError(`LAKEPORT_BENCH_COPIES: expected an integer of 1000 or more, got ${copies}`);
}
const nameOf = (w: ExtraClientWork | undefined) => (w ? `${w.kind}:${w.amount}` : "none");
const env = await startBenchEnv({
  dataRoot: defaultDataRoot(),
  assemblyCacheDir: path.join(os.tmpdir(), "lakeport-bench-assembly"),
  storageBuckets: ["bench-extra-work-ns"],
  exportBuckets: ["bench-extra-work-exports"],
  log: () => undefined,
});
try {
  for (const [i, work] of series.entries()) {
    const c = await measureCopyCeiling(env.s3, {
      endpoint: env.s3Server.endpoint,
      credentials: { ...LOCAL_S3_CREDENTIALS },
      bucket: `extra-work-${i}`,
      sources: 1000,
      copies,
      settings: [[1, 64]],
      body: "ceiling object body, about the size of the exported ones\n",
      request: "export",
      ...(work ? { extraClientWork: work } : {}),
    });
    // The copies are never read again: removed as files, as the bench's own samples are.
    await rm(path.join(env.dir, "s3", `extra-work-${i}`), { recursive: true, force: true });
    const cpu = c.cpu;
    const µs = (n: number | undefined) => (n === undefined ? "?" : n.toFixed(0));
    console.log(
      `${new Date().toISOString().slice(11, 19)} ${nameOf(work).padEnd(12)} ${c.objectsPerSecond.toFixed(0)} objects/s` +
        (cpu
          ? `; CPU per copy ${µs(cpu.microsPerObject)} µs: S3's thread ${µs(cpu.mainThreadMicrosPerObject)}, loop ${µs(cpu.clientThreadsMicrosPerObject)}, helpers ${µs(cpu.helperThreadsMicrosPerObject)}; ${cpu.cores.toFixed(2)} cores; S3's thread ran ${cpu.mainThreadRunShare?.toFixed(2)}, waited ${cpu.mainThreadWaitShare?.toFixed(3)}`
          : ""),
    );
  }
} finally {
  await env.stop();
}
