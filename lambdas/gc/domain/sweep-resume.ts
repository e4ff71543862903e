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
// offered again. Skipping only ever deletes less than offering again would.

/**
 * Every line of the list up to `throughLine` (1-based, counting every line read) in pass
 * `pass` of `passes`, and every line of the passes before it, was answered.
 */
export interface SweepResumePoint {
  passes: number;
  pass: number;
  throughLine: number;
}

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
  const { passes, pass, throughLine } = v as Record<string, unknown>;
  const whole = (n: unknown, min: number): n is number =>
    typeof n === "number" && Number.isSafeInteger(n) && n >= min;
  if (!whole(passes, 1) || !whole(pass, 0) || !whole(throughLine, 0) || pass >= passes) {
    return undefined;
  }
  return { passes, pass, throughLine };
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
 * Follows one sweep's delete requests, which end out of order, to the furthest line before
 * which every request was answered. Requests are numbered per pass in the order they were
 * made; each covers the lines after its predecessor's last up to its own last. A pass that
 * ends with a request not answered (keys that failed) holds the point there for the rest of
 * the sweep: later passes' lines do not count.
 */
export class AnsweredLines {
  #point: SweepResumePoint;
  /** The last line of each request issued in this pass and not yet counted in the point. */
  readonly #endLines = new Map<number, number>();
  readonly #answered = new Set<number>();
  #next = 0;
  #held = false;

  constructor(start: SweepResumePoint) {
    this.#point = { ...start };
  }

  get point(): SweepResumePoint {
    return { ...this.#point };
  }

  /** A new pass begins, the first `skippedLines` of its lines answered by an earlier sweep. */
  beginPass(pass: number, skippedLines: number): void {
    this.#endLines.clear();
    this.#answered.clear();
    this.#next = 0;
    if (this.#held || pass < this.#point.pass) return;
    if (pass > this.#point.pass) this.#point = { ...this.#point, pass, throughLine: 0 };
    if (Number.isFinite(skippedLines) && skippedLines > this.#point.throughLine) {
      this.#point.throughLine = skippedLines;
    }
  }

  /** Request `index` of the pass covers the lines up to `endLine`. */
  issued(index: number, endLine: number): void {
    this.#endLines.set(index, endLine);
  }

  /** Request `index` came back with every key deleted or withheld. */
  answered(index: number): void {
    this.#answered.add(index);
    while (this.#answered.has(this.#next) && this.#endLines.has(this.#next)) {
      const end = this.#endLines.get(this.#next)!;
      this.#answered.delete(this.#next);
      this.#endLines.delete(this.#next);
      if (!this.#held) this.#point.throughLine = Math.max(this.#point.throughLine, end);
      this.#next++;
    }
  }

  /** `pass` read all its `lines`: answered to the end if every request of it was. */
  passEnded(pass: number, lines: number): void {
    if (this.#held || pass !== this.#point.pass) return;
    if (this.#endLines.size > 0) {
      this.#held = true;
      return;
    }
    this.#point.throughLine = Math.max(this.#point.throughLine, lines);
  }
}
