import { describe, expect, it } from "vitest";
import {
  type CpuSnapshot,
  cpuSnapshot,
  cpuUse,
  parseProcStat,
  parseSchedstat,
  parseTaskStatTicks,
  waitForQuietMachine,
} from "../../bench/cpu-usage";
import { type BenchResults, renderTables } from "../../bench/report";
import {
  bracketSettingsOf,
  copyShapeOf,
  s3CopyWorkOf,
  summarizeThroughput,
  throughputRound,
} from "../../bench/throughput";

const snapshot = (
  atMs: number,
  machine: CpuSnapshot["machine"],
  threads: [string, number][],
): CpuSnapshot => ({ atMs, machine, threads: new Map(threads), pid: "100" });

const use = (microsPerObject: number) => ({
  seconds: 40,
  cores: 1.9,
  microsPerObject,
  mainThreadMicrosPerObject: microsPerObject / 4,
  otherThreadsMicrosPerObject: microsPerObject / 2,
  stealShare: 0.01,
});

/** A run's results with nothing but what a test sets. */
const benchResults = (parts: Partial<BenchResults>): BenchResults => ({
  date: "2026-12-02T00:00:00.000Z",
  profile: "full",
  machine: { cpus: 2, cpuModel: "Test CPU", memoryGiB: 8, node: "v20", platform: "linux" },
  totalSeconds: 1,
  incremental: [],
  gc: [],
  cost: [],
  prices: {} as BenchResults["prices"],
  coldStart: [],
  unavailable: [],
  failures: [],
  ...parts,
});

describe("CPU accounting of the benchmark", () => {
  it("reads /proc/stat's aggregate line: busy, idle (with iowait) and steal", () => {
    const text = [
      "cpu  934289 10 174925 924306 2445 5 11940 35954 0 0",
      "cpu0 467000 5 87000 462000 1200 2 5900 17900 0 0",
      "intr 123",
    ].join("\n");
    expect(parseProcStat(text)).toEqual({
      busy: 934289 + 10 + 174925 + 5 + 11940,
      idle: 924306 + 2445,
      steal: 35954,
    });
    expect(() => parseProcStat("intr 1\n")).toThrow(/no aggregate cpu line/);
  });

  it("reads a thread's utime + stime even when its name holds spaces and parentheses", () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    const line = "4242 (node (worker) 1) R 1 4242 4242 0 -1 4194560 100 0 0 0 731 129 0 0 20 0";
    expect(parseTaskStatTicks(line)).toBe(731 + 129);
  });

  it("splits CPU per object between the main thread and the others, with cores and steal", () => {
    const a = snapshot(0, { busy: 1000, idle: 500, steal: 10 }, [
      ["100", 300],
      ["101", 200],
    ]);
    // 10 s later: the machine was busy 1 900 ticks (19 s of 20 CPU-seconds), stole 100.
    const b = snapshot(10_000, { busy: 2900, idle: 500, steal: 110 }, [
      ["100", 800], // main thread: +500 ticks = 5 s
      ["101", 900], // +700
      ["102", 400], // a thread started in between: all of it counts
    ]);
    const u = cpuUse(a, b, 10_000);
    expect(u.seconds).toBe(10);
    expect(u.cores).toBeCloseTo(1.9, 6);
    expect(u.microsPerObject).toBeCloseTo(1900, 6); // 19 s / 10 000 objects
    expect(u.mainThreadMicrosPerObject).toBeCloseTo(500, 6);
    expect(u.otherThreadsMicrosPerObject).toBeCloseTo(1100, 6);
    expect(u.stealShare).toBeCloseTo(100 / 2000, 6);
    expect(u.clientThreadsMicrosPerObject).toBeUndefined();
    // Named client threads (the Lambda workers or the ceiling loop's) apart from the helpers.
    const split = cpuUse(a, b, 10_000, new Set(["102"]));
    expect(split.clientThreadsMicrosPerObject).toBeCloseTo(400, 6);
    expect(split.helperThreadsMicrosPerObject).toBeCloseTo(700, 6);
  });

  it("reads a thread's schedstat: ns on a CPU and ns ready but waiting for one", () => {
    expect(parseSchedstat("2838472918 104838201 91822\n")).toEqual({
      runNs: 2838472918,
      waitNs: 104838201,
    });
    expect(() => parseSchedstat("")).toThrow(/schedstat/);
  });

  it("gives the main thread's shares of the wall time on a CPU and waiting for one", () => {
    const at = (ms: number, runNs: number, waitNs: number): CpuSnapshot => ({
      ...snapshot(ms, { busy: 0, idle: 0, steal: 0 }, [["100", 0]]),
      mainThreadSchedule: { runNs, waitNs },
    });
    // 2 s: ran 1.7 s, waited 0.2 s for a CPU.
    const u = cpuUse(at(1_000, 5e9, 1e9), at(3_000, 6.7e9, 1.2e9), 100);
    expect(u.mainThreadRunShare).toBeCloseTo(0.85, 9);
    expect(u.mainThreadWaitShare).toBeCloseTo(0.1, 9);
    // Without schedstat on either side the shares are left out, not zero.
    const without = cpuUse(snapshot(0, { busy: 0, idle: 0, steal: 0 }, []), at(1_000, 1, 1), 1);
    expect(without.mainThreadWaitShare).toBeUndefined();
    expect(without.mainThreadRunShare).toBeUndefined();
  });

  it("gives the share of the wall time the main thread was paused collecting garbage", async () => {
    const at = (ms: number, gcMs?: number): CpuSnapshot => ({
      ...snapshot(ms, { busy: 0, idle: 0, steal: 0 }, [["100", 0]]),
      ...(gcMs === undefined ? {} : { mainThreadGcMs: gcMs }),
    });
    // 4 s of wall time, 120 ms of it in collections.
    expect(cpuUse(at(1_000, 30), at(5_000, 150), 1).mainThreadGcShare).toBeCloseTo(0.03, 9);
    expect(cpuUse(at(1_000), at(5_000, 150), 1).mainThreadGcShare).toBeUndefined();
    // A real one: garbage made on this thread shows as collection pauses.
    const a = cpuSnapshot();
    if (!a) return;
    let kept = 0;
    for (let i = 0; i < 200; i++) {
      const garbage = Array.from({ length: 20_000 }, (_, j) => ({ j, s: `x${j}` }));
      kept += garbage.length;
    }
    // The observer hears of collections a tick after them.
    await new Promise((r) => setTimeout(r, 50));
    const b = cpuSnapshot() as CpuSnapshot;
    expect(kept).toBe(4_000_000);
    expect((b.mainThreadGcMs ?? 0) - (a.mainThreadGcMs ?? 0)).toBeGreaterThan(0);
    expect(cpuUse(a, b, 1).mainThreadGcShare).toBeGreaterThan(0);
  });

  it("takes a real snapshot of this process: its main thread, and counters that only grow", () => {
    const a = cpuSnapshot();
    if (process.platform !== "linux") {
      expect(a).toBeUndefined();
      return;
    }
    expect(a?.threads.has(String(process.pid))).toBe(true);
    // Spins until this process has used 250 ms of CPU (not of wall time: a loaded machine
    // runs it for less of that), this thread nearly all of it.
    let x = 0;
    const start = process.cpuUsage();
    const cpuMs = () => {
      const d = process.cpuUsage(start);
      return (d.user + d.system) / 1000;
    };
    const giveUp = Date.now() + 30_000;
    while (cpuMs() < 250 && Date.now() < giveUp) {
      for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + 1);
    }
    const b = cpuSnapshot() as CpuSnapshot;
    const u = cpuUse(a as CpuSnapshot, b, 1);
    expect(x).toBeGreaterThan(0);
    expect(b.machine.busy).toBeGreaterThan((a as CpuSnapshot).machine.busy);
    // 250 ms of this process's CPU spent spinning here: at least 0.1 s of main-thread CPU
    // (ticks are 10 ms).
    expect(u.mainThreadMicrosPerObject).toBeGreaterThanOrEqual(100_000);
    // The kernel's schedstat of the same thread: it ran for most of what it spun (its figure
    // lags by up to a scheduler tick), and a share of the wall time is never above 1.
    if (a?.mainThreadSchedule) {
      expect((b.mainThreadSchedule?.runNs ?? 0) - a.mainThreadSchedule.runNs).toBeGreaterThan(
        100e6,
      );
      expect(u.mainThreadRunShare).toBeGreaterThan(0);
      expect(u.mainThreadRunShare).toBeLessThanOrEqual(1.05);
      expect(u.mainThreadWaitShare).toBeGreaterThanOrEqual(0);
    }
  });
});

describe("waiting for a quiet machine", () => {
  it("returns after one settle period when the load is under the limit", async () => {
    const q = await waitForQuietMachine({ maxCores: 1000, settleMs: 50, timeoutMs: 5000 });
    expect(q.waitedMs).toBeGreaterThanOrEqual(45);
    expect(q.waitedMs).toBeLessThan(5000);
    if (process.platform === "linux") expect(q.cores).toBeGreaterThanOrEqual(0);
  });

  it("gives up at the timeout when the machine never gets quiet enough", async () => {
    // No load is below -1 cores: only the timeout ends the wait.
    const q = await waitForQuietMachine({ maxCores: -1, settleMs: 40, timeoutMs: 150 });
    if (process.platform !== "linux") return;
    expect(q.waitedMs).toBeGreaterThanOrEqual(150);
    expect(q.waitedMs).toBeLessThan(2000);
  });
});

describe("CPU ratio of the export rounds", () => {
  it("divides the ceiling samples' lower CPU per copy by the export's CPU per object", () => {
    const round = throughputRound(50_000, 40, 1300, 1250, {
      export: use(1500),
      ceilingBefore: use(1450),
      ceilingAfter: use(1350),
    });
    expect(round.cpuRatio).toBeCloseTo(1350 / 1500, 6);
    // Without the ceilings' CPU there is no ratio.
    expect(throughputRound(50_000, 40, 1300, 1250, { export: use(1500) }).cpuRatio).toBe(undefined);
    expect(throughputRound(50_000, 40, 1300, 1250).cpu).toBe(undefined);
  });

  it("reports the median of the rounds' CPU ratios, and shows CPU per object in the table", () => {
    const rounds = [
      throughputRound(50_000, 40, 1300, 1250, {
        export: use(1500),
        ceilingBefore: use(1200),
        ceilingAfter: use(1300),
      }), // 0.8
      throughputRound(50_000, 40, 1300, 1250, {
        export: use(1000),
        ceilingBefore: use(950),
        ceilingAfter: use(990),
      }), // 0.95
      throughputRound(50_000, 40, 1300, 1250, {
        export: use(1000),
        ceilingBefore: use(900),
        ceilingAfter: use(990),
      }), // 0.9
    ];
    const { throughput } = summarizeThroughput(rounds);
    expect(throughput.medianCpuRatio).toBeCloseTo(0.9, 6);
    const r = benchResults({
      ceiling: {
        objectsPerSecond: 1400,
        threads: 2,
        concurrency: 32,
        copies: 10_000,
        cpu: use(1234),
      },
      exportThroughput: throughput,
    });
    const t = renderTables(r);
    expect(t).toMatch(
      /\| S3 ceiling sweep before the exports \(best: 2x32\) +\| +10,000 \| +\| +1,400 \| +\| +1,234 \|/,
    );
    expect(t).toMatch(
      /\| Export round 1 \(ratio to the ceilings around it\) +\| +50,000 \| 40\.0 \| +1,250 \| +0\.96 \| +1,500 \|/,
    );
    expect(t).toContain("median of the rounds: 0.90");
  });

  it("gives the medians of S3's thread waiting for a CPU, in the exports and in the ceiling samples", () => {
    const waiting = (microsPerObject: number, mainThreadWaitShare: number) => ({
      ...use(microsPerObject),
      mainThreadRunShare: 0.9,
      mainThreadWaitShare,
    });
    // Four ceiling samples between three rounds: the one after a round is the next one's
    // before (the same object, as the bench passes it), and counts once.
    const samples = [0.01, 0.06, 0.08, 0.02].map((w) => waiting(900, w));
    const rounds = [0.1, 0.12, 0.08].map((w, i) =>
      throughputRound(50_000, 40, 1300, 1250, {
        export: waiting(1000, w),
        ceilingBefore: samples[i] as ReturnType<typeof waiting>,
        ceilingAfter: samples[i + 1] as ReturnType<typeof waiting>,
      }),
    );
    const { throughput } = summarizeThroughput(rounds);
    // Exports 0.08, 0.10, 0.12; ceilings 0.01, 0.02, 0.06, 0.08 (counted twice, 0.06 and 0.08
    // would make it 0.06).
    expect(throughput.medianS3ThreadWaitShare?.export).toBeCloseTo(0.1, 9);
    expect(throughput.medianS3ThreadWaitShare?.ceilings).toBeCloseTo(0.04, 9);
    expect(renderTables(benchResults({ exportThroughput: throughput }))).toContain(
      "median of the rounds: 0.10 during the exports, 0.04 during the ceiling samples around them",
    );
    // Rounds measured without schedstat: no such line.
    const plain = summarizeThroughput([
      throughputRound(50_000, 40, 1300, 1250, { export: use(1000), ceilingBefore: use(900) }),
    ]).throughput;
    expect(plain.medianS3ThreadWaitShare).toBeUndefined();
  });

  it("compares the copy phase alone with the same ceilings and lists it by round", () => {
    // 50 000 objects, 40 s in all, 36 s from the first copy to the last: 1 389/s.
    const round = throughputRound(50_000, 40, 1300, 1450, undefined, 36);
    expect(round.copyPhaseSeconds).toBe(36);
    expect(round.copyPhaseRatio).toBeCloseTo(50_000 / 36 / 1450, 6);
    expect(round.ratio).toBeCloseTo(1250 / 1450, 6);
    expect(throughputRound(50_000, 40, 1300, 1450).copyPhaseRatio).toBe(undefined);
    const r = benchResults({
      exportThroughput: summarizeThroughput([
        round,
        throughputRound(50_000, 40, 1300, 1450, undefined, 38),
      ]).throughput,
    });
    expect(renderTables(r)).toContain("against the same ceilings, by round: 0.96, 0.91");
  });
});

describe("ceiling samples between export rounds", () => {
  const sweep = [
    { threads: 1, concurrency: 32, objectsPerSecond: 1769 },
    { threads: 2, concurrency: 32, objectsPerSecond: 1925 },
    { threads: 2, concurrency: 64, objectsPerSecond: 1965 },
    { threads: 3, concurrency: 32, objectsPerSecond: 1887 },
  ];

  it("runs the sweep's best and the export's own setting when they differ", () => {
    expect(bracketSettingsOf(sweep, [2, 32])).toEqual([
      [2, 64],
      [2, 32],
    ]);
  });

  it("adds the sweep's runner-up when the export's own setting is the best (two samples, never one)", () => {
    expect(bracketSettingsOf(sweep, [2, 64])).toEqual([
      [2, 64],
      [2, 32],
    ]);
    // A sweep of one setting has no runner-up.
    expect(
      bracketSettingsOf([{ threads: 2, concurrency: 64, objectsPerSecond: 1 }], [2, 64]),
    ).toEqual([[2, 64]]);
  });
});

describe("the export's copy shape held for a comparison (LAKEPORT_BENCH_COPY_SHAPE)", () => {
  it("reads <workers>x<in flight>, and nothing when unset", () => {
    expect(copyShapeOf("1x64")).toEqual({ workers: 1, inFlight: 64 });
    expect(copyShapeOf(" 2x32 ")).toEqual({ workers: 2, inFlight: 32 });
    expect(copyShapeOf(undefined)).toBeUndefined();
    expect(copyShapeOf("")).toBeUndefined();
  });

  it("refuses anything else, naming the variable", () => {
    for (const bad of ["64", "1x", "x64", "0x64", "1x0", "1*64", "1x64x2", "one"]) {
      expect(() => copyShapeOf(bad), bad).toThrow(/LAKEPORT_BENCH_COPY_SHAPE/);
    }
  });
});

describe("extra work per copy in the embedded S3 for a diagnostic run (LAKEPORT_BENCH_S3_COPY_WORK)", () => {
  it("reads spin:<thousands>, and nothing when unset", () => {
    expect(s3CopyWorkOf("spin:60")).toEqual({ spinThousands: 60 });
    expect(s3CopyWorkOf(" spin:999999 ")).toEqual({ spinThousands: 999_999 });
    expect(s3CopyWorkOf(undefined)).toBeUndefined();
    expect(s3CopyWorkOf("")).toBeUndefined();
  });

  it("refuses anything else, naming the variable", () => {
    for (const bad of [
      "60",
      "spin:",
      "spin:0",
      "spin:-5",
      "spin:1000000",
      "garbage:5",
      "spin:6x",
    ]) {
      expect(() => s3CopyWorkOf(bad), bad).toThrow(/LAKEPORT_BENCH_S3_COPY_WORK/);
    }
  });
});
