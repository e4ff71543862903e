// A sorted string-keyed map in chunks (a flat B-tree of one level): get, set and delete are
// a binary search plus a splice inside one small chunk, and iteration can start at any key.
// Used for a branch's staging area, which may hold millions of entries.

import { keyLess } from "./keys";

const CHUNK = 512;

interface Chunk<V> {
  keys: string[];
  values: V[];
}

export class SortedMap<V> {
  private chunks: Chunk<V>[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    const chunk = this.chunks[this.chunkFor(key)];
    if (!chunk) return undefined;
    const i = lowerBound(chunk.keys, key);
    return chunk.keys[i] === key ? chunk.values[i] : undefined;
  }

  set(key: string, value: V): void {
    if (this.chunks.length === 0) {
      this.chunks.push({ keys: [key], values: [value] });
      this.count = 1;
      return;
    }
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci]!;
    const i = lowerBound(chunk.keys, key);
    if (chunk.keys[i] === key) {
      chunk.values[i] = value;
      return;
    }
    chunk.keys.splice(i, 0, key);
    chunk.values.splice(i, 0, value);
    this.count++;
    if (chunk.keys.length > CHUNK * 2) {
      const right: Chunk<V> = {
        keys: chunk.keys.splice(CHUNK),
        values: chunk.values.splice(CHUNK),
      };
      this.chunks.splice(ci + 1, 0, right);
    }
  }

  delete(key: string): boolean {
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci];
    if (!chunk) return false;
    const i = lowerBound(chunk.keys, key);
    if (chunk.keys[i] !== key) return false;
    chunk.keys.splice(i, 1);
    chunk.values.splice(i, 1);
    this.count--;
    if (chunk.keys.length === 0) this.chunks.splice(ci, 1);
    return true;
  }

  clear(): void {
    this.chunks = [];
    this.count = 0;
  }

  /** Entries in key order with key > `after` (or all when undefined). */
  *entriesAfter(after?: string): Generator<[string, V]> {
    let ci = after === undefined ? 0 : this.chunkFor(after);
    let i = 0;
    if (after !== undefined && this.chunks[ci]) {
      i = upperBound(this.chunks[ci]!.keys, after);
    }
    for (; ci < this.chunks.length; ci++, i = 0) {
      const chunk = this.chunks[ci]!;
      for (; i < chunk.keys.length; i++) yield [chunk.keys[i]!, chunk.values[i]!];
    }
  }

  /** Entries with key >= `from`. */
  *entriesFrom(from: string): Generator<[string, V]> {
    let ci = this.chunkFor(from);
    let i = this.chunks[ci] ? lowerBound(this.chunks[ci]!.keys, from) : 0;
    for (; ci < this.chunks.length; ci++, i = 0) {
      const chunk = this.chunks[ci]!;
      for (; i < chunk.keys.length; i++) yield [chunk.keys[i]!, chunk.values[i]!];
    }
  }

  /** Index of the first chunk whose last key is >= key (the last chunk when none). */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    if (hi < 0) return 0;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const keys = this.chunks[mid]!.keys;
      if (keyLess(keys[keys.length - 1]!, key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** First index with keys[i] >= key. */
export function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keyLess(keys[mid]!, key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index with keys[i] > key. */
export function upperBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (!keyLess(key, keys[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
