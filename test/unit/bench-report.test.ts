// The benchmark report: the tables say when data was wrong, the chart holds the three panels.
import { describe, expect, it } from "vitest";
import { US_EAST_1_PRICES } from "../../bench/cost-model";
import { type BenchResults, latestResultsName, renderSvg, renderTables } from "../../bench/report";
import { summarizeThroughput, throughputRound } from "../../bench/throughput";

const results = (): BenchResults => ({
  date: "2026-11-24T19:17:45.293Z",
  profile: "full",
  machine: { cpus: 2, cpuModel: "AMD <EPYC>", memoryGiB: 23.5, node: "v20.20.2", platform: "x" },
  dataDirectory: "/dev/shm",
  lambdaConcurrency: 2,
  copyConcurrencyPerWorker: 64,
  copyWorkers: 1,
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
    expect(t).toContain(
      "2 local workers per Lambda function (the export copy function 1); 64 copies in flight per copy worker",
    );
    expect(t).toMatch(/\| First export +\| +20,001 \| 19\.9 \| +1,007 \| +0\.73 \|/);
    expect(t).toContain("branch of 100,001 (WRONG DATA)");
    expect(t).not.toContain("branch of 1,001 (WRONG DATA)");
    expect(t).toContain("FAILED: incremental export on 100000: wrong ETag");
    // A run under node flags says so beside the machine.
    const flagged = results();
    flagged.machine = { ...flagged.machine, nodeFlags: ["--v8-pool-size=1"] };
    expect(renderTables(flagged)).toContain("Node.js v20.20.2 (flags --v8-pool-size=1); run took");
    // So does a run with a dearer copy in the embedded S3, and a plain run does not.
    expect(t).not.toContain("DIAGNOSTIC RUN");
    const dearer = results();
    dearer.s3CopyWork = { spinThousands: 60 };
    expect(renderTables(dearer)).toContain(
      "DIAGNOSTIC RUN: the embedded S3 spun 60 thousand iterations of extra CPU on every copy",
    );
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

describe("export throughput rounds", () => {
  it("compare the best export with the best ceiling of the run, and each round with its ceilings", () => {
    const rounds = [
      throughputRound(50_000, 50, 1200, 1300), // 1000/s
      throughputRound(50_000, 40, 1300, 1250), // 1250/s
      throughputRound(50_000, 45, 1250, 1400), // 1111/s
    ];
    expect(rounds.map((r) => Number(r.ratio.toFixed(3)))).toEqual([0.769, 0.962, 0.794]);
    const { throughput, failures } = summarizeThroughput(rounds);
    // A sweep's sample counts too: the best ceiling of the run, whatever measured it.
    expect(summarizeThroughput(rounds, [1500]).throughput.ratioToCeiling).toBeCloseTo(
      1250 / 1500,
      6,
    );
    expect(throughput.objectsPerSecond).toBe(1250);
    expect(throughput.seconds).toBe(40);
    expect(throughput.ratioToCeiling).toBeCloseTo(1250 / 1400, 6);
    expect(throughput.medianRoundRatio).toBeCloseTo(1111.11 / 1400, 4);
    expect(failures).toEqual([]);
  });

  it("fail the run when an export beats the ceilings around it or the best of the run", () => {
    const { failures } = summarizeThroughput([
      throughputRound(50_000, 50, 1200, 1300),
      throughputRound(50_000, 40, 1100, 1200), // 1250/s beats both ceilings around it
    ]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(
      /round 2 \(1250\/s\) beat the ceilings around it \(1100\/s, 1200\/s\)/,
    );
    const beatAll = summarizeThroughput([throughputRound(50_000, 40, 1100, 1200)]).failures;
    expect(beatAll).toHaveLength(2);
    expect(beatAll[0]).toMatch(/beat every ceiling of the run \(best 1200\/s\)/);
  });

  it("the table lists every round and the best; the chart says best of n and the median", () => {
    const rounds = [
      throughputRound(50_000, 50, 1200, 1300),
      throughputRound(50_000, 40, 1300, 1250),
    ];
    const r: BenchResults = {
      ...results(),
      ceilingAfter: { objectsPerSecond: 1300, threads: 2, concurrency: 32, copies: 10000 },
      ceilingRounds: [1200, 1300, 1250].map((objectsPerSecond) => ({
        objectsPerSecond,
        threads: 2,
        concurrency: 32,
        copies: 50_000,
      })),
      exportThroughput: summarizeThroughput(rounds).throughput,
    };
    const t = renderTables(r);
    expect(t).toMatch(/\| S3 ceiling before export round 1 \(2x32\) +\| +50,000 \| +\| +1,200 \|/);
    expect(t).toMatch(/\| S3 ceiling after export round 2 \(2x32\) +\| +50,000 \| +\| +1,250 \|/);
    expect(t).toMatch(
      /\| Export round 1 \(ratio to the ceilings around it\) +\| +50,000 \| 50\.0 \| +1,000 \| +0\.77 \|/,
    );
    expect(t).toMatch(
      /\| First export, best of 2 \(ratio to the run's best ceiling\) +\| +50,000 \| 40\.0 \| +1,250 \| +0\.96 \|/,
    );
    const svg = renderSvg(r);
    expect(svg).toContain(">export, best of 2</text>");
    expect(svg).toContain(">ratio 0.96, median round 0.87 (50,000 objects)</text>");
  });
});

describe("which latest files a run replaces", () => {
  it("a run of every part latest, a full-size xl run latest-xl, a diagnostic run with a dearer S3 copy neither", () => {
    expect(latestResultsName({}, { allParts: true, xlFull: false })).toBe("latest");
    expect(latestResultsName({}, { allParts: false, xlFull: true })).toBe("latest-xl");
    expect(latestResultsName({}, { allParts: false, xlFull: false })).toBeUndefined();
    const dearer = { s3CopyWork: { spinThousands: 60 } };
    expect(latestResultsName(dearer, { allParts: true, xlFull: false })).toBeUndefined();
    expect(latestResultsName(dearer, { allParts: false, xlFull: true })).toBeUndefined();
  });
});
