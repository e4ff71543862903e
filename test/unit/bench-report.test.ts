// The benchmark report: the tables say when data was wrong, the chart holds the three panels.
import { describe, expect, it } from "vitest";
import { US_EAST_1_PRICES } from "../../bench/cost-model";
import { type BenchResults, renderSvg, renderTables } from "../../bench/report";

const results = (): BenchResults => ({
  date: "2026-11-24T19:17:45.293Z",
  profile: "full",
  machine: { cpus: 2, cpuModel: "AMD <EPYC>", memoryGiB: 23.5, node: "v20.20.2", platform: "x" },
  dataDirectory: "/dev/shm",
  totalSeconds: 538,
  ceiling: { objectsPerSecond: 1373, threads: 2, concurrency: 32, copies: 10000 },
  exportThroughput: {
    objects: 20001,
    seconds: 19.9,
    objectsPerSecond: 1007,
    ratioToCeiling: 0.733,
  },
  incremental: [1001, 100001].map((n, i) => ({
    branchObjects: n,
    changedObjects: 10,
    seconds: 0.2,
    s3Requests: 26,
    s3ByOperation: {},
    lakeFsCalls: 14,
    lakeFsByOperation: {},
    verified: i === 0,
  })),
  gc: [
    {
      objects: 10000,
      commits: 101,
      branches: 4,
      expectedSwept: 3840,
      swept: 3840,
      markSeconds: 7.6,
      sweepSeconds: 1.6,
      lakeFsCalls: 3963,
      s3Requests: 668,
      s3ByOperation: {},
      maxPeakHeapMiB: 43.6,
      maxPeakHeapFunction: "mark",
    },
  ],
  cost: [],
  prices: US_EAST_1_PRICES,
  coldStart: [],
  unavailable: [],
  failures: ["incremental export on 100000: wrong ETag"],
});

describe("benchmark report", () => {
  it("tables show the machine, the ratio, and mark wrong data and failures", () => {
    const t = renderTables(results());
    expect(t).toContain("Machine: 2 x AMD <EPYC>, 23.5 GiB, Node.js v20.20.2; run took 538 s");
    expect(t).toContain("Embedded S3 data under /dev/shm");
    expect(t).toMatch(/\| First export +\| +20,001 \| 19\.9 \| +1,007 \| +0\.73 \|/);
    expect(t).toContain("branch of 100,001 (WRONG DATA)");
    expect(t).not.toContain("branch of 1,001 (WRONG DATA)");
    expect(t).toContain("FAILED: incremental export on 100000: wrong ETag");
  });

  it("the chart holds the three panels with their values, text escaped", () => {
    const svg = renderSvg(results());
    expect(svg.startsWith("<svg ")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    for (const title of [
      "export throughput, objects/s",
      "incremental export of 10 changes: requests",
      "GC seconds (objects / commits)",
    ]) {
      expect(svg).toContain(`>${title}</text>`);
    }
    expect(svg).toContain(">1,373</text>");
    expect(svg).toContain(">ratio 0.73 (20,001 objects)</text>");
    expect(svg).toContain(">7.6</text>");
    expect(svg).toContain("AMD &lt;EPYC&gt;");
    expect(svg).not.toContain("<EPYC>");
    expect(svg).not.toMatch(/NaN|undefined/);
  });
});
