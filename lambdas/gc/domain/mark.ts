// Mark for one partition: expired minus active minus staged, each marked key once.
//
// Memory bound: one Set holding the partition's protected keys (active + staged) plus the
// keys marked so far; expired keys are streamed, never held as a list. A Set entry of a
// 50-character key measured ~80 bytes of V8 heap (Node 20); counting 150 for longer keys, a
// partition of MAX_ADDRESSES_PER_PARTITION (2M) distinct keys needs <= ~300 MB, so a
// 1 GB Lambda is plenty. Keys should be fresh strings (e.g. from JSON.parse), not slices
// of bigger strings, which would keep the bigger strings alive.
// Protected keys must all be added before the first expired key is offered. A partition
// bigger than planned is marked in several passes over its shards (MarkPass), each holding
// only its share of the keys: memory stays bounded even when the estimate was wrong.
import { passOf } from "./partition";

/** The set arithmetic of one partition, fed key by key. */
export class PartitionMark {
  readonly #seen = new Set<string>();
  #offering = false;
  #protectedCount = 0;
  #expiredOffered = 0;
  #marked = 0;

  /** A key referenced by an active commit or staged: never marked. */
  protect(key: string): void {
    if (this.#offering) {
      throw new Error("PartitionMark: every protected key must come before the expired ones");
    }
    this.#protectedCount++;
    this.#seen.add(key);
  }

  /** A key referenced by an expired commit; true when it is marked now (first time, unprotected). */
  offerExpired(key: string): boolean {
    this.#offering = true;
    this.#expiredOffered++;
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    this.#marked++;
    return true;
  }

  get counts(): { protectedKeys: number; expiredKeys: number; markedKeys: number } {
    return {
      protectedKeys: this.#protectedCount,
      expiredKeys: this.#expiredOffered,
      markedKeys: this.#marked,
    };
  }
}

type Keys = Iterable<string> | AsyncIterable<string>;

/** One pass of a multi-pass mark: only keys with passOf(key, passes) === pass. */
export interface MarkPass {
  pass: number;
  passes: number;
}

/**
 * Streams the marked keys of one partition: reads every protected key first, then yields
 * each expired key that is neither protected nor already yielded. With `only`, keys of
 * other passes are skipped, so memory is the pass's share of the partition.
 */
export async function* markPartition(
  protectedKeys: Keys,
  expiredKeys: Keys,
  only?: MarkPass,
): AsyncGenerator<string> {
  const inPass =
    only === undefined || only.passes === 1
      ? () => true
      : (key: string) => passOf(key, only.passes) === only.pass;
  const mark = new PartitionMark();
  for await (const key of protectedKeys) if (inPass(key)) mark.protect(key);
  for await (const key of expiredKeys) {
    if (inPass(key) && mark.offerExpired(key)) yield key;
  }
}
