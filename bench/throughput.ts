// Export throughput against the S3 ceiling. The VM's speed drifts by up to a quarter within
// minutes, so one export against the best of many short ceiling samples compares a single draw
// with a maximum. The bench sweeps the ceiling's settings, then runs rounds: the ceiling at the
// best setting for as many copies as an export makes, an export, the ceiling again, and so on;
// then sweeps again. It reports the best export against the best ceiling of the whole run (every
// sample counts, the strictest reading) and each export against the two samples around it.

export interface ThroughputRound {
  objects: number;
  seconds: number;
  objectsPerSecond: number;
  /** Best ceiling setting measured right before and right after this export (objects/s). */
  ceilingBefore: number;
  ceilingAfter: number;
  /** objectsPerSecond / max(ceilingBefore, ceilingAfter). */
  ratio: number;
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
  rounds?: ThroughputRound[];
}

export function throughputRound(
  objects: number,
  seconds: number,
  ceilingBefore: number,
  ceilingAfter: number,
): ThroughputRound {
  const objectsPerSecond = objects / seconds;
  return {
    objects,
    seconds,
    objectsPerSecond,
    ceilingBefore,
    ceilingAfter,
    ratio: objectsPerSecond / Math.max(ceilingBefore, ceilingAfter),
  };
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
  const ratios = rounds.map((r) => r.ratio).sort((a, b) => a - b);
  const mid = Math.floor(ratios.length / 2);
  const median =
    ratios.length % 2 === 1
      ? (ratios[mid] as number)
      : ((ratios[mid - 1] as number) + (ratios[mid] as number)) / 2;
  const throughput: ExportThroughput = {
    objects: best.objects,
    seconds: best.seconds,
    objectsPerSecond: best.objectsPerSecond,
    ratioToCeiling: best.objectsPerSecond / bestCeiling,
    medianRoundRatio: median,
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
    if (r.ratio > 1) {
      failures.push(
        `export round ${i + 1} (${rate(r.objectsPerSecond)}) beat the ceilings around it (${rate(r.ceilingBefore)}, ${rate(r.ceilingAfter)}): the ceiling does not measure what S3 can do`,
      );
    }
  });
  return { throughput, failures };
}
