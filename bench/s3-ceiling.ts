// The S3 ceiling: how many CopyObject calls per second the embedded S3 answers for a tight
// concurrent loop with no Lakeport code, measured in the same run as the export it is
// compared with (same server, same disk, same machine load). The loop runs in worker threads,
// as the copy Lambdas do, so its client work does not share the S3 server's thread; every
// combination of threads and requests in flight is tried (each thread warmed up first, untimed)
// and the best is the ceiling.
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type CpuUse, cpuSnapshot, cpuUse } from "./cpu-usage";
import { runPool } from "./pool";

export interface CeilingResult {
  copies: number;
  threads: number;
  concurrency: number;
  seconds: number;
  objectsPerSecond: number;
  /** CPU of the best setting's timed copies (absent without /proc). */
  cpu?: CpuUse;
  /** When the best setting's timed copies started and ended (epoch ms). */
  startedAtMs: number;
  endedAtMs: number;
  /** Every setting tried; the best is the ceiling. */
  tried: {
    threads: number;
    concurrency: number;
    objectsPerSecond: number;
    cpu?: CpuUse;
    startedAtMs: number;
    endedAtMs: number;
  }[];
}

export interface CeilingOptions {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  bucket: string;
  sources: number;
  copies: number;
  /** [worker threads, requests in flight per thread] */
  settings: [number, number][];
  body: string;
  /** "plain": CopyObject with no options, one key per copy under one prefix; "export": the
   * export's own request and key layout. Default plain. */
  request?: "plain" | "export";
  /** Work each loop thread does after every copy's answer (bench/ceiling-extra-work.ts). */
  extraClientWork?: ExtraClientWork;
}

/**
 * Client work added to every copy of the loop: `spin`, `amount` thousand iterations of an
 * integer loop (CPU, no memory traffic); `garbage`, `amount` parses of a 742-byte JSON document
 * of eight objects (short-lived objects the thread's collector then clears, as a Lambda's do).
 */
export interface ExtraClientWork {
  kind: "spin" | "garbage";
  amount: number;
}

/**
 * The extra client work of a series of ceiling samples, from `none`, `spin:<thousands of
 * iterations>` and `garbage:<parses>` separated by commas (LAKEPORT_BENCH_EXTRA_WORK).
 */
export function extraClientWorkSeriesOf(text: string): (ExtraClientWork | undefined)[] {
  const items = text.split(",").map((t) => t.trim());
  return items.map((item) => {
    if (item === "none") return undefined;
    const m = /^(spin|garbage):([1-9][0-9]{0,4})$/.exec(item);
    if (!m) {
      throw new RangeError(
        `LAKEPORT_BENCH_EXTRA_WORK: expected none, spin:<n> or garbage:<n> (n from 1 to 99999) separated by commas, got ${JSON.stringify(item)}`,
      );
    }
    return { kind: m[1] as ExtraClientWork["kind"], amount: Number(m[2]) };
  });
}

const WORKER = new URL("./s3-ceiling-worker.mjs", import.meta.url);

export async function measureCopyCeiling(
  s3: S3Client,
  opts: CeilingOptions,
): Promise<CeilingResult> {
  await s3.send(new CreateBucketCommand({ Bucket: opts.bucket }));
  await runPool(opts.sources, 32, (i) =>
    s3.send(new PutObjectCommand({ Bucket: opts.bucket, Key: `src/${i}`, Body: opts.body })),
  );
  const tried: CeilingResult["tried"] = [];
  let best: CeilingResult | undefined;
  for (const [threads, concurrency] of opts.settings) {
    const prefix = `dst-${threads}x${concurrency}`;
    const share = Math.ceil(opts.copies / threads);
    const workers = Array.from(
      { length: threads },
      (_, t) =>
        new Worker(WORKER, {
          workerData: {
            endpoint: opts.endpoint,
            credentials: opts.credentials,
            bucket: opts.bucket,
            sources: opts.sources,
            from: t * share,
            to: Math.min(opts.copies, (t + 1) * share),
            concurrency,
            prefix,
            request: opts.request ?? "plain",
            extraClientWork: opts.extraClientWork,
          },
        }),
    );
    const message = async (w: Worker, expected: string) => {
      const [msg] = (await Promise.race([once(w, "message"), once(w, "error")])) as [unknown];
      if (typeof msg !== "string" || msg.split(":")[0] !== expected) {
        throw msg instanceof Error ? msg : new Error(String(msg));
      }
      return msg.split(":")[1] ?? "";
    };
    // Timing starts once every thread has loaded its modules and warmed up.
    const threadIds = new Set(
      (await Promise.all(workers.map((w) => message(w, "ready")))).filter((t) => t !== ""),
    );
    const cpuBefore = cpuSnapshot();
    const startedAtMs = Date.now();
    const t0 = performance.now();
    for (const w of workers) w.postMessage("go");
    await Promise.all(workers.map((w) => message(w, "done")));
    const seconds = (performance.now() - t0) / 1000;
    const endedAtMs = Date.now();
    // Read before the threads end: an ended thread's time leaves the process's counters.
    const cpuAfter = cpuSnapshot();
    await Promise.all(workers.map((w) => w.terminate()));
    const objectsPerSecond = opts.copies / seconds;
    const cpu =
      cpuBefore && cpuAfter
        ? cpuUse(cpuBefore, cpuAfter, opts.copies, threadIds.size > 0 ? threadIds : undefined)
        : undefined;
    tried.push({
      threads,
      concurrency,
      objectsPerSecond,
      ...(cpu ? { cpu } : {}),
      startedAtMs,
      endedAtMs,
    });
    if (!best || objectsPerSecond > best.objectsPerSecond) {
      best = {
        copies: opts.copies,
        threads,
        concurrency,
        seconds,
        objectsPerSecond,
        ...(cpu ? { cpu } : {}),
        startedAtMs,
        endedAtMs,
        tried,
      };
    }
  }
  return best!;
}
