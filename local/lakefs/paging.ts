// Paging of the development server's listings as lakeFS pages them: `after` is exclusive, a
// common prefix returned last on a page is continued past as a whole, `has_more` is exact.
import type { Bound, EntryValue, TreeDifference } from "./graveler";
import { keyLess, prefixEnd } from "./keys";
import type { SortedMap } from "./sorted-map";

export interface DiffEntry {
  type: "added" | "removed" | "changed" | "prefix_changed";
  path: string;
  pathType: "object" | "common_prefix";
  left?: EntryValue;
  right?: EntryValue;
}

export interface PageResult<T> {
  results: T[];
  hasMore: boolean;
}

/** Where a listing starts: after `after`, past a whole common prefix, or at `prefix`. */
export function startBound(
  prefix: string,
  after: string | undefined,
  delimiter: string,
): Bound | undefined {
  if (after !== undefined && after !== "" && !keyLess(after, prefix)) {
    // A common prefix returned as the last item of a page: continue past everything under it.
    if (delimiter && after.endsWith(delimiter) && after.length > prefix.length) {
      return { key: prefixEnd(after), inclusive: true };
    }
    return { key: after, inclusive: false };
  }
  return prefix ? { key: prefix, inclusive: true } : undefined;
}

export function pageDiff(
  differences: (from?: Bound) => Generator<TreeDifference>,
  prefix: string,
  after: string | undefined,
  delimiter: string,
  amount: number,
): PageResult<DiffEntry> {
  const results: DiffEntry[] = [];
  let bound = startBound(prefix, after, delimiter);
  for (;;) {
    let restart: Bound | undefined;
    for (const d of differences(bound)) {
      if (!d.key.startsWith(prefix)) return { results, hasMore: false };
      if (results.length === amount) return { results, hasMore: true };
      const cut = delimiter ? d.key.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) {
        const commonPrefix = d.key.slice(0, cut + delimiter.length);
        results.push({ type: "prefix_changed", path: commonPrefix, pathType: "common_prefix" });
        restart = { key: prefixEnd(commonPrefix), inclusive: true };
        break;
      }
      const type = !d.left ? "added" : !d.right ? "removed" : "changed";
      results.push({
        type,
        path: d.key,
        pathType: "object",
        ...(d.left ? { left: d.left } : {}),
        ...(d.right ? { right: d.right } : {}),
      });
    }
    if (!restart) return { results, hasMore: false };
    bound = restart;
  }
}

export function listSorted<V, T>(
  map: SortedMap<V>,
  after: string | undefined,
  prefix: string,
  amount: number,
  toItem: (key: string, value: V) => T,
  /** Entries the listing shows (others are skipped, not counted). */
  shows: (value: V) => boolean = () => true,
): PageResult<T> {
  const results: T[] = [];
  const it =
    after !== undefined && !keyLess(after, prefix)
      ? map.entriesAfter(after)
      : map.entriesFrom(prefix);
  for (const [key, value] of it) {
    if (!key.startsWith(prefix)) break;
    if (!shows(value)) continue;
    if (results.length === amount) return { results, hasMore: true };
    results.push(toItem(key, value));
  }
  return { results, hasMore: false };
}
