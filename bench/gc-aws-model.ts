// Modelled AWS wall time and cost of a GC run, from what the local run measured: each GC
// function's invocations and their durations, the Step Functions map concurrency of the
// deployment, and the counts priced by cost-model.ts. Pure (no SDK, no clock).
//
// Wall time: the GC state machine runs its steps one after the other (commits, the address
// map, the mark map, the sweep map, the summary), and a distributed map runs up to
// MAP_CONCURRENCY children at once. So a step takes about
//   max(its longest invocation, its summed durations / min(invocations, MAP_CONCURRENCY))
// plus the state machine's own latency per step, and a run the sum over its steps. The local
// durations come from 2 shared cores with lakeFS and S3 in the same process, i.e. they are
// on the slow side for the same work in a Lambda of its own; lakeFS's network latency in AWS
// is not added (the local calls are on the loopback).
import { type CostBreakdown, costOf } from "./cost-model";
import { type PhaseUsage, toMeasuredUsage } from "./usage";

/** The deployment's default `maxConcurrency` (child executions per distributed map). */
export const MAP_CONCURRENCY = 50;

/** Step Functions latency per step, as in latency-bench.ts's AWS hop model. */
export const STEP_LATENCY_S = { task: 0.05, map: 1 };

export interface AwsGcStep {
  function: string;
  invocations: number;
  busyS: number;
  longestS: number;
  /** Modelled seconds of the step in AWS. */
  seconds: number;
}

export interface AwsGcModel {
  mapConcurrency: number;
  basis: string;
  phases: { phase: "mark" | "sweep"; seconds: number; steps: AwsGcStep[] }[];
  /** Mark and sweep, modelled. */
  wallSeconds: number;
  /** USD of the measured counts (both runs) at list prices. */
  costUsd: CostBreakdown;
  /** The same per million swept objects. */
  costPerMillionSwept: CostBreakdown;
}

export function modelGcStep(
  t: { function: string; invocations: number; busyS: number; longestS: number },
  concurrency = MAP_CONCURRENCY,
): AwsGcStep {
  const parallel = Math.max(1, Math.min(t.invocations, concurrency));
  const latency = t.invocations > 1 ? STEP_LATENCY_S.map : STEP_LATENCY_S.task;
  return {
    function: t.function,
    invocations: t.invocations,
    busyS: t.busyS,
    longestS: t.longestS,
    seconds: Math.max(t.longestS, t.busyS / parallel) + latency,
  };
}

export function modelGcOnAws(
  usage: { mark: PhaseUsage; sweep: PhaseUsage },
  swept: number,
  concurrency = MAP_CONCURRENCY,
): AwsGcModel {
  const phases = (["mark", "sweep"] as const).map((phase) => {
    const steps = usage[phase].timeline.map((t) => modelGcStep(t, concurrency));
    return { phase, seconds: steps.reduce((a, st) => a + st.seconds, 0), steps };
  });
  const measured = {
    ...toMeasuredUsage(usage.mark, Math.max(1, swept)),
    lambdaInvocations: usage.mark.lambdaInvocations + usage.sweep.lambdaInvocations,
    lambdaGbSeconds: usage.mark.lambdaGbSeconds + usage.sweep.lambdaGbSeconds,
    sfnStandardTransitions: usage.mark.sfnStateTransitions + usage.sweep.sfnStateTransitions,
    s3ByOperation: { ...usage.mark.s3ByOperation },
  };
  for (const [op, n] of Object.entries(usage.sweep.s3ByOperation)) {
    measured.s3ByOperation[op] = (measured.s3ByOperation[op] ?? 0) + n;
  }
  const cost = costOf(measured);
  return {
    mapConcurrency: concurrency,
    basis: `per step max(longest invocation, summed durations / min(invocations, ${concurrency})) + ${STEP_LATENCY_S.task} s a task, ${STEP_LATENCY_S.map} s a map; local durations, lakeFS latency not added`,
    phases,
    wallSeconds: phases.reduce((a, p) => a + p.seconds, 0),
    costUsd: cost.measured,
    costPerMillionSwept: cost.perMillionObjects,
  };
}
