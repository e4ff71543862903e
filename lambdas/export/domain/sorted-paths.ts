// Merging sorted streams of paths (lakeFS order: code points, see keys.ts) into one sorted
// stream without repeats. Memory: one pending path per source.
import { compareKeys } from "./keys";

export class PathOrderError extends Error {
  override readonly name = "PathOrderError";
}

/** The union of sorted path streams, sorted, each path once; throws on an unsorted source. */
export async function* mergeSortedPaths(
  sources: readonly AsyncIterable<string>[],
): AsyncGenerator<string> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const heads = await Promise.all(iterators.map((it) => it.next()));
  let last: string | undefined;
  for (;;) {
    let min = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i]!;
      if (h.done) continue;
      if (min === -1 || compareKeys(h.value, (heads[min] as IteratorYieldResult<string>).value) < 0)
        min = i;
    }
    if (min === -1) return;
    const path = (heads[min] as IteratorYieldResult<string>).value;
    if (last !== undefined && compareKeys(path, last) < 0) {
      throw new PathOrderError(`paths out of order: ${path} after ${last}`);
    }
    if (path !== last) yield path;
    last = path;
    heads[min] = await iterators[min]!.next();
  }
}
