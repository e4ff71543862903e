// GC benchmark on a constructed repository whose outcome is known exactly. All commits are
// dated 30 days ago (retention 7 days), so each branch keeps only its head: main starts with
// c0 (a README), `branches - 1` branches start from c0, and every branch then makes
// `commitsPerBranch` commits, each rewriting the same `hotPaths` paths with new objects.
// The head of main also links `base` objects. Expected sweep: every hot object of a branch
// but its head's, i.e. branches x (commitsPerBranch - 1) x hotPaths objects, nothing else.
// Mark and sweep run as two GC runs (mark-only, then sweep-only) through the API and the
// deployed GC state machine, and the namespace is listed afterwards to check the result.
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { apiCall, type BenchEnv } from "./env";
import { BenchFailure } from "./export-bench";
import { linkObjects, writePhysicalObjects } from "./populate";
import type { GcMeasurement } from "./report";
import type { PhaseRecorder, PhaseUsage } from "./usage";

export interface GcBenchOptions {
  base: number;
  branches: number;
  commitsPerBranch: number;
  hotPaths: number;
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

export async function runGcBench(
  env: BenchEnv,
  o: GcBenchOptions,
): Promise<{ measurement: GcMeasurement; sweepUsage?: PhaseUsage }> {
  const repo = `gc-${o.base}-${o.branches * o.commitsPerBranch}`;
  const nsPrefix = `repos/${repo}/`;
  const dataPrefix = `${nsPrefix}bench-data/`;
  const hotTotal = o.branches * o.commitsPerBranch * o.hotPaths;
  const objects = o.base + hotTotal;
  o.log(`GC repo ${repo}: writing ${objects} objects`);
  const hot = await writePhysicalObjects(env.s3, o.nsBucket, `${dataPrefix}hot/`, hotTotal, "hot");
  const base = await writePhysicalObjects(env.s3, o.nsBucket, `${dataPrefix}base/`, o.base, "base");
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
  o.log(`GC repo ${repo}: ${o.branches} x ${o.commitsPerBranch} commits`);
  await Promise.all(
    branches.map(async (b, bi) => {
      for (let m = 0; m < o.commitsPerBranch; m++) {
        const first = (bi * o.commitsPerBranch + m) * o.hotPaths;
        await linkObjects(
          lk,
          repo,
          b,
          o.hotPaths,
          (w) => `hot/${String(w).padStart(4, "0")}`,
          (w) => hot[first + w]!,
          8,
        );
        const last = m === o.commitsPerBranch - 1;
        if (!last) for (let w = 0; w < o.hotPaths; w++) swept.add(hot[first + w]!.address);
        if (last && b === "main") {
          await linkObjects(
            lk,
            repo,
            b,
            o.base,
            (i) => `base/${String(i).padStart(7, "0")}`,
            (i) => base[i]!,
            16,
          );
        }
        await lk.commit(repo, b, {
          message: `${b} ${m}`,
          date: start + 60 + bi * 100_000 + m * 60,
        });
      }
    }),
  );
  await apiCall(env, "PUT", `/repositories/${repo}/settings/gc_rules`, {
    default_retention_days: 7,
    branches: [],
  });
  const commits = 1 + o.branches * o.commitsPerBranch;
  o.log(`GC repo ${repo}: mark (${commits} commits, ${swept.size} objects expected to be swept)`);
  const rec = o.phase();
  const mark = await runGc(env, repo, { mode: "mark-only", mark_id: "bench-mark" });
  if (mark.run.counts?.markedAddresses !== swept.size) {
    throw new BenchFailure(
      `GC mark of ${repo} marked ${mark.run.counts?.markedAddresses}, expected ${swept.size}`,
    );
  }
  o.log(`GC repo ${repo}: mark ${mark.seconds.toFixed(1)} s; sweep`);
  const sweep = await runGc(env, repo, { mode: "sweep-only", mark_id: "bench-mark" });
  const usage = rec.finish();
  if (
    sweep.run.counts?.deletedObjects !== undefined &&
    sweep.run.counts.deletedObjects !== swept.size
  ) {
    throw new BenchFailure(
      `GC sweep of ${repo} deleted ${sweep.run.counts.deletedObjects}, expected ${swept.size}`,
    );
  }
  // Exactly the expected objects are gone: list what the benchmark wrote.
  let remaining = 0;
  let token: string | undefined;
  do {
    const page = await env.s3.send(
      new ListObjectsV2Command({
        Bucket: o.nsBucket,
        Prefix: dataPrefix,
        ContinuationToken: token,
      }),
    );
    for (const c of page.Contents ?? []) {
      if (swept.has(`s3://${o.nsBucket}/${c.Key}`)) {
        throw new BenchFailure(`GC sweep of ${repo} left ${c.Key}, which it should have deleted`);
      }
      remaining++;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (remaining !== objects - swept.size) {
    throw new BenchFailure(
      `GC sweep of ${repo}: ${remaining} objects remain, expected ${objects - swept.size} (it deleted objects still referenced)`,
    );
  }
  o.log(`GC repo ${repo}: sweep ${sweep.seconds.toFixed(1)} s, verified`);
  return {
    measurement: {
      objects,
      commits,
      branches: o.branches,
      expectedSwept: swept.size,
      swept: objects - remaining,
      markSeconds: mark.seconds,
      sweepSeconds: sweep.seconds,
      lakeFsCalls: usage.lakeFsCalls,
      s3Requests: usage.s3Requests,
      s3ByOperation: usage.s3ByOperation,
      maxPeakHeapMiB: usage.maxPeakHeapBytes / 2 ** 20,
      maxPeakHeapFunction: usage.maxPeakHeapFunction,
      peakHeapMiBByFunction: Object.fromEntries(
        usage.timeline.map((t) => [t.function, Math.round((t.peakHeapBytes / 2 ** 20) * 10) / 10]),
      ),
    },
    sweepUsage: usage,
  };
}
