// What one benchmark phase consumed on the local cloud: Lambda invocations (durations x the
// template's memory size, peak heap), Step Functions state transitions and child executions,
// S3 requests (proxy counters) and lakeFS calls (dev server stats). Lambda records are kept
// 1000 per function by the runtime, so a recorder samples them while the phase runs.
import type { InvocationRecord } from "../local/lambda/runtime";
import type { ExecutionRecord } from "../local/stepfunctions/records";
import type { MeasuredUsage } from "./cost-model";
import type { BenchEnv } from "./env";

export interface PhaseUsage {
  seconds: number;
  lambdaInvocations: number;
  lambdaErrors: number;
  lambdaGbSeconds: number;
  maxPeakHeapBytes: number;
  maxPeakHeapFunction: string;
  sfnExecutions: number;
  sfnChildExecutions: number;
  sfnStateTransitions: number;
  s3Requests: number;
  s3ByOperation: Record<string, number>;
  lakeFsCalls: number;
  lakeFsByOperation: Record<string, number>;
  /** Per function: invocations and when they ran, in seconds from the phase start. */
  timeline: FunctionTimeline[];
}

export interface FunctionTimeline {
  /** The construct name inside the logical id, e.g. "ExportCopyFunction". */
  function: string;
  invocations: number;
  firstStartS: number;
  lastEndS: number;
  /** Sum of invocation durations (greater than lastEnd - firstStart when they overlap). */
  busyS: number;
  /** CPU time of the function's threads over its invocations (where the runtime reads it). */
  cpuS?: number;
  /** The longest single invocation. */
  longestS: number;
  /** Largest V8 heap any one invocation of the function used. */
  peakHeapBytes: number;
}

export class PhaseRecorder {
  private readonly seen = new Map<string, InvocationRecord>();
  private readonly started = Date.now();
  private readonly t0 = performance.now();
  private readonly timer: NodeJS.Timeout;
  private readonly memoryByName = new Map<string, number>();

  constructor(private readonly env: BenchEnv) {
    env.s3Server.admin.resetRequestCounts();
    env.lakefsServer.resetStats();
    for (const s of env.cloud.runtime.allStats()) {
      for (const r of s.records) this.seen.set(r.requestId, r);
    }
    this.baseline = new Set(this.seen.keys());
    this.timer = setInterval(() => this.sample(), 250);
  }

  private readonly baseline: Set<string>;

  private sample() {
    for (const s of this.env.cloud.runtime.allStats()) {
      for (const r of s.records) if (!this.seen.has(r.requestId)) this.seen.set(r.requestId, r);
    }
  }

  /** Memory size (MB) per function physical name, from the deployed template. */
  setMemorySizes(sizes: Map<string, number>) {
    for (const [k, v] of sizes) this.memoryByName.set(k, v);
  }

  finish(): PhaseUsage {
    clearInterval(this.timer);
    this.sample();
    const seconds = (performance.now() - this.t0) / 1000;
    let gbs = 0;
    let invocations = 0;
    let errors = 0;
    let peak = 0;
    let peakFn = "";
    const timeline = new Map<string, FunctionTimeline>();
    for (const [id, r] of this.seen) {
      if (this.baseline.has(id)) continue;
      invocations++;
      const name = /Lakeport(\w+?Function)/.exec(r.functionName)?.[1] ?? r.functionName;
      const start = (r.startedAt.getTime() - this.started) / 1000;
      const end = start + r.durationMs / 1000;
      const t = timeline.get(name) ?? {
        function: name,
        invocations: 0,
        firstStartS: start,
        lastEndS: end,
        busyS: 0,
        longestS: 0,
        peakHeapBytes: 0,
      };
      t.invocations++;
      t.firstStartS = Math.min(t.firstStartS, start);
      t.lastEndS = Math.max(t.lastEndS, end);
      t.busyS += r.durationMs / 1000;
      if (r.cpuMs !== undefined) t.cpuS = (t.cpuS ?? 0) + r.cpuMs / 1000;
      t.longestS = Math.max(t.longestS, r.durationMs / 1000);
      t.peakHeapBytes = Math.max(t.peakHeapBytes, r.peakHeapUsedBytes ?? 0);
      timeline.set(name, t);
      if (r.outcome !== "success") errors++;
      const mb = this.memoryByName.get(r.functionName) ?? 128;
      gbs += (r.durationMs / 1000) * (mb / 1024);
      if ((r.peakHeapUsedBytes ?? 0) > peak) {
        peak = r.peakHeapUsedBytes ?? 0;
        peakFn = r.functionName;
      }
    }
    const executions = [
      ...(
        this.env.cloud.runner as unknown as { executions: Map<string, ExecutionRecord> }
      ).executions.values(),
    ].filter((e) => e.startDate.getTime() >= this.started);
    let transitions = 0;
    for (const e of executions) {
      for (const h of e.history) if (h.type.endsWith("StateEntered")) transitions++;
    }
    const s3 = this.env.s3Server.admin.requestCounts();
    const lk = this.env.lakefsServer.stats();
    return {
      seconds,
      lambdaInvocations: invocations,
      lambdaErrors: errors,
      lambdaGbSeconds: gbs,
      maxPeakHeapBytes: peak,
      maxPeakHeapFunction: peakFn,
      sfnExecutions: executions.filter((e) => !e.mapRunArn).length,
      sfnChildExecutions: executions.filter((e) => e.mapRunArn).length,
      sfnStateTransitions: transitions,
      s3Requests: s3.total,
      s3ByOperation: s3.byOperation,
      lakeFsCalls: lk.requests,
      lakeFsByOperation: lk.byOperation,
      timeline: [...timeline.values()].sort((a, b) => a.firstStartS - b.firstStartS),
    };
  }
}

/** Memory sizes of the deployed functions, by physical name. */
export async function functionMemorySizes(env: BenchEnv): Promise<Map<string, number>> {
  const { readFile } = await import("node:fs/promises");
  const path = await import("node:path");
  const template = JSON.parse(
    await readFile(path.join(env.assemblyDir, `${env.stackName}.template.json`), "utf8"),
  ) as { Resources: Record<string, { Type: string; Properties?: { MemorySize?: number } }> };
  const out = new Map<string, number>();
  for (const r of env.cloud.deployment.resources) {
    if (r.type !== "AWS::Lambda::Function") continue;
    const mb = Number(template.Resources[r.logicalId]?.Properties?.MemorySize ?? 128);
    out.set(r.physicalId, mb);
  }
  return out;
}

const addCounts = (a: Record<string, number>, b: Record<string, number>) => {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
};

/** Two consecutive phases as one (counts and durations added, peaks the larger). */
export function combineUsage(a: PhaseUsage, b: PhaseUsage): PhaseUsage {
  const timeline = new Map(a.timeline.map((t) => [t.function, { ...t }]));
  for (const t of b.timeline) {
    const prev = timeline.get(t.function);
    if (!prev) {
      timeline.set(t.function, {
        ...t,
        firstStartS: t.firstStartS + a.seconds,
        lastEndS: t.lastEndS + a.seconds,
      });
      continue;
    }
    prev.invocations += t.invocations;
    prev.lastEndS = Math.max(prev.lastEndS, t.lastEndS + a.seconds);
    prev.busyS += t.busyS;
    if (t.cpuS !== undefined) prev.cpuS = (prev.cpuS ?? 0) + t.cpuS;
    prev.longestS = Math.max(prev.longestS, t.longestS);
    prev.peakHeapBytes = Math.max(prev.peakHeapBytes, t.peakHeapBytes);
  }
  const peakFromB = b.maxPeakHeapBytes > a.maxPeakHeapBytes;
  return {
    seconds: a.seconds + b.seconds,
    lambdaInvocations: a.lambdaInvocations + b.lambdaInvocations,
    lambdaErrors: a.lambdaErrors + b.lambdaErrors,
    lambdaGbSeconds: a.lambdaGbSeconds + b.lambdaGbSeconds,
    maxPeakHeapBytes: Math.max(a.maxPeakHeapBytes, b.maxPeakHeapBytes),
    maxPeakHeapFunction: peakFromB ? b.maxPeakHeapFunction : a.maxPeakHeapFunction,
    sfnExecutions: a.sfnExecutions + b.sfnExecutions,
    sfnChildExecutions: a.sfnChildExecutions + b.sfnChildExecutions,
    sfnStateTransitions: a.sfnStateTransitions + b.sfnStateTransitions,
    s3Requests: a.s3Requests + b.s3Requests,
    s3ByOperation: addCounts(a.s3ByOperation, b.s3ByOperation),
    lakeFsCalls: a.lakeFsCalls + b.lakeFsCalls,
    lakeFsByOperation: addCounts(a.lakeFsByOperation, b.lakeFsByOperation),
    timeline: [...timeline.values()].sort((x, y) => x.firstStartS - y.firstStartS),
  };
}

export function toMeasuredUsage(u: PhaseUsage, objects: number): MeasuredUsage {
  return {
    objects,
    lambdaInvocations: u.lambdaInvocations,
    lambdaGbSeconds: u.lambdaGbSeconds,
    sfnStandardTransitions: u.sfnStateTransitions,
    sfnExpressExecutions: 0,
    sfnExpressGbSeconds: 0,
    s3ByOperation: u.s3ByOperation,
  };
}

/** Resolves once no Lambda invocation has started or ended for `quietMs`. */
export async function lambdasQuiet(env: BenchEnv, quietMs = 1000): Promise<void> {
  const signature = () =>
    env.cloud.runtime
      .allStats()
      .map((s) => `${s.invocations}:${s.records.at(-1)?.durationMs ?? ""}`)
      .join(",");
  let last = signature();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    await new Promise((r) => setTimeout(r, 100));
    const now = signature();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}

/** Each export function's thread CPU per object (µs), named without the stack's prefixes. */
export function lambdaCpuPerObject(
  timeline: readonly { function: string; cpuS?: number }[],
  objects: number,
): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  for (const t of timeline) {
    if (t.cpuS === undefined) continue;
    const name = t.function.replace(/^Export/, "").replace(/Function$/, "");
    out[name] = Math.round((t.cpuS * 1e7) / objects) / 10;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
