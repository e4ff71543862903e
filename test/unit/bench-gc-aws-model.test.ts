// The modelled AWS wall time and cost of a GC run (bench/gc-aws-model.ts), the xl profile's
// sizes (bench/run.ts's xlGcProfile) and how the report shows an xl GC entry.
import { describe, expect, it } from "vitest";
import { costOf, US_EAST_1_PRICES } from "../../bench/cost-model";
import { MAP_CONCURRENCY, modelGcOnAws, modelGcStep } from "../../bench/gc-aws-model";
import { xlGcProfile } from "../../bench/gc-bench";
import { type BenchResults, renderSvg, renderTables } from "../../bench/report";
import type { FunctionTimeline, PhaseUsage } from "../../bench/usage";
import { combineUsage, lambdaCpuPerObject } from "../../bench/usage";

const step = (fn: string, invocations: number, busyS: number, longestS: number) =>
  ({
    function: fn,
    invocations,
    busyS,
    longestS,
    firstStartS: 0,
    lastEndS: busyS,
    peakHeapBytes: 2 ** 20 * invocations,
  }) satisfies FunctionTimeline;

function usage(timeline: FunctionTimeline[], s3: Record<string, number>): PhaseUsage {
  return {
    seconds: 10,
    lambdaInvocations: timeline.reduce((a, t) => a + t.invocations, 0),
    lambdaErrors: 0,
    lambdaGbSeconds: timeline.reduce((a, t) => a + t.busyS, 0),
    maxPeakHeapBytes: Math.max(...timeline.map((t) => t.peakHeapBytes)),
    maxPeakHeapFunction: "x",
    sfnExecutions: 1,
    sfnChildExecutions: 0,
    sfnStateTransitions: 10,
    s3Requests: Object.values(s3).reduce((a, n) => a + n, 0),
    s3ByOperation: s3,
    lakeFsCalls: 100,
    lakeFsByOperation: { listObjects: 100 },
    timeline,
  };
}

describe("GC on AWS, modelled", () => {
  it("a map step takes its summed durations spread over the map's concurrency, at least its longest invocation", () => {
    // 200 invocations of 1 s each: 4 rounds of 50, plus the map's start.
    expect(modelGcStep(step("GcAddressesFunction", 200, 200, 1)).seconds).toBeCloseTo(4 + 1);
    // One long listing dominates: the map cannot be faster than it.
    expect(modelGcStep(step("GcAddressesFunction", 10, 40, 31)).seconds).toBeCloseTo(31 + 1);
    // A single task state: its duration plus a task's latency.
    expect(modelGcStep(step("GcCommitsFunction", 1, 5, 5)).seconds).toBeCloseTo(5.05);
    expect(MAP_CONCURRENCY).toBe(50);
  });

  it("a run is its steps in sequence, mark then sweep, and costs the counts of both runs", () => {
    const mark = usage(
      [step("GcCommitsFunction", 1, 2, 2), step("GcAddressesFunction", 100, 100, 3)],
      { PutObject: 300, GetObject: 200 },
    );
    const sweep = usage([step("GcSweepFunction", 3, 6, 2)], { DeleteObjects: 3, PutObject: 10 });
    const m = modelGcOnAws({ mark, sweep }, 2000);
    expect(m.phases.map((p) => [p.phase, p.steps.length])).toEqual([
      ["mark", 2],
      ["sweep", 1],
    ]);
    expect(m.phases[0]!.seconds).toBeCloseTo(2.05 + (3 + 1));
    expect(m.phases[1]!.seconds).toBeCloseTo(2 + 1);
    expect(m.wallSeconds).toBeCloseTo(2.05 + 4 + 3);
    const both = costOf({
      objects: 2000,
      lambdaInvocations: 104,
      lambdaGbSeconds: 108,
      sfnStandardTransitions: 20,
      sfnExpressExecutions: 0,
      sfnExpressGbSeconds: 0,
      s3ByOperation: { PutObject: 310, GetObject: 200, DeleteObjects: 3 },
    });
    expect(m.costUsd.total).toBeCloseTo(both.measured.total, 10);
    expect(m.costPerMillionSwept.total).toBeCloseTo(both.perMillionObjects.total, 10);
  });

  it("combines the mark's and the sweep's usage per function", () => {
    const a = usage([step("GcAddressesFunction", 2, 4, 3)], { PutObject: 1 });
    const b = usage([step("GcAddressesFunction", 1, 1, 1), step("GcSweepFunction", 1, 2, 2)], {
      PutObject: 2,
      DeleteObjects: 1,
    });
    const c = combineUsage(a, b);
    expect(c.s3ByOperation).toEqual({ PutObject: 3, DeleteObjects: 1 });
    expect(c.lakeFsCalls).toBe(200);
    expect(c.timeline.map((t) => [t.function, t.invocations, t.busyS, t.longestS])).toEqual([
      ["GcAddressesFunction", 3, 5, 3],
      ["GcSweepFunction", 1, 2, 2],
    ]);
  });

  it("adds each function's thread CPU over phases and gives it per object", () => {
    const a = usage([{ ...step("ExportCopyFunction", 2, 4, 3), cpuS: 1.5 }], {});
    const b = usage(
      [
        { ...step("ExportCopyFunction", 1, 1, 1), cpuS: 0.5 },
        { ...step("ExportPlanFunction", 1, 2, 2), cpuS: 0.25 },
        step("ExportStatusFunction", 1, 1, 1),
      ],
      {},
    );
    const c = combineUsage(a, b);
    expect(c.timeline.map((t) => [t.function, t.cpuS])).toEqual([
      ["ExportCopyFunction", 2],
      ["ExportPlanFunction", 0.25],
      ["ExportStatusFunction", undefined],
    ]);
    // µs per object, one decimal; a function without a CPU reading is left out.
    expect(lambdaCpuPerObject(c.timeline, 10_000)).toEqual({ Copy: 200, Plan: 25 });
    expect(lambdaCpuPerObject([step("ExportStatusFunction", 1, 1, 1)], 10)).toBeUndefined();
  });

  it("the xl profile: 3 000 commits, 1.7 million paths on 1 000 objects; scaled down for development", () => {
    const xl = xlGcProfile();
    expect(xl.branches * xl.commitsPerBranch).toBe(3000);
    expect(1 + xl.base + xl.branches * xl.hotPaths).toBe(1_700_000);
    expect(xl.basePool).toBe(1000);
    expect(xl.bulk).toBe(true);
    const small = xlGcProfile(0.05);
    expect(small.branches * small.commitsPerBranch).toBe(152);
    expect(1 + small.base + small.branches * small.hotPaths).toBe(85_000);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => xlGcProfile(bad)).toThrow(/SCALE/);
  });

  it("the report shows an xl GC entry by paths, with the model and each step's peak heap", () => {
    const mark = usage([step("GcAddressesFunction", 8, 108.3, 27.3)], { PutObject: 1 });
    const sweep = usage([step("GcSweepFunction", 3, 20.5, 7.9)], { DeleteObjects: 2 });
    const awsModel = modelGcOnAws({ mark, sweep }, 29_960);
    const r: BenchResults = {
      date: "2026-12-02T04:37:30.035Z",
      profile: "xl",
      machine: { cpus: 2, cpuModel: "Xeon", memoryGiB: 23.5, node: "v20.20.2", platform: "x" },
      totalSeconds: 900,
      incremental: [],
      gc: [
        {
          profile: "xl",
          objects: 31_000,
          paths: 1_700_000,
          commits: 3001,
          branches: 4,
          expectedSwept: 29_960,
          swept: 29_960,
          markSeconds: 300,
          sweepSeconds: 30,
          lakeFsCalls: 35_000,
          s3Requests: 9000,
          s3ByOperation: {},
          maxPeakHeapMiB: 57.1,
          maxPeakHeapFunction: "GcMarkFunction",
          peakHeapMiBByFunction: { GcAddressesFunction: 50, GcSweepFunction: 26.5 },
          awsModel,
        },
      ],
      cost: [],
      prices: US_EAST_1_PRICES,
      coldStart: [],
      unavailable: [],
      failures: [],
    };
    const t = renderTables(r);
    expect(t).toContain("1,700,000 paths, 31,000 objects, 4 branches");
    expect(t).toMatch(/mark Addresses +\| +8 \| +108\.3 \| +27\.3 \| +50\.0 \| +28\.3 \|/);
    expect(t).toMatch(/sweep Sweep +\| +3 \| +20\.5 \| +7\.9 \| +26\.5 \| +8\.9 \|/);
    const svg = renderSvg(r);
    expect(svg).toContain("GC of 1,700,000 paths, 3,001 commits: s");
    expect(svg).toContain(`AWS model ($${awsModel.costUsd.total.toFixed(3)})`);
    expect(svg).toContain("exactly 29,960 of 31,000 objects swept");
    expect(svg).toContain("peak heap per GC function, MiB");
    expect(svg).not.toContain("export throughput");
  });
});
