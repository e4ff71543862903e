// Success markers (`_lakefs_success`): which directories get one, and in which order.
//
// Rules (semantics.md, "Continuous export", step 2):
// - the directories of a changed path (copied or deleted) are all its prefixes ending in '/':
//   "a/b/c.csv" -> "a/", "a/b/". The export root is the directory "" (no trailing slash);
// - a directory is selected when any regex (RE2 syntax, unanchored search, like Go's
//   regexp.MatchString) matches somewhere in it. The root is therefore selected only when a
//   regex matches the empty string (e.g. `^$`, `.*`): then `exportPath/_lakefs_success` marks
//   the whole export;
// - a selected directory with any failed operation anywhere below it gets no marker;
// - markers are written deepest first: every level of depth d (number of '/') before d-1, so
//   a parent's marker follows those of all selected directories below it.
//
// Two forms: `computeMarkers` for a whole (small) export in memory, and a streaming form for
// distributed maps: each copy batch builds a sorted summary of its selected directories
// (`ShardMarkerSummaryBuilder`), summaries are merged with a k-way merge
// (`mergeMarkerSummaries`, associative, so merges can be done as a tree), and
// `partitionMarkerLevels` writes the surviving directories grouped by depth, in bounded parts.
import { RE2JS } from "re2js";
import { joinKey } from "../../shared/s3-uri";
import { compareKeys } from "./keys";

export const SUCCESS_MARKER_NAME = "_lakefs_success";

export class InvalidPrefixRegexError extends Error {
  override readonly name = "InvalidPrefixRegexError";
  readonly field = "lastKeysInPrefixRegexp";
  constructor(
    readonly index: number,
    readonly regex: string,
    reason: string,
  ) {
    super(
      `lastKeysInPrefixRegexp[${index}]: invalid regular expression ${JSON.stringify(regex)}: ${reason}`,
    );
  }
}

export interface DirectorySelector {
  readonly regexes: readonly string[];
  /** `dir` ends with '/' (or is "" for the export root). */
  isSelected(dir: string): boolean;
  /** The selected directories of `path`, root ("") included when selected, shallowest first. */
  selectedDirectoriesOf(path: string): string[];
}

const SELECTION_CACHE_LIMIT = 10_000;

/** Compiles the regexes with RE2 semantics; a bad one is an InvalidPrefixRegexError naming it. */
export function compileDirectorySelector(regexes: readonly string[] = []): DirectorySelector {
  const compiled = regexes.map((regex, index) => {
    if (typeof regex !== "string") {
      throw new InvalidPrefixRegexError(index, String(regex), "expected a string");
    }
    try {
      return RE2JS.compile(regex);
    } catch (error) {
      throw new InvalidPrefixRegexError(index, regex, (error as Error).message);
    }
  });
  // Sorted paths share directories: a small cache saves most regex runs.
  const cache = new Map<string, boolean>();
  const isSelected = (dir: string): boolean => {
    if (compiled.length === 0) return false;
    const hit = cache.get(dir);
    if (hit !== undefined) return hit;
    const selected = compiled.some((re) => re.test(dir));
    if (cache.size >= SELECTION_CACHE_LIMIT) cache.clear();
    cache.set(dir, selected);
    return selected;
  };
  const rootSelected = isSelected("");
  return {
    regexes: [...regexes],
    isSelected,
    selectedDirectoriesOf(path) {
      if (compiled.length === 0) return [];
      const dirs = ancestorDirectories(path).filter(isSelected);
      return rootSelected ? ["", ...dirs] : dirs;
    },
  };
}

/** Every prefix of `path` ending in '/', shallowest first; the root "" is not included. */
export function ancestorDirectories(path: string): string[] {
  const dirs: string[] = [];
  for (let i = path.indexOf("/"); i !== -1; i = path.indexOf("/", i + 1)) {
    dirs.push(path.slice(0, i + 1));
  }
  return dirs;
}

/** Number of '/' in a directory: "" (root) is 0, "a/" is 1, "a/b/" is 2. */
export function directoryDepth(dir: string): number {
  let depth = 0;
  for (let i = dir.indexOf("/"); i !== -1; i = dir.indexOf("/", i + 1)) depth++;
  return depth;
}

/** Key of the marker of `dir` under the export prefix: `<prefix>/<dir>_lakefs_success`. */
export function markerKey(exportPrefix: string, dir: string): string {
  return joinKey(exportPrefix, dir + SUCCESS_MARKER_NAME);
}

/**
 * In-memory form: the marker directories of an export as depth levels, deepest first, each
 * level sorted. `changedPaths` are all copied and deleted paths; `failedPaths` those whose
 * operation failed (failed paths count as changed too).
 */
export function computeMarkers(
  changedPaths: Iterable<string>,
  failedPaths: Iterable<string>,
  selector: DirectorySelector,
): string[][] {
  const builder = new ShardMarkerSummaryBuilder(selector);
  for (const p of changedPaths) builder.add(p, false);
  for (const p of failedPaths) builder.add(p, true);
  return levelsOf(
    builder
      .entries()
      .filter((e) => !e.failed)
      .map((e) => e.dir),
  );
}

function levelsOf(dirs: Iterable<string>): string[][] {
  const byDepth = new Map<number, string[]>();
  for (const dir of dirs) {
    const d = directoryDepth(dir);
    const level = byDepth.get(d) ?? [];
    if (level.length === 0) byDepth.set(d, level);
    level.push(dir);
  }
  return [...byDepth.keys()].sort((a, b) => b - a).map((d) => byDepth.get(d)!.sort(compareKeys));
}

/** Marker keys in writing order (deepest level first). */
export function markerKeysInOrder(exportPrefix: string, levels: readonly string[][]): string[] {
  return levels.flatMap((level) => level.map((dir) => markerKey(exportPrefix, dir)));
}

// ---- streaming form -------------------------------------------------------------------------

/** One line of a marker summary: a selected directory, and whether an operation under it failed. */
export interface MarkerSummaryEntry {
  dir: string;
  failed: boolean;
}

/** Summary of one shard (bounded by the shard's size): sorted by `dir`, unique. */
export class ShardMarkerSummaryBuilder {
  private readonly dirs = new Map<string, boolean>();
  constructor(private readonly selector: DirectorySelector) {}

  /** Records the operation on `path`; `failed` when it did not succeed. */
  add(path: string, failed: boolean): void {
    for (const dir of this.selector.selectedDirectoriesOf(path)) {
      if (failed || !this.dirs.has(dir)) this.dirs.set(dir, failed || this.dirs.get(dir) === true);
    }
  }

  entries(): MarkerSummaryEntry[] {
    return [...this.dirs.entries()]
      .map(([dir, failed]) => ({ dir, failed }))
      .sort((a, b) => compareKeys(a.dir, b.dir));
  }
}

export function encodeMarkerSummaryLine(entry: MarkerSummaryEntry): string {
  return JSON.stringify({ dir: entry.dir, failed: entry.failed });
}

export class InvalidSummaryLineError extends Error {
  override readonly name = "InvalidSummaryLineError";
}

export function parseMarkerSummaryLine(line: string): MarkerSummaryEntry {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new InvalidSummaryLineError(`marker summary line is not JSON: ${line.slice(0, 200)}`);
  }
  const o = v as { dir?: unknown; failed?: unknown };
  if (typeof o?.dir !== "string" || typeof o.failed !== "boolean") {
    throw new InvalidSummaryLineError(
      `marker summary line needs dir (string) and failed (boolean): ${line.slice(0, 200)}`,
    );
  }
  return { dir: o.dir, failed: o.failed };
}

/**
 * k-way merge of sorted summaries into one sorted summary; a directory present in several is
 * failed if failed in any. Memory: one pending entry per source.
 */
export async function* mergeMarkerSummaries(
  sources: readonly AsyncIterable<MarkerSummaryEntry>[],
): AsyncGenerator<MarkerSummaryEntry> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const heap = new MinHeap<{ entry: MarkerSummaryEntry; source: number }>((a, b) =>
    compareKeys(a.entry.dir, b.entry.dir),
  );
  const advance = async (source: number) => {
    const r = await iterators[source]!.next();
    if (!r.done) heap.push({ entry: r.value, source });
  };
  await Promise.all(iterators.map((_, i) => advance(i)));
  let current: MarkerSummaryEntry | undefined;
  while (heap.size > 0) {
    const { entry, source } = heap.pop()!;
    if (current && current.dir === entry.dir) {
      current.failed ||= entry.failed;
    } else {
      if (current) {
        if (compareKeys(current.dir, entry.dir) > 0) {
          throw new InvalidSummaryLineError(
            `marker summary out of order: ${entry.dir} after ${current.dir}`,
          );
        }
        yield current;
      }
      current = { dir: entry.dir, failed: entry.failed };
    }
    await advance(source);
  }
  if (current) yield current;
}

export interface MarkerLevelSink {
  /** Writes part `partIndex` of depth `depth`: directories in order, at most maxDirsPerPart. */
  write(depth: number, partIndex: number, dirs: string[]): Promise<void>;
}

export interface MarkerLevelIndex {
  /** Deepest first: write every part of a level before the next level. */
  levels: { depth: number; parts: number; markers: number }[];
  markers: number;
  /** Selected directories left without a marker because something under them failed. */
  withheld: number;
}

/**
 * Splits a merged summary into depth levels of marker directories (failed ones dropped),
 * written in parts of at most `maxDirsPerPart`. Memory: one part buffer per depth.
 */
export async function partitionMarkerLevels(
  merged: AsyncIterable<MarkerSummaryEntry>,
  sink: MarkerLevelSink,
  opts: { maxDirsPerPart?: number } = {},
): Promise<MarkerLevelIndex> {
  const maxDirsPerPart = opts.maxDirsPerPart ?? 1000;
  const buffers = new Map<number, string[]>();
  const stats = new Map<number, { parts: number; markers: number }>();
  let withheld = 0;
  const flush = async (depth: number) => {
    const buffer = buffers.get(depth);
    if (!buffer || buffer.length === 0) return;
    const s = stats.get(depth) ?? { parts: 0, markers: 0 };
    await sink.write(depth, s.parts, buffer);
    stats.set(depth, { parts: s.parts + 1, markers: s.markers + buffer.length });
    buffers.set(depth, []);
  };
  for await (const entry of merged) {
    if (entry.failed) {
      withheld++;
      continue;
    }
    const depth = directoryDepth(entry.dir);
    const buffer = buffers.get(depth) ?? [];
    if (buffer.length === 0) buffers.set(depth, buffer);
    buffer.push(entry.dir);
    if (buffer.length >= maxDirsPerPart) await flush(depth);
  }
  for (const depth of buffers.keys()) await flush(depth);
  const levels = [...stats.entries()]
    .map(([depth, s]) => ({ depth, parts: s.parts, markers: s.markers }))
    .sort((a, b) => b.depth - a.depth);
  return { levels, markers: levels.reduce((n, l) => n + l.markers, 0), withheld };
}

/**
 * Directories that must not get a marker because a marker below them could not be written
 * (a failed marker write is a failed operation under every ancestor). Call with the failed
 * marker directories of deeper levels before writing a level.
 */
export function ancestorsOfFailedMarkers(failedMarkerDirs: Iterable<string>): Set<string> {
  const blocked = new Set<string>();
  for (const dir of failedMarkerDirs) {
    blocked.add("");
    for (const a of ancestorDirectories(dir)) if (a !== dir) blocked.add(a);
  }
  return blocked;
}

class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}
  get size() {
    return this.items.length;
  }
  push(item: T) {
    const a = this.items;
    a.push(item);
    for (let i = a.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (this.less(a[i]!, a[parent]!) >= 0) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
