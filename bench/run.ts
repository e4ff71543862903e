// `npm run bench [-- --quick | --profile xl] [-- --only ceiling,export,incremental,latency,peer,gc,gcmem,cold]`:
// measures Lakeport on the embedded environment, prints a table, writes
// bench/results/<date>-<profile>.json, latest.json and latest.svg (latest-xl.* for the xl
// profile). Exits non-zero if any export or GC failed or left wrong data.
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LOCAL_S3_CREDENTIALS } from "../local/s3/credentials";
import { measureColdStarts } from "./cold-start";
import { batchOperationsPerMillion, costOf, US_EAST_1_PRICES } from "./cost-model";
import { cpuSnapshot, cpuUse, waitForQuietMachine } from "./cpu-usage";
import { type BenchEnv, defaultDataRoot, startBenchEnv } from "./env";
import {
  BenchFailure,
  commitAndAwaitExport,
  type ExportBranch,
  ensureBucket,
  prepareExportBranch,
  stageChanges,
  verifyExport,
} from "./export-bench";
import { type GcProfile, runGcBench, xlGcProfile } from "./gc-bench";
import { measureGcMemory } from "./gc-memory";
import { runLatencyBench } from "./latency-bench";
import { machineInfo } from "./machine";
import { runPeerBench } from "./peer-bench";
import { writePhysicalObjects } from "./populate";
import { type BenchResults, latestResultsName, renderSvg, renderTables } from "./report";
import { measureCopyCeiling } from "./s3-ceiling";
import { type SpeedProbe, startSpeedProbe } from "./speed-probe";
import {
  bracketSettingsOf,
  copyShapeOf,
  s3CopyWorkOf,
  summarizeThroughput,
  type ThroughputRound,
  throughputRound,
} from "./throughput";
import { functionMemorySizes, lambdaCpuPerObject, PhaseRecorder, toMeasuredUsage } from "./usage";

type CeilingSample = NonNullable<BenchResults["ceiling"]>;

/** The copy map's span: its first invocation's start to its last one's end. */
function copyPhaseSeconds(
  timeline: { function: string; firstStartS: number; lastEndS: number }[],
): number | undefined {
  const copy = timeline.find((t) => t.function === "ExportCopyFunction");
  return copy ? copy.lastEndS - copy.firstStartS : undefined;
}

/**
 * [worker threads, requests in flight per thread] of the ceiling loop, up to and past the
 * export's own copies in flight (4 warm copy workers locally, 32 copies in flight each).
 */
const CEILING_SETTINGS: [number, number][] = [
  [1, 32],
  [1, 64],
  [2, 32],
  [2, 64],
  [3, 32],
  [4, 32],
  [4, 48],
];

/** "ran 0.93, waited 0.03": the main thread's (the S3 server's) shares of the wall time, on a
 * CPU and ready but waiting for one ("?" without schedstat). */
function s3ThreadShares(cpu?: {
  mainThreadRunShare?: number;
  mainThreadWaitShare?: number;
  mainThreadGcShare?: number;
}) {
  if (cpu?.mainThreadRunShare === undefined || cpu.mainThreadWaitShare === undefined) return "?";
  const gc =
    cpu.mainThreadGcShare === undefined ? "" : `, collected ${cpu.mainThreadGcShare.toFixed(3)}`;
  return `ran ${cpu.mainThreadRunShare.toFixed(2)}, waited ${cpu.mainThreadWaitShare.toFixed(2)}${gc}`;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PARTS = [
  "ceiling",
  "export",
  "incremental",
  "latency",
  "peer",
  "gc",
  "gcmem",
  "cold",
] as const;
type Part = (typeof PARTS)[number];

type ProfileName = "quick" | "full" | "xl";

interface Profile {
  name: ProfileName;
  ceilingCopies: number;
  throughputObjects: number;
  /** First exports measured, each between two ceiling measurements (the VM's speed drifts). */
  throughputRounds: number;
  incrementalSizes: number[];
  /** Branch sizes of the Lakeport / rclone comparison. */
  peerSizes: number[];
  gc: GcProfile[];
}

const PROFILES: Record<"quick" | "full", Profile> = {
  quick: {
    name: "quick",
    ceilingCopies: 6000,
    throughputObjects: 20_000,
    throughputRounds: 1,
    incrementalSizes: [1000, 10_000],
    peerSizes: [1000],
    gc: [{ base: 6000, branches: 4, commitsPerBranch: 25, hotPaths: 40 }],
  },
  full: {
    name: "full",
    ceilingCopies: 10_000,
    // Large enough that the pipeline's fixed second or so (webhook, plan, status file; the
    // latency part measures it) is not a tenth of the throughput figure.
    throughputObjects: 50_000,
    throughputRounds: 3,
    incrementalSizes: [1000, 10_000, 100_000],
    peerSizes: [10_000, 100_000],
    gc: [
      { base: 6000, branches: 4, commitsPerBranch: 25, hotPaths: 40 },
      { base: 80_000, branches: 4, commitsPerBranch: 250, hotPaths: 20 },
    ],
  },
};

function profileNamed(name: string | undefined): ProfileName {
  if (name === undefined || name === "") return "full";
  if (name === "quick" || name === "full" || name === "xl") return name;
  throw new Error(`--profile: must be quick, full or xl, got "${name}"`);
}

function parseArgs(argv: string[]): { profile: Profile; parts: Set<Part> } {
  let name = profileNamed(process.env.LAKEPORT_BENCH_PROFILE);
  let only: string | undefined = process.env.LAKEPORT_BENCH_ONLY;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") name = "quick";
    else if (a === "--full") name = "full";
    else if (a === "--profile") name = profileNamed(argv[++i]);
    else if (a.startsWith("--profile=")) name = profileNamed(a.slice("--profile=".length));
    else if (a === "--only") only = argv[++i];
    else if (a.startsWith("--only=")) only = a.slice("--only=".length);
    else if (a === "--help") {
      console.log(
        "usage: npm run bench [-- --quick | --full | --profile quick|full|xl] [-- --only ceiling,export,incremental,latency,peer,gc,gcmem,cold]\n" +
          "  --profile xl: GC of 3 000 commits and 1.7 million paths, incremental export on a 1 000 000-object branch (LAKEPORT_BENCH_XL_SCALE=0.05 for a smaller run)",
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  // The xl profile is the lakeFS-scale GC and the 1 M-object incremental export; other parts
  // run only when asked for.
  const parts = new Set<Part>(name === "xl" ? ["gc", "incremental"] : PARTS);
  if (only) {
    parts.clear();
    for (const p of only.split(",").map((s) => s.trim())) {
      if (!(PARTS as readonly string[]).includes(p))
        throw new Error(`--only: unknown part "${p}" (${PARTS.join(", ")})`);
      parts.add(p as Part);
    }
  }
  const profile: Profile =
    name === "xl"
      ? {
          ...PROFILES.full,
          name: "xl",
          gc: [xlGcProfile(Number(process.env.LAKEPORT_BENCH_XL_SCALE || 1))],
          // Incremental export on a 1 000 000-object branch (after its first export).
          incrementalSizes: [
            Math.round(1_000_000 * Number(process.env.LAKEPORT_BENCH_XL_SCALE || 1)),
          ],
        }
      : { ...PROFILES[name] };
  // Development knob: a smaller first export than the profile's.
  const t = Number(process.env.LAKEPORT_BENCH_THROUGHPUT_OBJECTS);
  if (t > 0) profile.throughputObjects = t;
  const rounds = Number(process.env.LAKEPORT_BENCH_THROUGHPUT_ROUNDS);
  if (Number.isInteger(rounds) && rounds > 0) profile.throughputRounds = rounds;
  return { profile, parts };
}

/** Generous for the embedded S3 (~100-150 copies/s on 2 cores), bounded so a hang fails. */
const exportTimeoutMs = (objects: number) => 120_000 + (objects / 60) * 1000;

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const log = (m: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}`);

async function main(): Promise<number> {
  const { profile, parts } = parseArgs(process.argv.slice(2));
  // Read before anything starts: a bad value fails the run at once.
  const copyShape = copyShapeOf(process.env.LAKEPORT_BENCH_COPY_SHAPE);
  const s3CopyWork = s3CopyWorkOf(process.env.LAKEPORT_BENCH_S3_COPY_WORK);
  const started = performance.now();
  const date = new Date().toISOString();
  const results: BenchResults = {
    date,
    profile: profile.name,
    ...(profile.name === "xl" && process.env.LAKEPORT_BENCH_XL_SCALE
      ? { xlScale: Number(process.env.LAKEPORT_BENCH_XL_SCALE) }
      : {}),
    machine: machineInfo(),
    totalSeconds: 0,
    incremental: [],
    gc: [],
    cost: [],
    prices: US_EAST_1_PRICES,
    coldStart: [],
    unavailable: [],
    failures: [],
  };
  const ns = "bench-lakefs-data";
  const exportsBucket = "bench-exports";
  log(`profile ${profile.name}, parts ${[...parts].join(",")}`);
  const dataRoot = defaultDataRoot();
  // Local workers per function: as many as cores (2 to 4). Local Lambdas are threads on the
  // cores the S3 server runs on; on 2 cores, 4 copy workers take CPU from it (the ceiling loop is
  // slower with 4 threads than with 2 as well). In AWS each Lambda has its own.
  const lambdaConcurrency =
    Number(process.env.LAKEPORT_BENCH_LAMBDA_CONCURRENCY) ||
    Math.max(2, Math.min(4, os.availableParallelism()));
  results.lambdaConcurrency = lambdaConcurrency;
  log(`${lambdaConcurrency} local workers per Lambda function`);
  // A directory of the user's choosing is not recorded (results are committed).
  results.dataDirectory = process.env.LAKEPORT_BENCH_DATA_DIR
    ? "(a directory on disk, LAKEPORT_BENCH_DATA_DIR)"
    : dataRoot;
  log(`embedded S3 data under ${dataRoot}`);
  const env = await startBenchEnv({
    dataRoot,
    assemblyCacheDir: path.join(os.tmpdir(), "lakeport-bench-assembly"),
    storageBuckets: [ns],
    exportBuckets: [exportsBucket],
    log,
    lambdaConcurrency,
  });
  log(
    `environment up (S3 ${env.s3Server.endpoint}, lakeFS ${env.lakefsServer.endpoint}, API ${env.api.endpoint})`,
  );
  if (s3CopyWork) {
    env.s3Server.admin.setCopyWork(s3CopyWork);
    results.s3CopyWork = s3CopyWork;
    log(
      `DIAGNOSTIC RUN: the embedded S3 spins ${s3CopyWork.spinThousands} thousand iterations on every copy (LAKEPORT_BENCH_S3_COPY_WORK)`,
    );
  }
  const memory = await functionMemorySizes(env);
  const phase = () => {
    const r = new PhaseRecorder(env);
    r.setMemorySizes(memory);
    return r;
  };
  const fail = (what: string, err: unknown) => {
    const msg = `${what}: ${(err as Error).message ?? String(err)}`;
    log(`FAILED ${msg}`);
    results.failures.push(msg);
  };
  let stopProbe = () => {};
  try {
    await ensureBucket(env.s3, ns);
    await ensureBucket(env.s3, exportsBucket);
    // Every throughput measurement starts on a quiet machine (the ceiling and the export alike).
    const quiet = async (what: string) => {
      const q = await waitForQuietMachine();
      if (q.waitedMs > 1500) {
        log(
          `waited ${(q.waitedMs / 1000).toFixed(1)} s for a quiet machine before ${what} (${q.cores?.toFixed(2)} cores busy)`,
        );
      }
    };
    // The machine's speed through every throughput measurement (bench/speed-probe.ts).
    const probe: SpeedProbe | undefined =
      parts.has("ceiling") && parts.has("export") ? startSpeedProbe() : undefined;
    stopProbe = () => probe?.stop();
    const probed = async (fromMs: number, toMs: number) =>
      probe ? await probe.nanosPerItem(fromMs, toMs) : undefined;
    const measureCeiling = async (
      when: string,
      settings: [number, number][],
      copies = profile.ceilingCopies,
    ) => {
      await quiet(`the S3 ceiling (${when})`);
      log(`S3 ceiling (${when}): ${copies} CopyObject per setting`);
      const bucket = `bench-ceiling-${when}`.toLowerCase().replace(/[^a-z0-9-]+/g, "-");
      const c = await measureCopyCeiling(env.s3, {
        endpoint: env.s3Server.endpoint,
        credentials: { ...LOCAL_S3_CREDENTIALS },
        bucket,
        sources: 1000,
        copies,
        settings,
        body: "ceiling object body, about the size of the exported ones\n",
        request: "export",
      });
      log(
        `S3 ceiling ${when}: ${c.objectsPerSecond.toFixed(0)} objects/s (${c.tried.map((t) => `${t.threads}x${t.concurrency}: ${t.objectsPerSecond.toFixed(0)}${t.cpu ? ` [${t.cpu.microsPerObject.toFixed(0)} µs CPU per copy, ${t.cpu.cores.toFixed(2)} cores${t.cpu.mainThreadWaitShare !== undefined ? `, S3's thread ${s3ThreadShares(t.cpu)}` : ""}]` : ""}`).join(", ")})`,
      );
      // The loop's copies are never read again. Removed as files (the embedded S3 keeps a
      // bucket as a directory): a run's ceilings make up to a million of them, and a memory
      // file system runs out of inodes (rclone's copies then failed with ENOSPC).
      await rm(path.join(env.dir, "s3", bucket), { recursive: true, force: true });
      const tried = [];
      for (const { startedAtMs, endedAtMs, ...t } of c.tried) {
        const ns = await probed(startedAtMs, endedAtMs);
        tried.push({ ...t, ...(ns ? { probeNanosPerItem: ns } : {}) });
      }
      const ns = await probed(c.startedAtMs, c.endedAtMs);
      if (ns) log(`  machine speed: ${ns.toFixed(0)} ns of probe CPU per item`);
      return {
        objectsPerSecond: c.objectsPerSecond,
        threads: c.threads,
        concurrency: c.concurrency,
        copies: c.copies,
        ...(c.cpu ? { cpu: c.cpu } : {}),
        ...(ns ? { probeNanosPerItem: ns } : {}),
        tried,
      };
    };
    if (parts.has("ceiling")) results.ceiling = await measureCeiling("before", CEILING_SETTINGS);
    // Without the ceiling part, a held shape still applies (the function's defaults otherwise).
    if (results.ceiling || copyShape) {
      // The export copies in the shape of the ceiling's best setting: as many copy workers as
      // the loop had threads, each with the loop's requests in flight (a deployment sets the
      // latter with the `lakeport:exportCopyConcurrency` context, default 32 per Lambda). On
      // two cores one thread with 64 in flight beats two with 32 each by up to a fifth (the
      // second client thread takes CPU from the S3 server): the export is held to the same.
      // LAKEPORT_BENCH_COPY_SHAPE=<workers>x<in flight> holds the export to one shape whatever
      // the sweep crowns: two runs compared side by side (a node flag, a code change) then copy
      // alike, where a noisy sweep could give one 1x32 and the other 1x64.
      const shape = copyShape;
      const copyWorkers =
        shape?.workers ?? Math.max(1, Math.min(lambdaConcurrency, results.ceiling?.threads ?? 1));
      const perWorker = shape?.inFlight ?? Math.max(32, results.ceiling?.concurrency ?? 32);
      const copyFn = env.cloud.deployment.resources.find((r) =>
        /ExportCopyFunction/.test(r.logicalId),
      );
      if (!copyFn) throw new Error("the deployment has no export copy function");
      env.cloud.deployment.runtime.updateFunctionEnvironment(copyFn.physicalId, {
        COPY_CONCURRENCY: String(perWorker),
      });
      env.cloud.deployment.runtime.setFunctionWorkers(copyFn.physicalId, copyWorkers);
      // The copy map runs as many children at once here as the copy function has workers: the
      // plan sizes its children's batches of shards by that (copy-batches.ts), as it does by
      // maxConcurrency in AWS.
      const planFn = env.cloud.deployment.resources.find((r) =>
        /ExportPlanFunction/.test(r.logicalId),
      );
      if (!planFn) throw new Error("the deployment has no export plan function");
      env.cloud.deployment.runtime.updateFunctionEnvironment(planFn.physicalId, {
        COPY_MAP_CONCURRENCY: String(copyWorkers),
      });
      results.copyConcurrencyPerWorker = perWorker;
      results.copyWorkers = copyWorkers;
      log(
        `export copy function: ${copyWorkers} worker(s), ${perWorker} copies in flight each (${shape ? "LAKEPORT_BENCH_COPY_SHAPE" : "the ceiling's best setting"})`,
      );
    }
    const poolSize = 2000;
    const needsPool = ["export", "incremental", "peer", "latency"].some((p) =>
      parts.has(p as Part),
    );
    const pool = needsPool ? await writePhysicalObjects(env.s3, ns, "pool/", poolSize, "pool") : [];
    if (needsPool) log(`wrote ${poolSize} physical objects`);

    if (parts.has("export")) {
      const rounds: ThroughputRound[] = [];
      // Between exports the ceiling runs at two settings (bracketSettingsOf), as many copies as
      // an export makes each, and the better one counts: a sweep's short samples can crown a
      // setting that leaves a core idle (one thread), and one noisy sample is no upper bound.
      const bracketSettings: [number, number][] = results.ceiling
        ? bracketSettingsOf(results.ceiling.tried ?? [results.ceiling], [
            results.copyWorkers ?? lambdaConcurrency,
            results.copyConcurrencyPerWorker ?? 32,
          ])
        : [];
      const bracket = async (label: string) => {
        if (bracketSettings.length === 0) return undefined;
        const c = await measureCeiling(label, bracketSettings, profile.throughputObjects);
        results.ceilingRounds = [...(results.ceilingRounds ?? []), c];
        return c;
      };
      // Untimed, as the ceiling loop's first 500 copies per thread: every export function's
      // execution environments load their code and compile their hot paths first (cold starts
      // are the `cold` part's). Without it round 1 measured the copy workers' JIT warm-up.
      {
        const warm = await prepareExportBranch(env, {
          repo: "throughput-warmup",
          nsBucket: ns,
          exportBucket: exportsBucket,
          objects: lambdaConcurrency * 2 * 1000,
          pool,
        });
        log(`warm-up export of ${warm.objects} objects (untimed)`);
        const { commitId } = await commitAndAwaitExport(
          env,
          warm,
          "first",
          exportTimeoutMs(warm.objects),
        );
        await verifyExport(env, warm, commitId);
      }
      // Every round's branch is staged before the first ceiling: each ceiling then runs on a
      // process holding the same lakeFS data as the exports around it (staged between a
      // ceiling and its export, a round's entries weighed on the export alone).
      const branches: ExportBranch[] = [];
      try {
        for (let round = 0; round < profile.throughputRounds; round++) {
          branches.push(
            await prepareExportBranch(env, {
              repo: round === 0 ? "throughput" : `throughput-${round + 1}`,
              nsBucket: ns,
              exportBucket: exportsBucket,
              objects: profile.throughputObjects,
              pool,
            }),
          );
        }
      } catch (err) {
        fail("first export (staging the rounds' branches)", err);
      }
      let ceilingBefore: CeilingSample | undefined =
        branches.length > 0 ? await bracket("before export round 1") : undefined;
      for (let round = 0; round < branches.length; round++) {
        try {
          const b = branches[round] as ExportBranch;
          log(
            `first export of ${b.objects} objects (round ${round + 1} of ${profile.throughputRounds})`,
          );
          await quiet(`export round ${round + 1}`);
          const rec = phase();
          const cpuBefore = cpuSnapshot();
          const startedAtMs = Date.now();
          const { commitId, seconds, commitSeconds } = await commitAndAwaitExport(
            env,
            b,
            "first",
            exportTimeoutMs(b.objects),
          );
          const cpuAfter = cpuSnapshot();
          const exportProbe = await probed(startedAtMs, Date.now());
          const usage = rec.finish();
          await verifyExport(env, b, commitId);
          const ops = b.objects / seconds;
          log(
            `first export: ${seconds.toFixed(1)} s (lakeFS's commit ${commitSeconds.toFixed(2)} s of it), ${ops.toFixed(0)} objects/s, verified`,
          );
          if (!parts.has("ceiling") || ceilingBefore === undefined) {
            results.exportThroughput = {
              objects: b.objects,
              seconds,
              objectsPerSecond: ops,
              ratioToCeiling: Number.NaN,
            };
          } else {
            const after = (await bracket(`after export round ${round + 1}`)) as CeilingSample;
            const exportCpu =
              cpuBefore && cpuAfter
                ? cpuUse(cpuBefore, cpuAfter, b.objects, lambdaThreadIds(env))
                : undefined;
            rounds.push(
              throughputRound(
                b.objects,
                seconds,
                ceilingBefore.objectsPerSecond,
                after.objectsPerSecond,
                exportCpu
                  ? {
                      export: exportCpu,
                      ...(ceilingBefore.cpu ? { ceilingBefore: ceilingBefore.cpu } : {}),
                      ...(after.cpu ? { ceilingAfter: after.cpu } : {}),
                    }
                  : undefined,
                copyPhaseSeconds(usage.timeline),
                exportProbe && ceilingBefore.probeNanosPerItem && after.probeNanosPerItem
                  ? {
                      export: exportProbe,
                      ceilingBefore: ceilingBefore.probeNanosPerItem,
                      ceilingAfter: after.probeNanosPerItem,
                    }
                  : undefined,
              ),
            );
            const last = rounds.at(-1) as ThroughputRound;
            last.commitSeconds = commitSeconds;
            const lambdaCpu = lambdaCpuPerObject(usage.timeline, b.objects);
            if (lambdaCpu) last.lambdaCpuMicrosPerObject = lambdaCpu;
            const us = (c?: { microsPerObject: number }) =>
              c ? c.microsPerObject.toFixed(0) : "?";
            log(
              `round ${round + 1}: ratio ${last.ratio.toFixed(2)} to the ceilings around it` +
                (last.cpu
                  ? `; copy phase ${last.copyPhaseSeconds?.toFixed(1)} s, ratio ${last.copyPhaseRatio?.toFixed(2)}; CPU per object ${us(last.cpu.export)} µs (${last.cpu.export.cores.toFixed(2)} cores, steal ${(last.cpu.export.stealShare * 100).toFixed(1)}%), ceilings ${us(last.cpu.ceilingBefore)} and ${us(last.cpu.ceilingAfter)} µs per copy, CPU ratio ${last.cpuRatio?.toFixed(2)}`
                  : "") +
                (last.cpu?.export.mainThreadWaitShare !== undefined
                  ? `; S3's thread ${s3ThreadShares(last.cpu.export)} of the round (ceilings: ${s3ThreadShares(last.cpu.ceilingBefore)}; ${s3ThreadShares(last.cpu.ceilingAfter)})`
                  : "") +
                (last.speedAdjustedRatio !== undefined
                  ? `; at the export's machine speed ${last.speedAdjustedRatio.toFixed(2)}`
                  : "") +
                (lambdaCpu
                  ? `; Lambda CPU µs per object: ${Object.entries(lambdaCpu)
                      .map(([f, v]) => `${f} ${v.toFixed(1)}`)
                      .join(", ")}`
                  : ""),
            );
            ceilingBefore = after;
          }
          if (round > 0) continue;
          // The first round's usage stands for all: the timeline, and the cost per object.
          for (const t of usage.timeline) {
            log(
              `  ${t.function}: ${t.invocations} invocations, ${t.firstStartS.toFixed(1)}-${t.lastEndS.toFixed(1)} s, busy ${t.busyS.toFixed(1)} s${t.cpuS !== undefined ? `, CPU ${t.cpuS.toFixed(2)} s` : ""}`,
            );
          }
          const cost = costOf(toMeasuredUsage(usage, b.objects));
          results.cost.push({
            work: "export",
            basedOn: `first export of ${b.objects} objects`,
            lakeport: cost.perMillionObjects,
            s3BatchOperations: batchOperationsPerMillion("copy"),
          });
          (results as unknown as Record<string, unknown>).exportUsage = usage;
        } catch (err) {
          fail(`first export (round ${round + 1})`, err);
          break;
        }
      }
      if (parts.has("ceiling")) {
        results.ceilingAfter = await measureCeiling("after the exports", CEILING_SETTINGS);
      }
      if (rounds.length > 0) {
        const sweeps = [results.ceiling, results.ceilingAfter].flatMap((c) =>
          c ? [c.objectsPerSecond] : [],
        );
        const { throughput, failures } = summarizeThroughput(rounds, sweeps);
        results.exportThroughput = throughput;
        log(
          `export throughput: best ${throughput.objectsPerSecond.toFixed(0)} objects/s, ratio ${throughput.ratioToCeiling.toFixed(2)} to the best ceiling, median round ratio ${throughput.medianRoundRatio?.toFixed(2)}, at the export's machine speed ${throughput.medianSpeedAdjustedRatio?.toFixed(2) ?? "?"}`,
        );
        for (const f of failures) fail("S3 ceiling", new BenchFailure(f));
      }
    }

    // The probe's share of a core is for the throughput rounds only, not the parts after them.
    stopProbe();
    if (parts.has("incremental")) {
      for (const size of profile.incrementalSizes) {
        try {
          const b = await prepareExportBranch(env, {
            repo: `incr-${size}`,
            nsBucket: ns,
            exportBucket: exportsBucket,
            objects: size,
            pool,
          });
          log(`branch of ${b.objects}: first export`);
          const first = await commitAndAwaitExport(env, b, "first", exportTimeoutMs(b.objects));
          await verifyExport(env, b, first.commitId);
          log(
            `branch of ${b.objects}: first export ${first.seconds.toFixed(1)} s (${(b.objects / first.seconds).toFixed(0)} objects/s), verified`,
          );
          await stageChanges(env, b, ns, 10, 1);
          const rec = phase();
          const { commitId, seconds } = await commitAndAwaitExport(
            env,
            b,
            "ten changes",
            5 * 60_000,
          );
          const usage = rec.finish();
          // The benchmark's own commit call is not Lakeport's work.
          const lakeFsByOperation = { ...usage.lakeFsByOperation };
          lakeFsByOperation.commit = (lakeFsByOperation.commit ?? 1) - 1;
          if (lakeFsByOperation.commit === 0) delete lakeFsByOperation.commit;
          results.incremental.push({
            branchObjects: b.objects,
            firstExportSeconds: first.seconds,
            changedObjects: 10,
            seconds,
            s3Requests: usage.s3Requests,
            s3ByOperation: usage.s3ByOperation,
            lakeFsCalls: usage.lakeFsCalls - 1,
            lakeFsByOperation,
            verified: false,
          });
          // Counts are kept even when the data is wrong; the failure fails the run.
          await verifyExport(env, b, commitId);
          results.incremental.at(-1)!.verified = true;
          log(
            `incremental on ${b.objects}: ${seconds.toFixed(1)} s, S3 ${usage.s3Requests}, lakeFS ${usage.lakeFsCalls - 1}, verified`,
          );
        } catch (err) {
          fail(`incremental export on ${size}`, err);
        }
      }
    }

    if (parts.has("gc")) {
      for (const g of profile.gc) {
        try {
          const xl = profile.name === "xl" ? { profile: "xl" } : {};
          const r = await runGcBench(env, { ...g, ...xl, nsBucket: ns, phase, log });
          results.gc.push(r.measurement);
          if (r.sweepUsage && r.measurement.swept > 0) {
            const cost = costOf(toMeasuredUsage(r.sweepUsage, r.measurement.swept));
            results.cost.push({
              work: "sweep",
              basedOn: `mark and sweep of ${r.measurement.swept} of ${r.measurement.objects} objects`,
              lakeport: cost.perMillionObjects,
              s3BatchOperations: batchOperationsPerMillion("delete"),
            });
          }
        } catch (err) {
          fail(`GC of ${g.base} base objects`, err);
        }
      }
    }

    if (parts.has("latency")) {
      try {
        results.latency = await runLatencyBench(env, {
          pool,
          nsBucket: ns,
          exportBucket: exportsBucket,
          commits: 20,
          log,
        });
      } catch (err) {
        fail("commit to status line latency", err);
      }
    }

    if (parts.has("peer")) {
      try {
        const peer = await runPeerBench(env, {
          sizes: profile.peerSizes,
          pool,
          nsBucket: ns,
          exportBucket: exportsBucket,
          phase,
          log,
          exportTimeoutMs,
        });
        results.peer = peer.comparisons;
        if (peer.unavailable) results.unavailable.push(peer.unavailable);
      } catch (err) {
        fail("Lakeport / rclone comparison", err);
      }
    }

    if (parts.has("gcmem")) {
      log("GC memory at the design bounds (100 000 commits, 2 000 000 keys a partition)");
      results.gcMemory = measureGcMemory();
      for (const f of results.gcMemory) {
        log(
          `  ${f.what}: ${f.items} items, held ${f.heldMiB.toFixed(0)} MiB, peak ${f.peakMiB.toFixed(0)} MiB`,
        );
      }
    }

    if (parts.has("cold")) {
      log("cold start: bundle sizes and module initialisation");
      results.coldStart = await measureColdStarts(env.assemblyDir, env.stackName, 3);
    }
  } finally {
    stopProbe();
    await env.stop();
  }
  results.totalSeconds = (performance.now() - started) / 1000;
  if (!parts.has("export")) results.unavailable.push("export throughput (not selected)");
  console.log(renderTables(results));
  const dir = path.join(ROOT, "bench", "results");
  await mkdir(dir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const stamp = date.slice(0, 19).replace(/:/g, "-");
  await writeFile(path.join(dir, `${stamp}-${profile.name}.json`), json);
  // latest.* (what the README shows) only from runs of every part; latest-xl.* from full-size
  // xl runs (not scaled down); neither from a diagnostic run with a dearer S3 copy.
  const xlFull = profile.name === "xl" && !process.env.LAKEPORT_BENCH_XL_SCALE && parts.has("gc");
  const latest = latestResultsName(results, { allParts: parts.size === PARTS.length, xlFull });
  if (latest) {
    await writeFile(path.join(dir, `${latest}.json`), json);
    await writeFile(path.join(dir, `${latest}.svg`), renderSvg(results));
  }
  log(
    `results in bench/results/${stamp}-${profile.name}.json${latest ? `, ${latest}.json, ${latest}.svg` : ""}`,
  );
  return results.failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof BenchFailure ? `benchmark failed: ${err.message}` : err);
    process.exit(1);
  },
);

/** The Linux thread ids of every Lambda worker the local runtime has run an invocation on. */
function lambdaThreadIds(env: BenchEnv): Set<string> {
  const ids = new Set<string>();
  for (const s of env.cloud.runtime.allStats()) {
    for (const r of s.records) if (r.linuxThreadId) ids.add(String(r.linuxThreadId));
  }
  return ids;
}
