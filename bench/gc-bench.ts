// GC benchmark on a constructed repository whose outcome is known exactly. All commits are
// dated 30 days ago (retention 7 days), so each branch keeps only its head: main starts with
// c0 (a README), `branches - 1` branches start from c0, and every branch then makes
// `commitsPerBranch` commits, each rewriting the same `hotPaths` paths with new objects.
// The head of main also links `base` paths: to one object each, or, at lakeFS scale, to a
// small pool of `basePool` objects (many paths, few physical objects: the data does not
// matter, the listing does). Expected sweep: every hot object of a branch but its head's,
// i.e. branches x (commitsPerBranch - 1) x hotPaths objects, nothing else: every base (or
// pool) object and every head's hot object must remain.
// Mark and sweep run as two GC runs (mark-only, then sweep-only) through the API and the
// deployed GC state machine, and the namespace is listed afterwards to check the result.
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { apiCall, type BenchEnv, LAKEFS_KEYS } from "./env";
import { BenchFailure } from "./export-bench";
import { type AwsGcModel, modelGcOnAws } from "./gc-aws-model";
import {
  bulkStageObjects,
  linkEntry,
  linkObjects,
  type PhysicalObject,
  writePhysicalObjects,
} from "./populate";
import type { GcMeasurement } from "./report";
import { combineUsage, type PhaseRecorder, type PhaseUsage } from "./usage";

/** The repository a GC benchmark builds (see the top of this file). */
export interface GcProfile {
  base: number;
  branches: number;
  commitsPerBranch: number;
  hotPaths: number;
  /** Physical objects the base paths link to, round robin; absent: one object per path. */
  basePool?: number;
  /** Stage through the development server's bulk staging instead of one link per path. */
  bulk?: boolean;
}

/**
 * The lakeFS-scale GC: 3 000 commits over 4 branches and 1.7 million paths in main's head
 * (1 + 1 699 959 base + 4 x 10 hot), the base linked to 1 000 physical objects, the hot
 * paths rewritten with new objects in every commit (30 000 objects, 29 960 of them swept).
 * `scale` (LAKEPORT_BENCH_XL_SCALE, development) shrinks commits and base paths.
 */
export function xlGcProfile(scale = 1): GcProfile {
  if (!(scale > 0 && scale <= 1)) {
    throw new Error(
      `LAKEPORT_BENCH_XL_SCALE: must be a number above 0 and at most 1, got ${scale}`,
    );
  }
  const branches = 4;
  const hotPaths = 10;
  const base = Math.max(1, Math.round(1_700_000 * scale) - 1 - branches * hotPaths);
  return {
    base,
    branches,
    commitsPerBranch: Math.max(2, Math.round(750 * scale)),
    hotPaths,
    basePool: Math.min(1000, base),
    bulk: true,
  };
}

export interface GcBenchOptions extends GcProfile {
  /** Marks the measurement (e.g. "xl"). */
  profile?: string;
  nsBucket: string;
  phase: () => PhaseRecorder;
  log: (m: string) => void;
}

const DAY = 86_400;

interface GcRunView {
  run_id: string;
  status: string;
  execution_arn?: string | null;
  error_message?: string | null;
  counts?: { markedAddresses?: number; deletedObjects?: number };
}

async function runGc(
  env: BenchEnv,
  repo: string,
  body: Record<string, unknown>,
): Promise<{ seconds: number; run: GcRunView }> {
  const t0 = performance.now();
  const started = (await apiCall<GcRunView>(env, "POST", `/repositories/${repo}/gc/runs`, body))
    .json;
  if (!started.execution_arn) {
    // The run record may get its execution ARN just after the response; read it once.
    const again = (
      await apiCall<GcRunView>(env, "GET", `/repositories/${repo}/gc/runs/${started.run_id}`)
    ).json;
    started.execution_arn = again.execution_arn;
  }
  if (!started.execution_arn) throw new BenchFailure(`GC run ${started.run_id} has no execution`);
  const exec = await env.cloud.runner.waitForExecution(started.execution_arn);
  const seconds = (performance.now() - t0) / 1000;
  const run = (
    await apiCall<GcRunView>(env, "GET", `/repositories/${repo}/gc/runs/${started.run_id}`)
  ).json;
  if (exec.status !== "SUCCEEDED" || run.status !== "succeeded") {
    throw new BenchFailure(
      `GC ${body.mode} run ${started.run_id} of ${repo}: execution ${exec.status}, run ${run.status}: ${run.error_message ?? exec.cause ?? ""}`.slice(
        0,
        600,
      ),
    );
  }
  return { seconds, run };
}

export interface GcRepository {
  repo: string;
  dataPrefix: string;
  /** Paths in the heads (README, base and hot paths of every branch). */
  paths: number;
  /** Addresses GC must delete. */
  swept: Set<string>;
  /** Addresses that must remain: pool (or base) objects and the heads' hot objects. */
  kept: Set<string>;
  commits: number;
}

/** Stages path(i) -> object(i) on a branch, by bulk staging or one link call per path. */
async function stage(
  env: BenchEnv,
  o: GcBenchOptions,
  repo: string,
  branch: string,
  count: number,
  pathOf: (i: number) => string,
  objectOf: (i: number) => PhysicalObject,
  concurrency: number,
): Promise<void> {
  if (!o.bulk) return linkObjects(env.lakefs, repo, branch, count, pathOf, objectOf, concurrency);
  const server = { endpoint: env.lakefsServer.endpoint, credentials: LAKEFS_KEYS };
  return bulkStageObjects(server, repo, branch, count, (i) => linkEntry(pathOf(i), objectOf(i)));
}

/** Writes the objects, builds the branches and commits, sets the retention rules. */
async function buildRepository(env: BenchEnv, o: GcBenchOptions): Promise<GcRepository> {
  const repo = `gc-${o.base}-${o.branches * o.commitsPerBranch}`;
  const nsPrefix = `repos/${repo}/`;
  // Under data/, as lakeFS lays out a namespace: GC marks and sweeps nothing else.
  const dataPrefix = `${nsPrefix}data/bench/`;
  const hotTotal = o.branches * o.commitsPerBranch * o.hotPaths;
  const baseObjects = Math.min(o.basePool ?? o.base, o.base);
  o.log(`GC repo ${repo}: writing ${hotTotal + baseObjects} objects`);
  const hot = await writePhysicalObjects(env.s3, o.nsBucket, `${dataPrefix}hot/`, hotTotal, "hot");
  const base = await writePhysicalObjects(
    env.s3,
    o.nsBucket,
    `${dataPrefix}base/`,
    baseObjects,
    "base",
  );
  const lk = env.lakefs;
  await lk.createRepository({
    name: repo,
    storage_namespace: `s3://${o.nsBucket}/${nsPrefix.slice(0, -1)}`,
  });
  const start = Math.floor(Date.now() / 1000) - 30 * DAY;
  await lk.uploadObject(repo, "main", "README", { content: "GC benchmark repository\n" });
  const c0 = await lk.commit(repo, "main", { message: "c0", date: start });
  const branches = ["main", ...Array.from({ length: o.branches - 1 }, (_, i) => `branch-${i + 1}`)];
  for (const b of branches.slice(1)) await lk.createBranch(repo, b, c0.id);
  const swept = new Set<string>();
  const kept = new Set(base.map((b) => b.address));
  o.log(`GC repo ${repo}: ${o.branches} x ${o.commitsPerBranch} commits`);
  const t0 = performance.now();
  await Promise.all(
    branches.map(async (b, bi) => {
      for (let m = 0; m < o.commitsPerBranch; m++) {
        const first = (bi * o.commitsPerBranch + m) * o.hotPaths;
        const hotPath = (w: number) => `hot/${String(w).padStart(4, "0")}`;
        await stage(env, o, repo, b, o.hotPaths, hotPath, (w) => hot[first + w]!, 8);
        const last = m === o.commitsPerBranch - 1;
        for (let w = 0; w < o.hotPaths; w++) (last ? kept : swept).add(hot[first + w]!.address);
        if (last && b === "main") {
          const t = performance.now();
          const basePath = (i: number) => `base/${String(i).padStart(7, "0")}`;
          await stage(env, o, repo, b, o.base, basePath, (i) => base[i % base.length]!, 16);
          o.log(`GC repo ${repo}: staged ${o.base} base paths on main in ${s(t)} s`);
        }
        const t = performance.now();
        await lk.commit(repo, b, {
          message: `${b} ${m}`,
          date: start + 60 + bi * 100_000 + m * 60,
        });
        if (last && b === "main") o.log(`GC repo ${repo}: committed main's head in ${s(t)} s`);
      }
    }),
  );
  o.log(`GC repo ${repo}: branches built in ${s(t0)} s`);
  await apiCall(env, "PUT", `/repositories/${repo}/settings/gc_rules`, {
    default_retention_days: 7,
    branches: [],
  });
  return {
    repo,
    dataPrefix,
    paths: 1 + o.base + o.branches * o.hotPaths,
    swept,
    kept,
    commits: 1 + o.branches * o.commitsPerBranch,
  };
}

const s = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);

/**
 * Lists what the benchmark wrote: every swept object is gone, every kept one (pool or base
 * objects, the heads' hot objects) is there, and nothing else is.
 */
export async function verifySweep(
  env: BenchEnv,
  o: Pick<GcBenchOptions, "nsBucket">,
  r: GcRepository,
): Promise<number> {
  const missing = new Set(r.kept);
  let remaining = 0;
  let token: string | undefined;
  do {
    const page = await env.s3.send(
      new ListObjectsV2Command({
        Bucket: o.nsBucket,
        Prefix: r.dataPrefix,
        ContinuationToken: token,
      }),
    );
    for (const c of page.Contents ?? []) {
      const address = `s3://${o.nsBucket}/${c.Key}`;
      if (r.swept.has(address)) {
        throw new BenchFailure(`GC sweep of ${r.repo} left ${c.Key}, which it should have deleted`);
      }
      if (!missing.delete(address)) {
        throw new BenchFailure(`GC sweep of ${r.repo}: unexpected object ${c.Key}`);
      }
      remaining++;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (missing.size > 0) {
    throw new BenchFailure(
      `GC sweep of ${r.repo} deleted ${missing.size} objects still referenced, e.g. ${[...missing][0]}`,
    );
  }
  return remaining;
}

export async function runGcBench(
  env: BenchEnv,
  o: GcBenchOptions,
): Promise<{
  measurement: GcMeasurement;
  sweepUsage?: PhaseUsage;
  awsModel: AwsGcModel;
  /** What was built and what the sweep had to delete and keep (verifySweep checks it). */
  repository: GcRepository;
}> {
  const r = await buildRepository(env, o);
  const { repo, swept } = r;
  const objects = r.swept.size + r.kept.size;
  o.log(`GC repo ${repo}: mark (${r.commits} commits, ${swept.size} objects expected to be swept)`);
  const markRec = o.phase();
  const mark = await runGc(env, repo, { mode: "mark-only", mark_id: "bench-mark" });
  const markUsage = markRec.finish();
  if (mark.run.counts?.markedAddresses !== swept.size) {
    throw new BenchFailure(
      `GC mark of ${repo} marked ${mark.run.counts?.markedAddresses}, expected ${swept.size}`,
    );
  }
  o.log(`GC repo ${repo}: mark ${mark.seconds.toFixed(1)} s; sweep`);
  const sweepRec = o.phase();
  const sweep = await runGc(env, repo, { mode: "sweep-only", mark_id: "bench-mark" });
  const sweepUsage = sweepRec.finish();
  const usage = combineUsage(markUsage, sweepUsage);
  if (
    sweep.run.counts?.deletedObjects !== undefined &&
    sweep.run.counts.deletedObjects !== swept.size
  ) {
    throw new BenchFailure(
      `GC sweep of ${repo} deleted ${sweep.run.counts.deletedObjects}, expected ${swept.size}`,
    );
  }
  const remaining = await verifySweep(env, o, r);
  o.log(`GC repo ${repo}: sweep ${sweep.seconds.toFixed(1)} s, verified (${remaining} remain)`);
  const awsModel = modelGcOnAws({ mark: markUsage, sweep: sweepUsage }, swept.size);
  return {
    measurement: {
      ...(o.profile ? { profile: o.profile } : {}),
      objects,
      paths: r.paths,
      commits: r.commits,
      branches: o.branches,
      expectedSwept: swept.size,
      swept: objects - remaining,
      markSeconds: mark.seconds,
      sweepSeconds: sweep.seconds,
      lakeFsCalls: usage.lakeFsCalls,
      lakeFsByOperation: usage.lakeFsByOperation,
      s3Requests: usage.s3Requests,
      s3ByOperation: usage.s3ByOperation,
      maxPeakHeapMiB: usage.maxPeakHeapBytes / 2 ** 20,
      maxPeakHeapFunction: usage.maxPeakHeapFunction,
      peakHeapMiBByFunction: Object.fromEntries(
        usage.timeline.map((t) => [t.function, Math.round((t.peakHeapBytes / 2 ** 20) * 10) / 10]),
      ),
      awsModel,
    },
    sweepUsage: usage,
    awsModel,
    repository: r,
  };
}
