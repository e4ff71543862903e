// Export throughput against the S3 ceiling. The VM's speed drifts by up to a quarter within
// minutes, so one export against the best of many short ceiling samples compares a single draw
// with a maximum. The bench sweeps the ceiling's settings, then runs rounds: the ceiling at the
// best setting for as many copies as an export makes, an export, the ceiling again, and so on;
// then sweeps again. It reports the best export against the best ceiling of the whole run (every
// sample counts, the strictest reading) and each export against the two samples around it.
// Each round also compares CPU time per object (bench/cpu-usage.ts): the export's whole run
// (plan and status included) against the ceiling loop's copies, which the drift moves far less.
// The drift is the hardware's, so it moves CPU time per copy too; a speed probe
// (bench/speed-probe.ts) measures it, and each round is also compared with the ceilings around
// it scaled to the machine speed of the export's own minutes. That comparison decides whether
// a round beat its ceiling: a raw ratio above 1 in a minute the probe shows faster is the
// machine's drift, not a wrong ceiling.
import type { CpuUse } from "./cpu-usage";

export interface ThroughputRound {
  objects: number;
  seconds: number;
  objectsPerSecond: number;
  /** Best ceiling setting measured right before and right after this export (objects/s). */
  ceilingBefore: number;
  ceilingAfter: number;
  /** objectsPerSecond / max(ceilingBefore, ceilingAfter). */
  ratio: number;
  /** lakeFS's own commit, the first part of `seconds` (it answers before it sends webhooks). */
  commitSeconds?: number;
  /** Machine CPU of the export (commit to idle) and of the two ceiling samples. */
  cpu?: { export: CpuUse; ceilingBefore?: CpuUse; ceilingAfter?: CpuUse };
  /** CPU µs per object of each Lambda function's threads during the export (short names). */
  lambdaCpuMicrosPerObject?: Record<string, number>;
  /** The ceiling samples' lower CPU per copy / the export's CPU per object. */
  cpuRatio?: number;
  /** From the copy map's first copy to its last (the export without trigger, plan, status). */
  copyPhaseSeconds?: number;
  /** objects / copyPhaseSeconds / max(ceilingBefore, ceilingAfter). */
  copyPhaseRatio?: number;
  /** The speed probe's CPU nanoseconds per item during the export and the two samples. */
  probe?: ProbeSpeeds;
  /** Each ceiling sample × its probe reading / the export's: the ceiling at the export's speed. */
  speedAdjustedCeilingBefore?: number;
  speedAdjustedCeilingAfter?: number;
  /** objectsPerSecond / max of the speed-adjusted ceilings. */
  speedAdjustedRatio?: number;
}

export interface ProbeSpeeds {
  export: number;
  ceilingBefore: number;
  ceilingAfter: number;
}

export interface ExportThroughput {
  objects: number;
  seconds: number;
  /** The best round's. */
  objectsPerSecond: number;
  /** Best round / best ceiling measured in the run. */
  ratioToCeiling: number;
  /** Median of the rounds' own ratios (absent in results written before rounds existed). */
  medianRoundRatio?: number;
  /** Median of the rounds' CPU ratios (absent without /proc, or in older results). */
  medianCpuRatio?: number;
  /** Median of the rounds' speed-adjusted ratios (absent without the speed probe). */
  medianSpeedAdjustedRatio?: number;
  /**
   * Medians over the rounds of the share of the wall time the S3 server's thread was ready to
   * run but waited for a CPU, during the exports and during the ceiling samples around them
   * (absent without Linux's schedstat): the copies S3 could not serve while other threads of
   * this machine held both cores.
   */
  medianS3ThreadWaitShare?: { export: number; ceilings: number };
  rounds?: ThroughputRound[];
}

export function throughputRound(
  objects: number,
  seconds: number,
  ceilingBefore: number,
  ceilingAfter: number,
  cpu?: ThroughputRound["cpu"],
  copyPhaseSeconds?: number,
  probe?: ProbeSpeeds,
): ThroughputRound {
  const objectsPerSecond = objects / seconds;
  const probed =
    probe && [probe.export, probe.ceilingBefore, probe.ceilingAfter].every((v) => v > 0)
      ? probe
      : undefined;
  const ceilingCpu = [cpu?.ceilingBefore, cpu?.ceilingAfter].flatMap((c) =>
    c && c.microsPerObject > 0 ? [c.microsPerObject] : [],
  );
  return {
    objects,
    seconds,
    objectsPerSecond,
    ceilingBefore,
    ceilingAfter,
    ratio: objectsPerSecond / Math.max(ceilingBefore, ceilingAfter),
    ...(cpu ? { cpu } : {}),
    ...(cpu && ceilingCpu.length > 0 && cpu.export.microsPerObject > 0
      ? { cpuRatio: Math.min(...ceilingCpu) / cpu.export.microsPerObject }
      : {}),
    ...(copyPhaseSeconds && copyPhaseSeconds > 0
      ? {
          copyPhaseSeconds,
          copyPhaseRatio: objects / copyPhaseSeconds / Math.max(ceilingBefore, ceilingAfter),
        }
      : {}),
    ...(probed ? speedAdjusted(objectsPerSecond, ceilingBefore, ceilingAfter, probed) : {}),
  };
}

function speedAdjusted(
  objectsPerSecond: number,
  ceilingBefore: number,
  ceilingAfter: number,
  probe: ProbeSpeeds,
): Pick<
  ThroughputRound,
  "probe" | "speedAdjustedCeilingBefore" | "speedAdjustedCeilingAfter" | "speedAdjustedRatio"
> {
  // More nanoseconds per probe item: a slower machine. A sample taken when the machine was
  // slower than during the export is scaled up, one taken when it was faster is scaled down.
  const before = (ceilingBefore * probe.ceilingBefore) / probe.export;
  const after = (ceilingAfter * probe.ceilingAfter) / probe.export;
  return {
    probe,
    speedAdjustedCeilingBefore: before,
    speedAdjustedCeilingAfter: after,
    speedAdjustedRatio: objectsPerSecond / Math.max(before, after),
  };
}

/** [value], or [] for a figure a round lacks. */
const optional = (v: number | undefined): number[] => (v === undefined ? [] : [v]);

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The run's figure, and why it fails when an export beat a ceiling (the ceiling is wrong). */
export function summarizeThroughput(
  rounds: ThroughputRound[],
  /** Other ceilings measured in the run (the sweeps before and after the rounds). */
  otherCeilings: number[] = [],
): {
  throughput: ExportThroughput;
  failures: string[];
} {
  if (rounds.length === 0) throw new Error("summarizeThroughput: no rounds");
  const best = rounds.reduce((a, b) => (b.objectsPerSecond > a.objectsPerSecond ? b : a));
  const bestCeiling = Math.max(
    ...rounds.flatMap((r) => [r.ceilingBefore, r.ceilingAfter]),
    ...otherCeilings,
  );
  const cpuRatio = median(rounds.flatMap((r) => (r.cpuRatio === undefined ? [] : [r.cpuRatio])));
  const adjusted = median(
    rounds.flatMap((r) => (r.speedAdjustedRatio === undefined ? [] : [r.speedAdjustedRatio])),
  );
  const exportWait = median(rounds.flatMap((r) => optional(r.cpu?.export.mainThreadWaitShare)));
  // A sample after one round is the one before the next (the same object): counted once.
  const ceilingSamples = new Set(
    rounds.flatMap((r) => [r.cpu?.ceilingBefore, r.cpu?.ceilingAfter].filter((c) => c)),
  );
  const ceilingWait = median([...ceilingSamples].flatMap((c) => optional(c?.mainThreadWaitShare)));
  const throughput: ExportThroughput = {
    objects: best.objects,
    seconds: best.seconds,
    objectsPerSecond: best.objectsPerSecond,
    ratioToCeiling: best.objectsPerSecond / bestCeiling,
    medianRoundRatio: median(rounds.map((r) => r.ratio)) as number,
    ...(cpuRatio !== undefined ? { medianCpuRatio: cpuRatio } : {}),
    ...(adjusted !== undefined ? { medianSpeedAdjustedRatio: adjusted } : {}),
    ...(exportWait !== undefined && ceilingWait !== undefined
      ? { medianS3ThreadWaitShare: { export: exportWait, ceilings: ceilingWait } }
      : {}),
    rounds,
  };
  const failures: string[] = [];
  const rate = (n: number) => `${n.toFixed(0)}/s`;
  if (throughput.ratioToCeiling > 1) {
    failures.push(
      `the export (${rate(best.objectsPerSecond)}) beat every ceiling of the run (best ${rate(bestCeiling)}): the ceiling does not measure what S3 can do`,
    );
  }
  rounds.forEach((r, i) => {
    if (r.speedAdjustedRatio !== undefined) {
      if (r.speedAdjustedRatio > 1) {
        failures.push(
          `export round ${i + 1} (${rate(r.objectsPerSecond)}) beat the ceilings around it at the export's machine speed (${rate(r.speedAdjustedCeilingBefore as number)}, ${rate(r.speedAdjustedCeilingAfter as number)}; measured ${rate(r.ceilingBefore)}, ${rate(r.ceilingAfter)}): the ceiling does not measure what S3 can do`,
        );
      }
    } else if (r.ratio > 1) {
      failures.push(
        `export round ${i + 1} (${rate(r.objectsPerSecond)}) beat the ceilings around it (${rate(r.ceilingBefore)}, ${rate(r.ceilingAfter)}): the ceiling does not measure what S3 can do`,
      );
    }
  });
  return { throughput, failures };
}

type Setting = [threads: number, concurrency: number];

/**
 * The settings each ceiling sample between export rounds runs, the best of them counting: the
 * sweep's best, the export's own (local copy workers x copies in flight per worker) and, when
 * those are one setting, the sweep's runner-up. A sample is noisy (a tenth either way on this
 * kind of machine): with a single setting an export that matches S3 beats its ceiling half the
 * time, with the better of two the ceiling is the upper bound it is meant to be.
 */
export function bracketSettingsOf(
  sweep: { objectsPerSecond: number; threads?: number; concurrency: number }[],
  own: Setting,
): Setting[] {
  const ranked = [...sweep].sort((a, b) => b.objectsPerSecond - a.objectsPerSecond);
  const settings: Setting[] = [];
  const add = (s: Setting) => {
    if (!settings.some(([t, c]) => t === s[0] && c === s[1])) settings.push(s);
  };
  const first = ranked[0];
  if (first) add([first.threads ?? 1, first.concurrency]);
  add(own);
  for (const r of ranked.slice(1)) {
    if (settings.length >= 2) break;
    add([r.threads ?? 1, r.concurrency]);
  }
  return settings;
}

/**
 * `<workers>x<in flight>` (LAKEPORT_BENCH_COPY_SHAPE), or undefined when unset. Anything else
 * is refused: a comparison run silently falling back to the sweep's choice compares nothing.
 */
export function copyShapeOf(
  text: string | undefined,
): { workers: number; inFlight: number } | undefined {
  if (text === undefined || text === "") return undefined;
  const m = /^([1-9][0-9]?)x([1-9][0-9]{0,3})$/.exec(text.trim());
  if (!m) {
    throw new RangeError(
      `LAKEPORT_BENCH_COPY_SHAPE: expected <workers>x<copies in flight> such as 1x64, got ${JSON.stringify(text)}`,
    );
  }
  return { workers: Number(m[1]), inFlight: Number(m[2]) };
}

/**
 * `spin:<thousands>` (LAKEPORT_BENCH_S3_COPY_WORK): extra CPU work the embedded S3 does on its
 * own thread for every CopyObject, the ceiling's and the export's alike, or undefined when unset.
 * A diagnostic: with a dearer copy the clients' CPU weighs less beside S3's on two cores, as
 * on a machine with more cores for them. Anything else is refused.
 */
export function s3CopyWorkOf(text: string | undefined): { spinThousands: number } | undefined {
  if (text === undefined || text === "") return undefined;
  const m = /^spin:([1-9][0-9]{0,5})$/.exec(text.trim());
  if (!m) {
    throw new RangeError(
      `LAKEPORT_BENCH_S3_COPY_WORK: expected spin:<thousands of iterations> such as spin:60 (1 to 999999), got ${JSON.stringify(text)}`,
    );
  }
  return { spinThousands: Number(m[1]) };
}
