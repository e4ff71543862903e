// Where a sweep of a marked list may begin when an earlier sweep of the same list stopped
// (out of its function's time, or failed part way). A resumed sweep used to offer every key
// again at about the same speed, so a part that needed more than one function's time stopped
// again at about the same point, run after run. The stopped sweep now records how far the
// list was answered, and the next sweep of the same list (same key, same ETag) skips those
// lines.
//
// "Answered" is strict: every key of every delete request up to that line came back deleted
// (or already gone), or was withheld because a last-moment check found it referenced. A
// request with a failed key, or keys never sent, holds the point before it, so what failed is
// offered again. Requests end out of order (several in flight): those answered after the
// point are recorded as ranges of lines, skipped too. Skipping only ever deletes less than
// offering again would.

/**
 * Every line of the list up to `throughLine` (1-based, counting every line read) in pass
 * `pass` of `passes`, and every line of the passes before it, was answered.
 */
export interface SweepResumePoint {
  passes: number;
  pass: number;
  throughLine: number;
  /**
   * Lines of pass `pass` after `throughLine` answered too (requests that ended while one
   * before them had not): ascending, disjoint, 1-based, both ends included.
   */
  answeredAfter?: LineRange[];
}

/** Lines `[first, last]`, both included. */
export type LineRange = readonly [first: number, last: number];

/** The record's point, or undefined for another shape or a bad record. */
export function decodeSweepResumePoint(text: string | undefined): SweepResumePoint | undefined {
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const { passes, pass, throughLine, answeredAfter } = v as Record<string, unknown>;
  const whole = (n: unknown, min: number): n is number =>
    typeof n === "number" && Number.isSafeInteger(n) && n >= min;
  if (!whole(passes, 1) || !whole(pass, 0) || !whole(throughLine, 0) || pass >= passes) {
    return undefined;
  }
  if (answeredAfter === undefined) return { passes, pass, throughLine };
  if (!Array.isArray(answeredAfter)) return undefined;
  // Ascending and disjoint, each after the point: anything else is no record of this kind.
  let last = throughLine;
  const ranges: LineRange[] = [];
  for (const r of answeredAfter as unknown[]) {
    if (!Array.isArray(r) || r.length !== 2) return undefined;
    const [a, b] = r as unknown[];
    if (!whole(a, last + 1) || !whole(b, a)) return undefined;
    ranges.push([a, b]);
    last = b;
  }
  return normalized({ passes, pass, throughLine, answeredAfter: ranges });
}

/**
 * The same point with its ranges sorted and merged, those the point covers dropped, and the
 * point moved over a range that begins right after it (and so on).
 */
export function normalized(point: SweepResumePoint): SweepResumePoint {
  let throughLine = point.throughLine;
  const ranges = [...(point.answeredAfter ?? [])]
    .filter(([, b]) => b > throughLine)
    .sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const [a, b] of ranges) {
    const prev = merged.at(-1);
    if (prev && a <= prev[1] + 1) prev[1] = Math.max(prev[1], b);
    else merged.push([Math.max(a, throughLine + 1), b]);
  }
  while (merged.length > 0 && merged[0]![0] <= throughLine + 1) {
    throughLine = Math.max(throughLine, merged.shift()![1]);
  }
  const { passes, pass } = point;
  return merged.length > 0
    ? { passes, pass, throughLine, answeredAfter: merged }
    : { passes, pass, throughLine };
}

/**
 * How many lines of `pass` a sweep with `passes` passes skips: all of them in a pass before
 * the point's, its line in the point's pass, none after. None at all when the earlier sweep
 * split the list into another number of passes (its lines answered belong to other passes).
 */
export function linesAnsweredIn(
  point: SweepResumePoint | undefined,
  pass: number,
  passes: number,
): number {
  if (!point || point.passes !== passes) return 0;
  if (pass < point.pass) return Number.POSITIVE_INFINITY;
  return pass === point.pass ? point.throughLine : 0;
}

/**
 * The ranges of lines after the point that a sweep with `passes` passes also skips in `pass`:
 * only in the point's own pass, and only when the passes are the same.
 */
export function rangesAnsweredIn(
  point: SweepResumePoint | undefined,
  pass: number,
  passes: number,
): readonly LineRange[] {
  if (!point || point.passes !== passes || pass !== point.pass) return [];
  return point.answeredAfter ?? [];
}

/**
 * Whether a line is answered: through `through`, or in one of `ranges`. Lines are asked in
 * increasing order (the list is read once, front to back).
 */
export function answeredLineTest(
  through: number,
  ranges: readonly LineRange[],
): (line: number) => boolean {
  let i = 0;
  return (line) => {
    if (line <= through) return true;
    while (i < ranges.length && ranges[i]![1] < line) i++;
    return i < ranges.length && ranges[i]![0] <= line;
  };
}

/**
 * Follows one sweep's delete requests, which end out of order, to the furthest line before
 * which every request was answered. Requests are numbered per pass in the order they were
 * made; each covers the lines after its predecessor's last up to its own last. A pass that
 * ends with a request not answered (keys that failed) holds the point there for the rest of
 * the sweep: later passes' lines do not count.
 */
export class AnsweredLines {
  #point: { passes: number; pass: number; throughLine: number };
  /** Ranges of the point's pass answered after it: the earlier sweep's, and this one's once held. */
  #ranges: LineRange[];
  /** The lines of each request issued in this pass and not yet counted in the point. */
  readonly #requests = new Map<number, LineRange>();
  readonly #answered = new Set<number>();
  #next = 0;
  #lastIssuedLine = 0;
  #held = false;

  constructor(start: SweepResumePoint) {
    const { passes, pass, throughLine, answeredAfter } = start;
    this.#point = { passes, pass, throughLine };
    this.#ranges = [...(answeredAfter ?? [])];
  }

  get point(): SweepResumePoint {
    const own = this.#held ? [] : this.#answeredRequests();
    return normalized({ ...this.#point, answeredAfter: [...this.#ranges, ...own] });
  }

  /** A new pass begins, the first `skippedLines` of its lines answered by an earlier sweep. */
  beginPass(pass: number, skippedLines: number): void {
    this.#requests.clear();
    this.#answered.clear();
    this.#next = 0;
    this.#lastIssuedLine = 0;
    if (this.#held || pass < this.#point.pass) return;
    if (pass > this.#point.pass) {
      this.#point = { ...this.#point, pass, throughLine: 0 };
      this.#ranges = [];
    }
    if (Number.isFinite(skippedLines) && skippedLines > this.#point.throughLine) {
      this.#point.throughLine = skippedLines;
    }
  }

  /** Request `index` of the pass covers the lines after the previous one's up to `endLine`. */
  issued(index: number, endLine: number): void {
    this.#requests.set(index, [this.#lastIssuedLine + 1, endLine]);
    this.#lastIssuedLine = endLine;
  }

  /** Request `index` came back with every key deleted or withheld. */
  answered(index: number): void {
    this.#answered.add(index);
    while (this.#answered.has(this.#next) && this.#requests.has(this.#next)) {
      const [, end] = this.#requests.get(this.#next)!;
      this.#answered.delete(this.#next);
      this.#requests.delete(this.#next);
      if (!this.#held) this.#point.throughLine = Math.max(this.#point.throughLine, end);
      this.#next++;
    }
  }

  /** `pass` read all its `lines`: answered to the end if every request of it was. */
  passEnded(pass: number, lines: number): void {
    if (this.#held || pass !== this.#point.pass) return;
    if (this.#requests.size > 0) {
      // Later passes do not count; the requests of this one answered after the point do.
      this.#ranges.push(...this.#answeredRequests());
      this.#held = true;
      return;
    }
    this.#point.throughLine = Math.max(this.#point.throughLine, lines);
    this.#ranges = [];
  }

  /** The lines of this pass's requests answered while one before them was not. */
  #answeredRequests(): LineRange[] {
    return [...this.#answered]
      .map((i) => this.#requests.get(i))
      .filter((r): r is LineRange => r !== undefined);
  }
}
