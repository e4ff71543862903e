// The address step's output side: addresses in, shard bodies (JSON Lines of namespace keys,
// one file per partition) out, with a bounded number of keys buffered in between.
import type { AddressSide } from "./address-plan";
import { namespaceKeyer, partitionOf, protectedKeyer } from "./partition";
import { encodeAddressShard } from "./shards";

export interface ShardToWrite {
  partition: number;
  side: AddressSide;
  /** 0, 1, 2... per buffer: with the item's id it makes a unique shard name. */
  seq: number;
  keys: number;
  body: string;
}

export interface AddressShardBufferOptions {
  storageNamespace: string;
  partitions: number;
  side: AddressSide;
  /** Flush every partition once this many keys are buffered (memory bound of the step). */
  maxBufferedKeys?: number;
}

/**
 * Buffers one work item's addresses by partition. `add` returns the shards to write now
 * (when the buffer is full), `finish` the rest. Addresses outside the namespace are counted
 * and dropped.
 */
export class AddressShardBuffer {
  readonly #keyOf: (address: string) => string | undefined;
  readonly #buffers = new Map<number, string[]>();
  readonly #options: Required<AddressShardBufferOptions>;
  #buffered = 0;
  #seq = 0;
  readonly counts = { inside: 0, outside: 0 };

  constructor(options: AddressShardBufferOptions) {
    this.#options = { maxBufferedKeys: 200_000, ...options };
    // A kept address protects the key it resolves to (protectedKeyer); an expired one is
    // marked only as it is.
    this.#keyOf = (options.side === "active" ? protectedKeyer : namespaceKeyer)(
      options.storageNamespace,
    );
  }

  add(addresses: Iterable<string>): ShardToWrite[] {
    for (const address of addresses) {
      const key = this.#keyOf(address);
      if (key === undefined) {
        this.counts.outside++;
        continue;
      }
      this.counts.inside++;
      const p = partitionOf(key, this.#options.partitions);
      const buffer = this.#buffers.get(p);
      if (buffer) buffer.push(key);
      else this.#buffers.set(p, [key]);
      this.#buffered++;
    }
    return this.#buffered >= this.#options.maxBufferedKeys ? this.finish() : [];
  }

  /** Everything still buffered, as shards; the buffer is empty afterwards. */
  finish(): ShardToWrite[] {
    const out: ShardToWrite[] = [];
    for (const [partition, keys] of [...this.#buffers].sort((a, b) => a[0] - b[0])) {
      out.push({
        partition,
        side: this.#options.side,
        seq: this.#seq,
        keys: keys.length,
        body: encodeAddressShard(keys),
      });
    }
    if (out.length > 0) this.#seq++;
    this.#buffers.clear();
    this.#buffered = 0;
    return out;
  }
}
