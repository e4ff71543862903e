// Success markers (`_lakefs_success`): which directories get one, which lose theirs, and in
// which order.
//
// Rules (continuous export, step 2):
// - after an export, `exportPath/d_lakefs_success` exists exactly for the selected directories
//   d of the exported commit that hold at least one exported object;
// - the directories of a path are all its prefixes ending in '/': "a/b/c.csv" -> "a/",
//   "a/b/". The export root is the directory "" (no trailing slash);
// - a directory is selected when any regex (RE2 syntax, unanchored search, like Go's
//   regexp.MatchString) matches somewhere in it. The root is therefore selected only when a
//   regex matches the empty string (e.g. `^$`, `.*`): then `exportPath/_lakefs_success` marks
//   the whole export;
// - `_lakefs_actions/` is not exported, so no path under it counts and it never gets a marker;
// - only the directories an export touches (a copy, delete or keep under them) are considered:
//   one with a copied or kept object under it still has objects (its marker is written); one
//   with only deletes under it may have been emptied: the commit is asked whether anything is
//   left under it (a listing of one object) and its marker is written or deleted accordingly;
// - a selected directory with any failed operation anywhere below it is left as it is (no
//   marker written or deleted) in this export;
// - markers are written (or deleted) deepest first: every level of depth d (number of '/')
//   before d-1, so a parent's marker follows those of all selected directories below it.
//
// Two forms: `computeMarkers` for a whole (small) export in memory, and a streaming form for
// distributed maps: each copy batch builds a sorted summary of its selected directories
// (`ShardMarkerSummaryBuilder`), summaries are merged with a k-way merge
// (`mergeMarkerSummaries`, associative, so merges can be done as a tree), and
// `partitionMarkerLevels` writes the surviving directories grouped by depth, in bounded parts.
import { RE2JS } from "re2js";
import type { LakeFsApi } from "../../shared/lakefs/types";
import { joinKey } from "../../shared/s3-uri";
import { hasLoneSurrogate } from "../../shared/unicode";
import { AFTER_LAKEFS_ACTIONS, isExportedPath } from "./exported-paths";
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

/**
 * The most RE2 instructions a configuration's expressions may compile to together. A counted
 * repetition is that many copies (`\pL{1000}` is 1 000 instructions), so a few short
 * expressions can make programs that take seconds and hundreds of MiB to compile and try, and
 * every directory of every export runs them. Ordinary expressions take tens.
 */
export const MAX_SELECTOR_INSTRUCTIONS = 10_000;

/**
 * Compiles the regexes with RE2 semantics; a bad one is an InvalidPrefixRegexError naming it.
 * With `maxInstructions`, the one whose program passes that total (counted as each is
 * compiled, before any is tried) is one.
 */
export function compileDirectorySelector(
  regexes: readonly string[] = [],
  limits: { maxInstructions?: number } = {},
): DirectorySelector {
  let instructions = 0;
  const compiled = regexes.map((regex, index) => {
    if (typeof regex !== "string") {
      throw new InvalidPrefixRegexError(index, String(regex), "expected a string");
    }
    // lakeFS compiles with Go's regexp, which refuses invalid UTF-8; RE2JS would take a lone
    // surrogate and match nothing a key (always UTF-8) can hold.
    if (hasLoneSurrogate(regex)) {
      throw new InvalidPrefixRegexError(
        index,
        regex,
        "must be well-formed Unicode (a lone surrogate)",
      );
    }
    let re: RE2JS;
    try {
      re = RE2JS.compile(regex);
    } catch (error) {
      throw new InvalidPrefixRegexError(index, regex, (error as Error).message);
    }
    instructions += re.programSize();
    const max = limits.maxInstructions;
    if (max !== undefined && instructions > max) {
      throw new InvalidPrefixRegexError(
        index,
        regex,
        `too complex: the expressions compile to ${instructions} RE2 instructions up to this one, more than ${max} (x{1000} counts as 1000 copies of x)`,
      );
    }
    return re;
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

/**
 * The selected directory whose success marker `path` is (`x/_lakefs_success` -> "x/", the root
 * "" for `_lakefs_success`), or undefined. An object of the commit there cannot be exported: the
 * marker would overwrite it, and copied with the data it would signal before the data is in.
 */
export function markerDirectoryOf(path: string, selector: DirectorySelector): string | undefined {
  if (path !== SUCCESS_MARKER_NAME && !path.endsWith(`/${SUCCESS_MARKER_NAME}`)) return undefined;
  if (!isExportedPath(path)) return undefined;
  const dir = path.slice(0, -SUCCESS_MARKER_NAME.length);
  return selector.isSelected(dir) ? dir : undefined;
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

/** One operation of an export, as the markers see it. */
export interface MarkerOperation {
  path: string;
  /** The operation did not succeed. */
  failed: boolean;
  /** The path is an object of the exported commit (copied or kept), not a delete. */
  present: boolean;
}

/** Marker directories of an export, as depth levels, deepest first, each level sorted. */
export interface MarkerLevels {
  /** Directories known to hold an object of the commit: their marker is written. */
  write: string[][];
  /** Directories with only deletes under them: written or deleted after asking the commit. */
  check: string[][];
}

/** In-memory form of the summary, merge and partition below. */
export function computeMarkers(
  operations: Iterable<MarkerOperation>,
  selector: DirectorySelector,
): MarkerLevels {
  const builder = new ShardMarkerSummaryBuilder(selector);
  for (const op of operations) builder.add(op.path, op.failed, op.present);
  const entries = builder.entries().filter((e) => !e.failed);
  return {
    write: levelsOf(entries.filter((e) => e.present).map((e) => e.dir)),
    check: levelsOf(entries.filter((e) => !e.present).map((e) => e.dir)),
  };
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

/**
 * One line of a marker summary: a selected directory, whether an operation under it failed,
 * and whether an object of the commit is known to be under it.
 */
export interface MarkerSummaryEntry {
  dir: string;
  failed: boolean;
  present: boolean;
}

/** Summary of one shard (bounded by the shard's size): sorted by `dir`, unique. */
export class ShardMarkerSummaryBuilder {
  private readonly dirs = new Map<string, { failed: boolean; present: boolean }>();
  constructor(private readonly selector: DirectorySelector) {}

  /**
   * Records the operation on `path`: `failed` when it did not succeed, `present` when the path
   * is an object of the commit (a copy or keep, not a delete). Paths not exported are ignored.
   */
  add(path: string, failed: boolean, present: boolean): void {
    if (!isExportedPath(path)) return;
    for (const dir of this.selector.selectedDirectoriesOf(path)) {
      const e = this.dirs.get(dir);
      this.dirs.set(dir, {
        failed: failed || e?.failed === true,
        present: present || e?.present === true,
      });
    }
  }

  entries(): MarkerSummaryEntry[] {
    return [...this.dirs.entries()]
      .map(([dir, e]) => ({ dir, failed: e.failed, present: e.present }))
      .sort((a, b) => compareKeys(a.dir, b.dir));
  }
}

export function encodeMarkerSummaryLine(entry: MarkerSummaryEntry): string {
  return JSON.stringify({ dir: entry.dir, failed: entry.failed, present: entry.present });
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
  const o = v as { dir?: unknown; failed?: unknown; present?: unknown };
  if (
    typeof o?.dir !== "string" ||
    typeof o.failed !== "boolean" ||
    !(o.present === undefined || typeof o.present === "boolean")
  ) {
    throw new InvalidSummaryLineError(
      `marker summary line needs dir (string), failed and present (booleans): ${line.slice(0, 200)}`,
    );
  }
  // Lines written before `present` existed described copies only.
  return { dir: o.dir, failed: o.failed, present: o.present ?? true };
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
      current.present ||= entry.present;
    } else {
      if (current) {
        if (compareKeys(current.dir, entry.dir) > 0) {
          throw new InvalidSummaryLineError(
            `marker summary out of order: ${entry.dir} after ${current.dir}`,
          );
        }
        yield current;
      }
      current = { dir: entry.dir, failed: entry.failed, present: entry.present };
    }
    await advance(source);
  }
  if (current) yield current;
}

/** One part of a depth level: directories whose marker is written, and ones to check. */
export interface MarkerLevelPart {
  dirs: string[];
  check: string[];
}

export interface MarkerLevelSink {
  /** Writes part `partIndex` of depth `depth` (at most maxDirsPerPart directories in all). */
  write(depth: number, partIndex: number, part: MarkerLevelPart): Promise<void>;
}

export interface MarkerLevelIndex {
  /** Deepest first: write every part of a level before the next level. */
  levels: { depth: number; parts: number; markers: number; checks?: number }[];
  /** Markers to write. */
  markers: number;
  /** Directories to check (written or deleted depending on the commit). */
  checks?: number;
  /** Selected directories left as they are because something under them failed. */
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
  const buffers = new Map<number, MarkerLevelPart>();
  const stats = new Map<number, { parts: number; markers: number; checks: number }>();
  let withheld = 0;
  const flush = async (depth: number) => {
    const buffer = buffers.get(depth);
    if (!buffer || buffer.dirs.length + buffer.check.length === 0) return;
    const s = stats.get(depth) ?? { parts: 0, markers: 0, checks: 0 };
    await sink.write(depth, s.parts, buffer);
    stats.set(depth, {
      parts: s.parts + 1,
      markers: s.markers + buffer.dirs.length,
      checks: s.checks + buffer.check.length,
    });
    buffers.set(depth, { dirs: [], check: [] });
  };
  for await (const entry of merged) {
    if (entry.failed) {
      withheld++;
      continue;
    }
    const depth = directoryDepth(entry.dir);
    let buffer = buffers.get(depth);
    if (!buffer) {
      buffer = { dirs: [], check: [] };
      buffers.set(depth, buffer);
    }
    (entry.present ? buffer.dirs : buffer.check).push(entry.dir);
    if (buffer.dirs.length + buffer.check.length >= maxDirsPerPart) await flush(depth);
  }
  for (const depth of buffers.keys()) await flush(depth);
  const levels = [...stats.entries()]
    .map(([depth, s]) => ({ depth, parts: s.parts, markers: s.markers, checks: s.checks }))
    .sort((a, b) => b.depth - a.depth);
  return {
    levels,
    markers: levels.reduce((n, l) => n + l.markers, 0),
    checks: levels.reduce((n, l) => n + l.checks, 0),
    withheld,
  };
}

/**
 * Whether the commit still has an exported object under `dir` (one listing call of one
 * object; at the root a second one skips `_lakefs_actions/`).
 */
export async function hasExportedObjectUnder(
  lakefs: Pick<LakeFsApi, "listObjectsPage">,
  repository: string,
  commit: string,
  dir: string,
): Promise<boolean> {
  const prefix = dir === "" ? {} : { prefix: dir };
  const first = await lakefs.listObjectsPage(repository, commit, { ...prefix, amount: 1 });
  const path = first.results[0]?.path;
  if (path === undefined) return false;
  if (isExportedPath(path)) return true;
  const next = await lakefs.listObjectsPage(repository, commit, {
    ...prefix,
    after: AFTER_LAKEFS_ACTIONS,
    amount: 1,
  });
  return next.results.length > 0;
}

/**
 * Directories that must not get a marker, nor keep an earlier one, because a marker below them
 * could not be written (a failed marker write is a failed operation under every ancestor).
 * Call with the failed marker directories of deeper levels before writing a level.
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
