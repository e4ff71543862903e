// Request counts per lakeFS operation in shared memory: the development server counts in its
// own thread (the bench runs it there, apart from the embedded S3's) while the thread that
// started it reads and resets them synchronously, always current, with no message in between.
// Layout: one SharedArrayBuffer of Int32 counts (slot 0 the total, then one per operation) and
// one of operation names (NAME_BYTES each, their length published after their bytes).

const SLOTS = 256;
const NAME_BYTES = 96;

export interface SharedRequestCountsBuffers {
  counts: SharedArrayBuffer;
  names: SharedArrayBuffer;
}

export interface RequestCountsSnapshot {
  requests: number;
  byOperation: Record<string, number>;
}

export class SharedRequestCounts {
  private readonly counts: Int32Array;
  private readonly nameLengths: Int32Array;
  private readonly nameBytes: Uint8Array;
  /** The counting side's slots by operation (the reading side looks names up). */
  private readonly slotOf = new Map<string, number>();

  constructor(readonly buffers: SharedRequestCountsBuffers = SharedRequestCounts.allocate()) {
    this.counts = new Int32Array(buffers.counts);
    this.nameLengths = new Int32Array(buffers.names, 0, SLOTS);
    this.nameBytes = new Uint8Array(buffers.names, SLOTS * 4);
  }

  static allocate(): SharedRequestCountsBuffers {
    return {
      counts: new SharedArrayBuffer(SLOTS * 4),
      names: new SharedArrayBuffer(SLOTS * 4 + SLOTS * NAME_BYTES),
    };
  }

  /** Counts one request of `operation`. One thread counts; any thread reads. */
  count(operation: string): void {
    let slot = this.slotOf.get(operation);
    if (slot === undefined) {
      slot = this.slotOf.size + 1;
      if (slot >= SLOTS) throw new RangeError(`more than ${SLOTS - 1} lakeFS operations counted`);
      const bytes = Buffer.from(operation, "utf8").subarray(0, NAME_BYTES);
      this.nameBytes.set(bytes, slot * NAME_BYTES);
      // The name's bytes are in place before its length says so.
      Atomics.store(this.nameLengths, slot, bytes.length);
      this.slotOf.set(operation, slot);
    }
    Atomics.add(this.counts, slot, 1);
    Atomics.add(this.counts, 0, 1);
  }

  snapshot(): RequestCountsSnapshot {
    const byOperation: Record<string, number> = {};
    for (let slot = 1; slot < SLOTS; slot++) {
      const length = Atomics.load(this.nameLengths, slot);
      if (length === 0) break;
      const n = Atomics.load(this.counts, slot);
      if (n === 0) continue;
      const start = slot * NAME_BYTES;
      byOperation[Buffer.from(this.nameBytes.subarray(start, start + length)).toString("utf8")] = n;
    }
    return { requests: Atomics.load(this.counts, 0), byOperation };
  }

  reset(): void {
    for (let slot = 0; slot < SLOTS; slot++) Atomics.store(this.counts, slot, 0);
  }
}
