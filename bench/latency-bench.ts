// How long from a commit to its status line, for a one-object change on a small branch: the
// whole pipeline (lakeFS post-commit webhook, API, event bus, trigger, export state machine,
// status file) on the local runner, over `commits` commits, each waited for before the next.
// Then what AWS adds on top, by a model whose figures are stated with the results.
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import type { BenchEnv } from "./env";
import {
  BenchFailure,
  commitAndAwaitExport,
  type ExportBranch,
  exportSettled,
  prepareExportBranch,
  stageChanges,
} from "./export-bench";
import type { PhysicalObject } from "./populate";
import type { LatencyResult } from "./report";
import { PhaseRecorder } from "./usage";

/**
 * What a deployment in AWS adds to each hop the local runner makes in-process, in
 * milliseconds (assumptions, not measurements: AWS publishes no guaranteed figures). The
 * export workflow's states that run one after the other are counted as such.
 */
export const AWS_LATENCY_MODEL_MS: { hop: string; ms: number; basis: string }[] = [
  {
    hop: "lakeFS webhook through API Gateway to the webhook Lambda (warm)",
    ms: 30,
    basis: "API Gateway REST overhead of tens of milliseconds plus a warm Lambda invoke",
  },
  {
    hop: "EventBridge PutEvents to the trigger Lambda",
    ms: 130,
    basis: "EventBridge's p99 delivery latency after its February 2023 improvement (about 130 ms)",
  },
  {
    hop: "StartExecution to the first state",
    ms: 100,
    basis: "a standard workflow's start, order of 100 ms",
  },
  {
    hop: "5 sequential Lambda task states (plan, markers, status, finish, watchdog record)",
    ms: 5 * 50,
    basis: "about 50 ms of Step Functions and Lambda overhead per task state",
  },
  {
    hop: "distributed map: map run and child execution start",
    ms: 1000,
    basis: "order of a second to start a map run and its first child executions",
  },
];

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

export async function runLatencyBench(
  env: BenchEnv,
  o: {
    pool: PhysicalObject[];
    nsBucket: string;
    exportBucket: string;
    commits: number;
    log: (m: string) => void;
  },
): Promise<LatencyResult> {
  const b = await prepareExportBranch(env, {
    repo: "latency",
    nsBucket: o.nsBucket,
    exportBucket: o.exportBucket,
    objects: 100,
    pool: o.pool,
  });
  await commitAndAwaitExport(env, b, "initial", 120_000);
  const samples: number[] = [];
  const breakdowns: NonNullable<LatencyResult["medianCommit"]>[] = [];
  for (let i = 0; i < o.commits; i++) {
    await stageChanges(env, b, o.nsBucket, 1, 100 + i);
    // Started right before the commit: its timeline's seconds count from here.
    const recorder = new PhaseRecorder(env);
    let ms: number;
    let lakeFsCommitMs: number;
    try {
      ({ ms, lakeFsCommitMs } = await timeOneCommit(env, b, i));
      await exportSettled(env, b, 60_000);
    } catch (err) {
      // Its sampling timer would keep a failed run's process alive.
      recorder.finish();
      throw err;
    }
    samples.push(ms);
    breakdowns.push({
      ms,
      lakeFsCommitMs,
      functions: recorder.finish().timeline.map((t) => ({
        function: t.function,
        startMs: t.firstStartS * 1000,
        endMs: t.lastEndS * 1000,
        busyMs: t.busyS * 1000,
      })),
    });
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const median = breakdowns.find((x) => x.ms === percentile(sorted, 50));
  const awsAddedMs = AWS_LATENCY_MODEL_MS.reduce((n, h) => n + h.ms, 0);
  const result: LatencyResult = {
    commits: samples.length,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    maxMs: sorted.at(-1)!,
    awsModel: AWS_LATENCY_MODEL_MS,
    awsAddedMs,
    ...(median ? { medianCommit: median } : {}),
  };
  o.log(
    `latency commit -> status line over ${samples.length} commits: p50 ${result.p50Ms.toFixed(0)} ms, p95 ${result.p95Ms.toFixed(0)} ms (AWS adds about ${awsAddedMs} ms by the model)`,
  );
  if (median) o.log(`  the median commit: ${describeBreakdown(median)}`);
  return result;
}

/** Commits one staged change and waits for its status line: ms from the commit call to the
 * line, and of those lakeFS's commit. */
async function timeOneCommit(
  env: BenchEnv,
  b: ExportBranch,
  i: number,
): Promise<{ ms: number; lakeFsCommitMs: number }> {
  const t0 = performance.now();
  const commit = await env.lakefs.commit(b.repo, b.branch, { message: `latency ${i}` });
  const lakeFsCommitMs = performance.now() - t0;
  const key = `${b.statusPrefix}/${b.repo}-${b.branch}-${commit.id}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await env.s3.send(new HeadObjectCommand({ Bucket: b.exportBucket, Key: key }));
      break;
    } catch (err) {
      if ((err as { name?: string }).name !== "NotFound") throw err;
    }
    if (Date.now() > deadline) throw new BenchFailure(`no status line for ${commit.id} in 60 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return { ms: performance.now() - t0, lakeFsCommitMs };
}

/** One line: lakeFS's commit, then each function from its first start to its last end. */
export function describeBreakdown(b: NonNullable<LatencyResult["medianCommit"]>): string {
  const fns = [...b.functions]
    .sort((x, y) => x.startMs - y.startMs)
    .map(
      (f) =>
        `${f.function.replace(/Function$/, "")} ${f.startMs.toFixed(0)}-${f.endMs.toFixed(0)} (${f.busyMs.toFixed(0)})`,
    );
  return `${b.ms.toFixed(0)} ms: lakeFS commit 0-${b.lakeFsCommitMs.toFixed(0)}, ${fns.join(", ")} (ms from the commit call; busy ms in brackets)`;
}
