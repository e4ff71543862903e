import { describe, expect, it } from "vitest";
import {
  nanosPerItemBetween,
  type ProbeReading,
  parseProbeLine,
  startSpeedProbe,
} from "../../bench/speed-probe";
import { summarizeThroughput, throughputRound } from "../../bench/throughput";

const reading = (atMs: number, items: number, cpuMicros: number): ProbeReading => ({
  atMs,
  items,
  cpuMicros,
});

describe("the speed probe's readings", () => {
  it("parse only well-formed lines", () => {
    expect(parseProbeLine("1700000000000 1200 35000\n")).toEqual(
      reading(1700000000000, 1200, 35000),
    );
    expect(parseProbeLine("1700000000000 1200")).toBe(undefined);
    expect(parseProbeLine("warning: something")).toBe(undefined);
    expect(parseProbeLine("1 2 x")).toBe(undefined);
  });

  it("give CPU nanoseconds per item between two moments, interpolated between readings", () => {
    // 10 µs of CPU per item for the first second, then 20 µs per item.
    const r = [reading(0, 0, 0), reading(1000, 100, 1000), reading(2000, 200, 3000)];
    expect(nanosPerItemBetween(r, 0, 1000)).toBeCloseTo(10_000, 6);
    expect(nanosPerItemBetween(r, 1000, 2000)).toBeCloseTo(20_000, 6);
    // Half a second of each: 50 items at 10 µs and 50 at 20 µs.
    expect(nanosPerItemBetween(r, 500, 1500)).toBeCloseTo(15_000, 6);
  });

  it("give nothing for moments the readings do not cover, or no work in between", () => {
    const r = [reading(1000, 100, 1000), reading(2000, 200, 3000)];
    expect(nanosPerItemBetween(r, 500, 1500)).toBe(undefined);
    expect(nanosPerItemBetween(r, 1500, 2500)).toBe(undefined);
    expect(nanosPerItemBetween(r, 1500, 1500)).toBe(undefined);
    expect(nanosPerItemBetween([reading(0, 5, 0), reading(1000, 5, 100)], 0, 1000)).toBe(undefined);
  });

  it("runs as a process and reports its CPU time per item", async () => {
    const probe = startSpeedProbe();
    try {
      const from = Date.now();
      await new Promise((r) => setTimeout(r, 2500));
      const ns = await probe.nanosPerItem(from + 500, Date.now());
      expect(ns).toBeGreaterThan(0);
      expect(ns).toBeLessThan(10_000_000);
    } finally {
      probe.stop();
    }
  }, 15_000);
});

describe("export rounds against ceilings at the export's machine speed", () => {
  it("scale each ceiling sample by its probe reading over the export's", () => {
    // The export ran while the machine was a tenth faster than during either sample.
    const round = throughputRound(50_000, 25, 1900, 1950, undefined, undefined, {
      export: 10_000,
      ceilingBefore: 11_000,
      ceilingAfter: 11_000,
    });
    expect(round.objectsPerSecond).toBe(2000);
    expect(round.ratio).toBeCloseTo(2000 / 1950, 6);
    expect(round.speedAdjustedCeilingBefore).toBeCloseTo(2090, 6);
    expect(round.speedAdjustedCeilingAfter).toBeCloseTo(2145, 6);
    expect(round.speedAdjustedRatio).toBeCloseTo(2000 / 2145, 6);
  });

  it("decide a round's failure at the export's speed, and still fail a round that beat its ceilings at it", () => {
    const faster = throughputRound(50_000, 25, 1900, 1950, undefined, undefined, {
      export: 10_000,
      ceilingBefore: 11_000,
      ceilingAfter: 11_000,
    });
    const slower = throughputRound(50_000, 25, 2050, 2100, undefined, undefined, {
      export: 11_000,
      ceilingBefore: 10_000,
      ceilingAfter: 10_000,
    });
    // The raw ratio above 1 in a faster minute: the drift, not a wrong ceiling.
    const ok = summarizeThroughput([faster], [2200]);
    expect(ok.failures).toEqual([]);
    expect(ok.throughput.medianSpeedAdjustedRatio).toBeCloseTo(2000 / 2145, 6);
    // Below the raw samples, but above them at the export's (slower) speed: the ceiling is wrong.
    expect(slower.ratio).toBeLessThan(1);
    expect(slower.speedAdjustedRatio).toBeGreaterThan(1);
    const bad = summarizeThroughput([slower], [2200]).failures;
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatch(
      /round 1 \(2000\/s\) beat the ceilings around it at the export's machine speed/,
    );
  });

  it("without probe readings (or a zero one) judge the raw ratio as before", () => {
    const r = throughputRound(50_000, 25, 1900, 1950, undefined, undefined, {
      export: 0,
      ceilingBefore: 11_000,
      ceilingAfter: 11_000,
    });
    expect(r.speedAdjustedRatio).toBe(undefined);
    expect(summarizeThroughput([r], [2200]).failures[0]).toMatch(
      /round 1 \(2000\/s\) beat the ceilings around it \(1900\/s, 1950\/s\)/,
    );
  });
});
