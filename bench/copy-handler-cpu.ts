// Diagnostic (not part of `npm run bench`): CPU per copy of the bundled export copy Lambda, run
// the way the local runtime runs it (local/lambda/worker.mjs, the function's heap limit and the
// template's environment), against the ceiling loop (bench/s3-ceiling-worker.mjs), on one
// embedded S3 server. No lakeFS, no state machine: what is left of the difference is in the
// copy Lambda itself.
//
//   npx tsx bench/copy-handler-cpu.ts   (ROUNDS=3 SHARDS=17 WORKERS=2 COPIES_PER_WORKER=32
//                                        VARIANTS=runtime,unlimited,young:48,old:1769)
//
// By default the two run alternately, WORKERS threads each; this VM's speed drifts by a quarter
// within minutes, so a few rounds differ by that much. SIDE_BY_SIDE=1 (WINDOW_S=30) runs one
// loop thread and one Lambda worker at the same moment instead and compares each thread's own
// CPU time per copy: the drift cancels out (V8's helper threads, shared, are not counted).
//
// VARIANTS=entry:<file>[+unlimited] puts another handler in the copy Lambda's place (same event,
// bundling and runtime) to tell which layer costs what, e.g. the loop's own calls as a handler;
// VARIANTS=external:<file> the same handler with its packages loaded from node_modules (not
// bundled), as the loop loads them. SHARD_SIZE (default 1 000) sets the copies per invocation.
// CPU_PROFILE_DIR=<dir> makes every worker thread write a V8 CPU profile there; KEEP_BUNDLE=1
// keeps the bundle and its source map (printed) to read the Lambda's profile by.
//
// SAME_BUCKET=1 makes the Lambda copy from the destination bucket, as the ceiling loop does
// (by default its sources are in another bucket, as an export's are).
//
// Progress writes go to the S3 endpoint and fail, which the copy step ignores by design.
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { build } from "esbuild";
import { COPY_MEMORY_MB as DEPLOYED_COPY_MEMORY_MB } from "../infra/constructs/export";
import { LAKEPORT_ESBUILD_OPTIONS } from "../infra/constructs/function";
import { heapLimitsOf } from "../local/lambda/worker-invocation";
import { LOCAL_S3_CREDENTIALS } from "../local/s3/credentials";
import { startS3Server } from "../local/s3/server";
import { cpuSnapshot, cpuUse, waitForQuietMachine } from "./cpu-usage";
import { defaultDataRoot } from "./env";
import { runPool } from "./pool";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SHARDS = Number(process.env.SHARDS ?? 17);
const WORKERS = Number(process.env.WORKERS ?? 2);
const PER_WORKER = Number(process.env.COPIES_PER_WORKER ?? 32);
const SHARD_SIZE = Number(process.env.SHARD_SIZE ?? 1000);
const SOURCES = 1000;
// The copy function's memory size: its worker's heap limit in the local runtime.
const COPY_MEMORY_MB = Number(process.env.COPY_MEMORY_MB ?? DEPLOYED_COPY_MEMORY_MB);
/** How the Lambda's worker is limited: "runtime" as the local runtime does (Lambda's limits
 * for the memory size), "unlimited" (V8's defaults), "young:<MiB>" (the runtime's with that young
 * generation), "old:<MiB>" (another old generation limit, as another memory size would give).
 * Each runs after the same ceiling sample. */
const VARIANTS = (process.env.VARIANTS ?? "runtime").split(",");

function report(
  round: number,
  name: string,
  u: ReturnType<typeof cpuUse> & { objectsPerSecond: number },
) {
  console.log(
    `round ${round} ${name.padEnd(28)} ${u.objectsPerSecond.toFixed(0).padStart(5)}/s, CPU per copy ${u.microsPerObject.toFixed(0)} µs (main thread ${u.mainThreadMicrosPerObject.toFixed(0)}, other threads ${u.otherThreadsMicrosPerObject.toFixed(0)}), ${u.cores.toFixed(2)} cores`,
  );
}

/** CPU_PROFILE_DIR=<dir>: each worker thread writes a V8 CPU profile there (node --cpu-prof). */
function cpuProfileOptions(name: string) {
  const dir = process.env.CPU_PROFILE_DIR;
  if (!dir) return {};
  return {
    execArgv: ["--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}.cpuprofile`],
  };
}

/** The copy function's worker limits in the local runtime (Lambda's, by its memory size). */
const runtimeLimits = heapLimitsOf({ memorySizeMb: COPY_MEMORY_MB });

function resourceLimitsOf(variant: string) {
  if (variant === "unlimited") return undefined;
  if (variant.startsWith("entry:") || variant.startsWith("external:")) {
    // entry:<file>+unlimited: that handler with V8's default limits.
    return variant.endsWith("+unlimited") ? undefined : runtimeLimits;
  }
  const young = /^young:(\d+)$/.exec(variant)?.[1];
  const old = /^old:(\d+)$/.exec(variant)?.[1];
  if (variant !== "runtime" && young === undefined && old === undefined) {
    throw new Error(`VARIANTS: unknown ${variant}`);
  }
  return {
    maxOldGenerationSizeMb: old ? Number(old) : runtimeLimits.maxOldGenerationSizeMb,
    maxYoungGenerationSizeMb: young ? Number(young) : runtimeLimits.maxYoungGenerationSizeMb,
  };
}

const keyOf = (i: number) =>
  `data/${String(i % 100).padStart(2, "0")}/part-${String(i).padStart(7, "0")}.bin`;

async function main() {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "lakeport-copy-cpu-"));
  // The embedded S3 on a memory file system where there is one, as the bench keeps it.
  const data = await mkdtemp(path.join(defaultDataRoot(), "lakeport-copy-cpu-"));
  await build({
    ...LAKEPORT_ESBUILD_OPTIONS,
    mainFields: [...LAKEPORT_ESBUILD_OPTIONS.mainFields],
    entryPoints: { index: path.join(root, "lambdas/export/handlers/copy.ts") },
    outdir: tmp,
    logLevel: "error",
  });
  const bundle = path.join(tmp, "index.mjs");
  // VARIANTS=entry:<file>: another handler in the copy Lambda's place (the same event, the
  // same bundling and runtime), to tell which layer of the copy path costs what.
  const bundles = new Map<string, string>();
  for (const [n, variant] of VARIANTS.entries()) {
    const m = /^(entry|external):(.+?)(\+unlimited)?$/.exec(variant);
    if (!m) continue;
    // external:<file>: the handler alone, its packages loaded from node_modules as the
    // ceiling loop loads them (not bundled), to tell what the bundle itself costs.
    const external = m[1] === "external";
    const outdir = external
      ? path.join(root, "node_modules", ".cache", "lakeport-cpu", `entry-${n}`)
      : path.join(tmp, `entry-${n}`);
    await build({
      ...LAKEPORT_ESBUILD_OPTIONS,
      mainFields: [...LAKEPORT_ESBUILD_OPTIONS.mainFields],
      entryPoints: { index: path.resolve(m[2] as string) },
      outdir,
      nodePaths: [path.join(root, "node_modules")],
      ...(external ? { packages: "external" as const } : {}),
      logLevel: "error",
    });
    bundles.set(variant, path.join(outdir, "index.mjs"));
  }
  const server = await startS3Server({ directory: data });
  const s3 = new S3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { ...LOCAL_S3_CREDENTIALS },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  try {
    for (const b of ["cpusrc", "cpudst", "cpuwork", "cpuloop"]) {
      await s3.send(new CreateBucketCommand({ Bucket: b }));
    }
    const body = "an object about the size of the exported ones\n";
    await runPool(SOURCES, 32, async (i) => {
      await s3.send(new PutObjectCommand({ Bucket: "cpusrc", Key: `src/${i}`, Body: body }));
      await s3.send(new PutObjectCommand({ Bucket: "cpudst", Key: `src/${i}`, Body: body }));
      await s3.send(new PutObjectCommand({ Bucket: "cpuloop", Key: `src/${i}`, Body: body }));
    });
    const env = {
      ...process.env,
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: server.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
      LAKEPORT_S3_FORCE_PATH_STYLE: "true",
      WORK_BUCKET: "cpuwork",
      TABLE_NAME: "progress-not-recorded",
      COPY_CONCURRENCY: String(PER_WORKER),
      AWS_LAMBDA_FUNCTION_NAME: "ExportCopyFunction",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(COPY_MEMORY_MB),
      // As the template sets them (infra/constructs/export.ts), logging included.
      LOG_LEVEL: process.env.LOG_LEVEL ?? "INFO",
      POWERTOOLS_SERVICE_NAME: "lakeport-export",
      MULTIPART_THRESHOLD_BYTES: "5368709120",
    };
    const timed = (SHARDS - WORKERS) * SHARD_SIZE;
    const ratios = new Map<string, number[]>();
    if (process.env.SIDE_BY_SIDE) {
      for (let round = 1; round <= ROUNDS; round++) {
        for (const variant of VARIANTS) {
          const r = await sideBySide(
            server,
            s3,
            bundles.get(variant) ?? bundle,
            env,
            round,
            variant,
          );
          ratios.set(variant, [...(ratios.get(variant) ?? []), r]);
        }
      }
    }
    for (let round = 1; round <= (process.env.SIDE_BY_SIDE ? 0 : ROUNDS); round++) {
      const bare = await bareLoop(server.endpoint, round, timed);
      report(round, "ceiling loop", bare);
      for (const variant of VARIANTS) {
        const lambda = await copyLambda(s3, bundles.get(variant) ?? bundle, env, round, variant);
        report(round, `copy Lambda (${variant})`, lambda);
        ratios.set(variant, [
          ...(ratios.get(variant) ?? []),
          bare.microsPerObject / lambda.microsPerObject,
        ]);
      }
    }
    for (const [variant, r] of ratios) {
      console.log(
        `CPU ratio (ceiling loop / copy Lambda, ${variant}), by round: ${r.map((x) => x.toFixed(2)).join(", ")}`,
      );
    }
  } finally {
    s3.destroy();
    await server.stop();
    await rm(data, { recursive: true, force: true });
    if (process.env.KEEP_BUNDLE) console.log(`bundle kept in ${tmp}`);
    else await rm(tmp, { recursive: true, force: true });
  }
}

/** The ceiling loop, WORKERS threads x PER_WORKER copies in flight, after its warm-up. */
async function bareLoop(endpoint: string, round: number, copies: number) {
  await waitForQuietMachine();
  const workers = Array.from(
    { length: WORKERS },
    (_, t) =>
      new Worker(path.join(root, "bench/s3-ceiling-worker.mjs"), {
        ...cpuProfileOptions(`loop-${round}-${t}`),
        workerData: {
          endpoint,
          credentials: { ...LOCAL_S3_CREDENTIALS },
          bucket: "cpudst",
          sources: SOURCES,
          from: Math.floor((t * copies) / WORKERS),
          to: Math.floor(((t + 1) * copies) / WORKERS),
          concurrency: PER_WORKER,
          prefix: `loop-${round}`,
          request: "export",
        },
      }),
  );
  const message = (w: Worker, expected: string) =>
    new Promise<void>((resolve, reject) => {
      const on = (m: unknown) => {
        // "ready" comes with the thread's id ("ready:<tid>").
        if (typeof m !== "string" || m.split(":")[0] !== expected) return;
        w.off("message", on);
        resolve();
      };
      w.on("message", on);
      w.once("error", reject);
    });
  await Promise.all(workers.map((w) => message(w, "ready")));
  const done = workers.map((w) => message(w, "done"));
  const a = cpuSnapshot();
  const t0 = performance.now();
  for (const w of workers) w.postMessage("go");
  await Promise.all(done);
  const seconds = (performance.now() - t0) / 1000;
  const b = cpuSnapshot();
  await Promise.all(workers.map((w) => w.terminate()));
  return { objectsPerSecond: copies / seconds, ...usage(a, b, copies) };
}

/** Writes `shards` task shards of SHARD_SIZE copies for export `exportId` into `dest`. */
async function writeTaskShards(s3: S3Client, exportId: string, dest: string, shards: number) {
  await runPool(shards, 4, async (s) => {
    const lines = Array.from({ length: SHARD_SIZE }, (_, k) => {
      const i = s * SHARD_SIZE + k;
      return JSON.stringify({
        op: "copy",
        path: keyOf(i),
        sourceAddress: `s3://${process.env.SAME_BUCKET ? "cpudst" : "cpusrc"}/src/${i % SOURCES}`,
        destKey: `${dest}/${keyOf(i)}`,
        size: 46,
        contentType: "application/octet-stream",
        etag: "0123456789abcdef0123456789abcdef",
      });
    });
    await s3.send(
      new PutObjectCommand({
        Bucket: "cpuwork",
        Key: `exports/${exportId}/tasks/shard-${String(s).padStart(6, "0")}.jsonl`,
        Body: `${lines.join("\n")}\n`,
      }),
    );
  });
}

/** A copy Lambda execution environment: the local runtime's worker with the bundled handler. */
function lambdaWorker(bundle: string, env: NodeJS.ProcessEnv, variant: string, name: string) {
  const w = new Worker(path.join(root, "local/lambda/worker.mjs"), {
    ...cpuProfileOptions(name),
    env,
    workerData: { file: bundle, exportName: "handler", extraNodePaths: [] },
    ...(resourceLimitsOf(variant) ? { resourceLimits: resourceLimitsOf(variant) } : {}),
    stdout: true,
    stderr: true,
  });
  w.stdout.resume();
  w.stderr.resume();
  return w;
}

let invocationId = 0;
/** One invocation of the copy handler on shard `shard`; resolves with the worker's thread id. */
function invokeCopy(w: Worker, exportId: string, dest: string, shard: number) {
  return new Promise<number | undefined>((resolve, reject) => {
    const mine = ++invocationId;
    const on = (m: {
      id: number;
      ok: boolean;
      payload: string;
      memory?: { linuxThreadId?: number };
    }) => {
      if (m.id !== mine) return;
      w.off("message", on);
      if (m.ok) resolve(m.memory?.linuxThreadId);
      else reject(new Error(m.payload));
    };
    w.on("message", on);
    w.postMessage({
      id: mine,
      event: {
        Items: [{ shard }],
        BatchInput: { exportId, exportPath: `s3://cpudst/${dest}`, lastKeysInPrefixRegexp: [] },
      },
      context: {
        awsRequestId: `r-${mine}`,
        functionName: "ExportCopyFunction",
        functionVersion: "$LATEST",
        invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:ExportCopyFunction",
        memoryLimitInMB: String(COPY_MEMORY_MB),
        logGroupName: "/aws/lambda/ExportCopyFunction",
        logStreamName: "local",
        deadlineMs: Date.now() + 15 * 60_000,
      },
    });
  });
}

/** The bundled copy handler in the local runtime's worker, one task shard per invocation. */
async function copyLambda(
  s3: S3Client,
  bundle: string,
  env: NodeJS.ProcessEnv,
  round: number,
  variant: string,
) {
  const exportId = `cpu-${round}-${variant.replace(/[^a-z0-9]/g, "")}`;
  const dest = `lambda-${round}-${variant.replace(/[^a-z0-9]/g, "")}`;
  await writeTaskShards(s3, exportId, dest, SHARDS);
  const workers = Array.from({ length: WORKERS }, (_, t) =>
    lambdaWorker(bundle, env, variant, `lambda-${round}-${t}`),
  );
  try {
    // One shard per worker untimed: its code loaded and compiled, as the ceiling warms up.
    await Promise.all(workers.map((w, k) => invokeCopy(w, exportId, dest, k)));
    let next = WORKERS;
    await waitForQuietMachine();
    const a = cpuSnapshot();
    const t0 = performance.now();
    await Promise.all(
      workers.map(async (w) => {
        while (next < SHARDS) await invokeCopy(w, exportId, dest, next++);
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const b = cpuSnapshot();
    const copies = (SHARDS - WORKERS) * SHARD_SIZE;
    return { objectsPerSecond: copies / seconds, ...usage(a, b, copies) };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * SIDE_BY_SIDE=1: one ceiling-loop thread and one copy Lambda worker at the same time, each
 * with PER_WORKER copies in flight, over a WINDOW_S-second window after both warmed up. Both
 * see the same machine at the same moment, so the drift of this kind of VM (a quarter within
 * minutes) cancels out: each thread's own CPU time per copy (Linux's per-thread counters) and
 * copies (the S3 server's counters, one destination bucket each) are compared directly.
 */
async function sideBySide(
  server: Awaited<ReturnType<typeof startS3Server>>,
  s3: S3Client,
  bundle: string,
  env: NodeJS.ProcessEnv,
  round: number,
  variant: string,
) {
  const windowS = Number(process.env.WINDOW_S ?? 30);
  const tag = `${round}-${VARIANTS.indexOf(variant)}`;
  const exportId = `sbs-${tag}`;
  const dest = `sbs-${tag}`;
  // Enough shards for the window at the fastest rate seen on this machine, and a margin.
  const shards = Math.ceil(((windowS + 20) * 1500) / SHARD_SIZE);
  await writeTaskShards(s3, exportId, dest, shards);
  await waitForQuietMachine();
  const lambda = lambdaWorker(bundle, env, variant, `sbs-lambda-${tag}`);
  const lambdaTid = String(await invokeCopy(lambda, exportId, dest, 0));
  const loop = new Worker(path.join(root, "bench/s3-ceiling-worker.mjs"), {
    ...cpuProfileOptions(`sbs-loop-${tag}`),
    workerData: {
      endpoint: server.endpoint,
      credentials: { ...LOCAL_S3_CREDENTIALS },
      bucket: "cpuloop",
      sources: SOURCES,
      from: 0,
      to: 10_000_000,
      concurrency: PER_WORKER,
      prefix: `sbs-loop-${tag}`,
      request: "export",
    },
  });
  const [ready] = (await once(loop, "message")) as [string];
  const loopTid = ready.split(":")[1] ?? "";
  loop.postMessage("go");
  let stop = false;
  let next = 1;
  const lambdaRun = (async () => {
    while (!stop && next < shards) await invokeCopy(lambda, exportId, dest, next++);
    if (!stop) throw new Error(`side by side: the Lambda ran out of shards (${shards})`);
  })();
  const copies = () => ({
    loop: server.admin.requestCounts({ bucket: "cpuloop" }).byOperation.CopyObject ?? 0,
    lambda: server.admin.requestCounts({ bucket: "cpudst" }).byOperation.CopyObject ?? 0,
  });
  await new Promise((r) => setTimeout(r, 5_000));
  const a = { cpu: cpuSnapshot(), copies: copies() };
  await new Promise((r) => setTimeout(r, windowS * 1000));
  const b = { cpu: cpuSnapshot(), copies: copies() };
  stop = true;
  await loop.terminate();
  await lambdaRun;
  await lambda.terminate();
  if (!a.cpu || !b.cpu) throw new Error("CPU counters need Linux's /proc");
  const seconds = (b.cpu.atMs - a.cpu.atMs) / 1000;
  const thread = (tid: string, n: number) => {
    const ticks = (b.cpu?.threads.get(tid) ?? 0) - (a.cpu?.threads.get(tid) ?? 0);
    return { copiesPerSecond: n / seconds, microsPerCopy: ((ticks / 100) * 1e6) / n };
  };
  const l = thread(loopTid, b.copies.loop - a.copies.loop);
  const f = thread(lambdaTid, b.copies.lambda - a.copies.lambda);
  const all = cpuUse(
    a.cpu,
    b.cpu,
    b.copies.loop - a.copies.loop + b.copies.lambda - a.copies.lambda,
  );
  console.log(
    `round ${round} side by side (${variant}), ${seconds.toFixed(0)} s: loop thread ${l.copiesPerSecond.toFixed(0)}/s, ${l.microsPerCopy.toFixed(0)} µs CPU per copy; Lambda thread ${f.copiesPerSecond.toFixed(0)}/s, ${f.microsPerCopy.toFixed(0)} µs; per-thread CPU ratio ${(l.microsPerCopy / f.microsPerCopy).toFixed(2)}; machine ${all.cores.toFixed(2)} cores, main thread ${all.mainThreadMicrosPerObject.toFixed(0)} µs per copy`,
  );
  return l.microsPerCopy / f.microsPerCopy;
}

function usage(a: ReturnType<typeof cpuSnapshot>, b: ReturnType<typeof cpuSnapshot>, n: number) {
  if (!a || !b) throw new Error("CPU counters need Linux's /proc");
  return cpuUse(a, b, n);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
