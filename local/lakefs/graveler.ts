// lakeFS's graveler model, small: a commit's tree is a *metarange*, a sorted list of
// immutable content-addressed *ranges* (sorted chunks of about RANGE_TARGET entries). A commit
// rewrites only the ranges its changes fall into, lookups and listings binary-search the
// metarange and then one range, and a diff skips ranges both sides share (equal ids mean
// equal entries), so its work grows with what changed rather than with the tree.
import { createHash } from "node:crypto";
import { compareKeys, keyLess } from "./keys";
import { lowerBound, upperBound } from "./sorted-map";

export const RANGE_TARGET = 1000;

/** What a path points at (short field names: ranges are stored as JSON). */
export interface EntryValue {
  /** physical address (full URI) */
  a: string;
  /** checksum (ETag) */
  c: string;
  /** size in bytes */
  s: number;
  /** mtime, Unix seconds */
  m: number;
  /** content type */
  t: string;
  /** user metadata */
  md?: Record<string, string>;
}

export interface Range {
  id: string;
  keys: string[];
  values: EntryValue[];
}

export interface RangeInfo {
  id: string;
  min: string;
  max: string;
  count: number;
}

export interface Metarange {
  id: string;
  ranges: RangeInfo[];
}

/** Where ranges and metaranges live; both are immutable once written. */
export interface RangeStore {
  getRange(id: string): Range;
  putRange(keys: string[], values: EntryValue[]): RangeInfo;
  getMetarange(id: string): Metarange;
  putMetarange(ranges: RangeInfo[]): Metarange;
}

export type Change = [key: string, value: EntryValue | null];

/**
 * lakeFS's entry identity (catalog.EntryToValue): size, ETag, user metadata and content type.
 * Not the physical address or the mtime: diffs, commits and merges treat two entries with the
 * same identity as the same, whatever object each points to.
 */
export function sameValue(x: EntryValue, y: EntryValue): boolean {
  return x.c === y.c && x.s === y.s && x.t === y.t && sameMetadata(x.md, y.md);
}

/** The same stored entry: identity, physical address and mtime. */
export function sameEntry(x: EntryValue, y: EntryValue): boolean {
  return x.a === y.a && x.m === y.m && sameValue(x, y);
}

function sameMetadata(
  x: Record<string, string> | undefined,
  y: Record<string, string> | undefined,
) {
  const a = Object.entries(x ?? {}).sort(([k1], [k2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : 0));
  const b = Object.entries(y ?? {}).sort(([k1], [k2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : 0));
  return a.length === b.length && a.every(([k, v], i) => b[i]![0] === k && b[i]![1] === v);
}

export function rangeId(keys: string[], values: EntryValue[]): string {
  const h = createHash("sha256");
  for (let i = 0; i < keys.length; i++) {
    h.update(keys[i]!);
    h.update("\0");
    h.update(JSON.stringify(values[i]));
    h.update("\n");
  }
  return h.digest("hex");
}

export function metarangeId(ranges: RangeInfo[]): string {
  const h = createHash("sha256");
  for (const r of ranges) h.update(`${r.id}\n`);
  return h.digest("hex");
}

/** Index of the first range whose max >= key (ranges.length when none). */
function rangeIndexFor(ranges: RangeInfo[], key: string): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keyLess(ranges[mid]!.max, key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function lookup(store: RangeStore, mr: Metarange, key: string): EntryValue | undefined {
  const ri = rangeIndexFor(mr.ranges, key);
  const info = mr.ranges[ri];
  if (!info || keyLess(key, info.min)) return undefined;
  const range = store.getRange(info.id);
  const i = lowerBound(range.keys, key);
  return range.keys[i] === key ? range.values[i] : undefined;
}

/** Where an iteration starts: after `key`, or at it when `inclusive`. */
export interface Bound {
  key: string;
  inclusive: boolean;
}

/** Entries from `from` on (all when undefined), loading ranges lazily. */
export function* entriesFrom(
  store: RangeStore,
  ranges: readonly RangeInfo[],
  from?: Bound,
): Generator<[string, EntryValue]> {
  let ri = from === undefined ? 0 : rangeIndexFor(ranges as RangeInfo[], from.key);
  for (let first = true; ri < ranges.length; ri++, first = false) {
    const range = store.getRange(ranges[ri]!.id);
    let i = 0;
    if (first && from !== undefined) {
      i = from.inclusive ? lowerBound(range.keys, from.key) : upperBound(range.keys, from.key);
    }
    for (; i < range.keys.length; i++) yield [range.keys[i]!, range.values[i]!];
  }
}

/** Writes sorted entries as ranges of RANGE_TARGET..2*RANGE_TARGET-1 entries. */
class RangeWriter {
  private keys: string[] = [];
  private values: EntryValue[] = [];
  readonly out: RangeInfo[] = [];
  constructor(private readonly store: RangeStore) {}

  add(key: string, value: EntryValue): void {
    this.keys.push(key);
    this.values.push(value);
    if (this.keys.length >= 2 * RANGE_TARGET) {
      this.out.push(
        this.store.putRange(this.keys.splice(0, RANGE_TARGET), this.values.splice(0, RANGE_TARGET)),
      );
    }
  }

  /** Flushes what is buffered (one range, possibly small). */
  flush(): void {
    if (this.keys.length > 0) this.out.push(this.store.putRange(this.keys, this.values));
    this.keys = [];
    this.values = [];
  }

  /** Keeps an untouched range as it is (after flushing the buffer before it). */
  reuse(info: RangeInfo): void {
    this.flush();
    this.out.push(info);
  }
}

/**
 * A new metarange: `base` with `changes` (sorted by key, null = delete) applied. Ranges no
 * change falls into are reused as they are; each touched range is rewritten.
 */
export function applyChanges(
  store: RangeStore,
  base: Metarange,
  changes: Iterable<Change>,
): Metarange {
  const it = changes[Symbol.iterator]();
  let next = it.next();
  const writer = new RangeWriter(store);
  const ranges = base.ranges;
  for (let ri = 0; ri < ranges.length; ri++) {
    // Range ri owns keys below the next range's min (the first also owns keys below its own).
    const upper = ranges[ri + 1]?.min;
    const owns = (key: string) => upper === undefined || keyLess(key, upper);
    if (next.done || !owns(next.value[0])) {
      writer.reuse(ranges[ri]!);
      continue;
    }
    const range = store.getRange(ranges[ri]!.id);
    let i = 0;
    while (!next.done && owns(next.value[0])) {
      const [key, value] = next.value;
      while (i < range.keys.length && keyLess(range.keys[i]!, key)) {
        writer.add(range.keys[i]!, range.values[i]!);
        i++;
      }
      if (range.keys[i] === key) i++;
      if (value) writer.add(key, value);
      next = it.next();
    }
    for (; i < range.keys.length; i++) writer.add(range.keys[i]!, range.values[i]!);
    writer.flush();
  }
  while (!next.done) {
    if (next.value[1]) writer.add(next.value[0], next.value[1]);
    next = it.next();
  }
  writer.flush();
  return store.putMetarange(writer.out);
}

export interface TreeDifference {
  key: string;
  left?: EntryValue;
  right?: EntryValue;
}

/**
 * Paths whose entries differ between two trees, in key order, starting at `from`. Ranges
 * present on both sides are skipped whole: a range id fixes its keys and values, and a key
 * lives in exactly one range of a tree.
 */
export function* diffTrees(
  store: RangeStore,
  left: Metarange,
  right: Metarange,
  from?: Bound,
  same: (x: EntryValue, y: EntryValue) => boolean = sameValue,
): Generator<TreeDifference> {
  if (left.id === right.id) return;
  const leftIds = new Set(left.ranges.map((r) => r.id));
  const rightIds = new Set(right.ranges.map((r) => r.id));
  const leftOnly = left.ranges.filter((r) => !rightIds.has(r.id));
  const rightOnly = right.ranges.filter((r) => !leftIds.has(r.id));
  const l = entriesFrom(store, leftOnly, from);
  const r = entriesFrom(store, rightOnly, from);
  let a = l.next();
  let b = r.next();
  while (!a.done || !b.done) {
    const x = a.done ? undefined : a.value;
    const y = b.done ? undefined : b.value;
    const order = !x ? 1 : !y ? -1 : compareKeys(x[0], y[0]);
    if (order < 0) {
      yield { key: x![0], left: x![1] };
      a = l.next();
    } else if (order > 0) {
      yield { key: y![0], right: y![1] };
      b = r.next();
    } else {
      if (!same(x![1], y![1])) {
        yield { key: x![0], left: x![1], right: y![1] };
      }
      a = l.next();
      b = r.next();
    }
  }
}

/**
 * lakeFS's three-way merge (committed/merge.go): what changed from `base` to `source` is
 * applied to `dest`. Entries are compared by identity; where source and destination hold the
 * same identity, the source's entry is written (its address may differ). A path `dest` changed
 * too, to another identity, is a conflict unless a strategy picks a side; undefined when there
 * are conflicts. A destination that has not moved since the base takes the source's tree.
 */
export function mergeTrees(
  store: RangeStore,
  base: Metarange,
  source: Metarange,
  dest: Metarange,
  strategy?: "dest-wins" | "source-wins",
): Metarange | undefined {
  if (dest.id === base.id) return source;
  const changes: Change[] = [];
  let conflicts = 0;
  const conflict = (key: string, sourceValue: EntryValue | undefined) => {
    if (strategy === "source-wins") changes.push([key, sourceValue ?? null]);
    else if (strategy !== "dest-wins") conflicts++;
  };
  // Every path whose stored entry the source changed, its address included.
  for (const d of diffTrees(store, base, source, undefined, sameEntry)) {
    const b = d.left;
    const s = d.right;
    const t = lookup(store, dest, d.key);
    if (s && t) {
      if (sameValue(s, t)) changes.push([d.key, s]);
      else if (b && sameValue(s, b))
        continue; // only the destination changed its identity
      else if (b && sameValue(t, b)) changes.push([d.key, s]);
      else conflict(d.key, s);
    } else if (s) {
      // Not in the destination: added by the source, or deleted by the destination.
      if (!b) changes.push([d.key, s]);
      else if (!sameValue(s, b)) conflict(d.key, s);
    } else if (t) {
      // Deleted by the source.
      if (b && sameValue(t, b)) changes.push([d.key, null]);
      else conflict(d.key, undefined);
    }
  }
  return conflicts > 0 ? undefined : applyChanges(store, dest, changes);
}
