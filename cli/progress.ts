// One progress line for a long run (export, GC run, backup, restore), written to a stream the
// caller gives (stderr) with a clock the caller gives, so it renders the same in tests:
// - on a terminal the line is redrawn in place ("\r" + clear line) at every update, so it
//   never scrolls, and is cleared when the run ends;
// - elsewhere (logs, CI) a line is printed at the first update and then at most once per
//   interval (a minute), so a 6-hour export leaves about 360 lines, not 10 000.
// Rates and the ETA come from the samples of the last minute.

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** Terminal width: a redrawn line longer than this would wrap and scroll. */
  columns?: number;
}

export interface Amount {
  done: number;
  /** Unknown while it is still being planned or listed. */
  total?: number;
}

export interface ProgressSample {
  /** What the run is doing now: "planning", "copying", "RUNNING", ... */
  phase: string;
  objects?: Amount;
  bytes?: Amount;
  failed?: number;
  /** Anything else worth a word (e.g. "3/10 batches"). */
  detail?: string;
}

/** What a run did, for its last line. */
export interface FinalCounts {
  copied?: number;
  deleted?: number;
  failed?: number;
  bytes?: number;
  durationMs?: number;
}

export const CLEAR_LINE = "\r\x1b[2K";
const RATE_WINDOW_MS = 60_000;

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Rates under 10 keep one decimal: half an object a second is not "1 objects/s". */
export function formatRate(n: number): string {
  return n < 10 ? n.toFixed(1) : formatCount(n);
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${UNITS[u]}`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (x: number) => String(x).padStart(2, "0");
  if (h > 0) return `${h}h${two(m)}m`;
  if (m > 0) return `${m}m${two(sec)}s`;
  return `${sec}s`;
}

const amount = (a: Amount, fmt: (n: number) => string) =>
  a.total === undefined ? fmt(a.done) : `${fmt(Math.min(a.done, a.total))}/${fmt(a.total)}`;

export interface Rates {
  objectsPerSecond?: number;
  bytesPerSecond?: number;
  etaMs?: number;
}

/** The text of one progress line (without line ending or terminal codes). */
export function formatProgress(label: string, s: ProgressSample, rates: Rates = {}): string {
  const parts: string[] = [];
  if (s.objects) parts.push(`${amount(s.objects, formatCount)} objects`);
  if (s.bytes) parts.push(amount(s.bytes, formatBytes));
  if (rates.objectsPerSecond !== undefined)
    parts.push(`${formatRate(rates.objectsPerSecond)} objects/s`);
  if (rates.bytesPerSecond !== undefined) parts.push(`${formatBytes(rates.bytesPerSecond)}/s`);
  if (rates.etaMs !== undefined) parts.push(`ETA ${formatDuration(rates.etaMs)}`);
  if (s.failed) parts.push(`${formatCount(s.failed)} failed`);
  if (s.detail) parts.push(s.detail);
  return `${label}: ${s.phase}${parts.length ? ` ${parts.join(", ")}` : ""}`;
}

/** The last line of a run: what it did and how long it took. */
export function formatFinalCounts(c: FinalCounts): string {
  const parts: string[] = [];
  if (c.copied !== undefined)
    parts.push(
      `${formatCount(c.copied)} copied${c.bytes !== undefined ? ` (${formatBytes(c.bytes)})` : ""}`,
    );
  if (c.deleted !== undefined) parts.push(`${formatCount(c.deleted)} deleted`);
  if (c.failed !== undefined) parts.push(`${formatCount(c.failed)} failed`);
  const took = c.durationMs !== undefined ? ` in ${formatDuration(c.durationMs)}` : "";
  return `${parts.join(", ") || "done"}${took}`;
}

interface Point {
  at: number;
  objects?: number;
  bytes?: number;
}

/** Per second over the window, from its oldest to its newest point. */
function rateOf(points: Point[], pick: (p: Point) => number | undefined): number | undefined {
  const first = points.find((p) => pick(p) !== undefined);
  const last = points[points.length - 1];
  if (!first || !last || last.at - first.at < 1000) return undefined;
  const delta = (pick(last) ?? 0) - (pick(first) ?? 0);
  return delta > 0 ? (delta * 1000) / (last.at - first.at) : undefined;
}

function remainingMs(a: Amount | undefined, perSecond: number | undefined): number | undefined {
  if (!a || a.total === undefined || !perSecond) return undefined;
  return (Math.max(0, a.total - a.done) / perSecond) * 1000;
}

export class ProgressLine {
  private readonly points: Point[] = [];
  private lastPrintedAt: number | undefined;
  private phase: string | undefined;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly label: string,
    private readonly opts: { clock?: () => number; intervalMs?: number } = {},
  ) {}

  private now(): number {
    return (this.opts.clock ?? Date.now)();
  }

  /** The rates of the last minute, with the ETA from bytes when known, else from objects. */
  private rates(s: ProgressSample, at: number): Rates {
    // Another phase counts other things (planned tasks, then copies): its rate starts afresh.
    if (s.phase !== this.phase) this.points.length = 0;
    this.phase = s.phase;
    this.points.push({ at, objects: s.objects?.done, bytes: s.bytes?.done });
    while (this.points.length > 2 && at - this.points[0]!.at > RATE_WINDOW_MS) this.points.shift();
    const objectsPerSecond = rateOf(this.points, (p) => p.objects);
    const bytesPerSecond = rateOf(this.points, (p) => p.bytes);
    const etaMs = s.bytes?.total
      ? remainingMs(s.bytes, bytesPerSecond)
      : remainingMs(s.objects, objectsPerSecond);
    return {
      ...(objectsPerSecond !== undefined ? { objectsPerSecond } : {}),
      ...(bytesPerSecond !== undefined ? { bytesPerSecond } : {}),
      ...(etaMs !== undefined ? { etaMs } : {}),
    };
  }

  update(sample: ProgressSample): void {
    const at = this.now();
    const text = formatProgress(this.label, sample, this.rates(sample, at));
    if (this.stream.isTTY) {
      const width = this.stream.columns && this.stream.columns > 1 ? this.stream.columns - 1 : 0;
      const fitted = width && text.length > width ? `${text.slice(0, width - 1)}…` : text;
      this.stream.write(`${CLEAR_LINE}${fitted}`);
      this.drawn = true;
      return;
    }
    const interval = this.opts.intervalMs ?? 60_000;
    if (this.lastPrintedAt !== undefined && at - this.lastPrintedAt < interval) return;
    this.stream.write(`${text}\n`);
    this.lastPrintedAt = at;
  }

  /** The run ended: a redrawn line is cleared, so what follows starts on a clean line. */
  end(): void {
    if (this.drawn) this.stream.write(CLEAR_LINE);
    this.drawn = false;
  }
}
