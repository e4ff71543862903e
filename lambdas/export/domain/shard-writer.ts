// The plan's shard writer: tasks buffered into bounded JSON Lines shards, each written through
// the ShardSink port while planning continues. With a MarkerRetractor, the markers of the
// selected directories above a shard's copies and deletes are retracted once the shard is
// written (marker-retraction.ts), all before settle() resolves.
import {
  MAX_RETRACTIONS_PER_CALL,
  MarkerRetractionTracker,
  type MarkerRetractor,
} from "./marker-retraction";
import type { PlanCounts, PlanCursor, ShardLimits, ShardSink } from "./plan";
import { type ExportTask, encodeTask } from "./tasks";

interface ShardBuffer {
  lines: string[];
  bytes: number;
  copyBytes: number;
  copies: number;
  deletes: number;
  keeps: number;
  lastPath: string;
  /** Selected directories whose markers go once this shard is written. */
  retract: string[];
}

const emptyBuffer = (): ShardBuffer => ({
  lines: [],
  bytes: 0,
  copyBytes: 0,
  copies: 0,
  deletes: 0,
  keeps: 0,
  lastPath: "",
  retract: [],
});

/** Shard writes in flight while the listing goes on (the listing waits when this many are). */
const SHARD_WRITES_IN_FLIGHT = 4;

/**
 * Buffers tasks and writes a shard when any limit is reached; counts only written tasks. Up to
 * SHARD_WRITES_IN_FLIGHT writes run while planning continues; the counts and the cursor take a
 * shard in only once it and every shard before it are written (settle() waits for all).
 */
export class ShardWriter {
  private buffer = emptyBuffer();
  private readonly totals: PlanCounts;
  private flushed = false;
  private readonly inFlight: { write: Promise<void>; shard: ShardBuffer }[] = [];
  private nextShard: number;
  private maxShardCopyBytes: number;
  lastWrittenPath: string;
  private readonly maxTasks: number;
  private readonly maxBytes: number;
  private readonly maxCopyBytes: number;
  private readonly tracker: MarkerRetractionTracker | undefined;
  /** Directories of written shards whose markers are not retracted yet. */
  private readonly toRetract: string[] = [];

  constructor(
    private readonly sink: ShardSink,
    limits: ShardLimits,
    resumed?: PlanCursor,
    private readonly markers?: MarkerRetractor,
  ) {
    this.tracker = markers ? new MarkerRetractionTracker(markers.selector) : undefined;
    this.totals = resumed
      ? { ...resumed.counts }
      : { copies: 0, deletes: 0, copyBytes: 0, shards: 0 };
    this.lastWrittenPath = resumed?.afterPath ?? "";
    this.nextShard = this.totals.shards;
    this.maxShardCopyBytes = resumed?.maxShardCopyBytes ?? 0;
    this.maxTasks = limits.maxTasksPerShard ?? 1000;
    this.maxBytes = limits.maxShardBytes ?? 1024 * 1024;
    this.maxCopyBytes = limits.maxCopyBytesPerShard ?? 50 * 1024 ** 3;
  }

  async add(task: ExportTask): Promise<void> {
    const line = encodeTask(task);
    const lineBytes = Buffer.byteLength(line) + 1;
    const size = task.op === "copy" ? (task.size ?? 0) : 0;
    const b = this.buffer;
    // Make room first when this task would overflow the shard's bytes.
    if (
      b.lines.length > 0 &&
      (b.bytes + lineBytes > this.maxBytes || b.copyBytes + size > this.maxCopyBytes)
    ) {
      await this.flush();
    }
    const buf = this.buffer;
    buf.lines.push(line);
    buf.bytes += lineBytes;
    buf.copyBytes += size;
    if (task.op === "copy") buf.copies++;
    else if (task.op === "delete") buf.deletes++;
    else buf.keeps++;
    buf.lastPath = task.path;
    if (this.tracker) buf.retract.push(...this.tracker.enter(task.path, task.op));
    if (buf.lines.length >= this.maxTasks) await this.flush();
  }

  /** Starts writing the buffered tasks as the next shard (waits while too many writes run). */
  async flush(): Promise<void> {
    const b = this.buffer;
    if (b.lines.length === 0) return;
    if (this.inFlight.length >= SHARD_WRITES_IN_FLIGHT) await this.settleOldest();
    const write = this.sink.write(this.nextShard++, b.lines);
    write.catch(() => undefined); // observed by settleOldest, in shard order
    this.inFlight.push({ write, shard: b });
    this.buffer = emptyBuffer();
    this.flushed = true;
  }

  /**
   * Waits for every write started, then retracts the markers above them; the counts then
   * include every shard started.
   */
  async settle(): Promise<void> {
    while (this.inFlight.length > 0) await this.settleOldest();
    await this.retractMarkers(1);
  }

  /** Retracts the written shards' markers, a request at a time, while at least `atLeast` wait. */
  private async retractMarkers(atLeast: number): Promise<void> {
    while (this.markers && this.toRetract.length >= atLeast && this.toRetract.length > 0) {
      const written = { afterPath: this.lastWrittenPath, counts: this.counts(), ...this.largest() };
      await this.markers.retract(this.toRetract.splice(0, MAX_RETRACTIONS_PER_CALL), written);
    }
  }

  /** After a failure: waits for the writes still running, ignoring their outcome. */
  async abandon(): Promise<void> {
    await Promise.allSettled(this.inFlight.splice(0).map((w) => w.write));
  }

  private async settleOldest(): Promise<void> {
    const oldest = this.inFlight[0];
    if (!oldest) return;
    await oldest.write;
    this.inFlight.shift();
    const b = oldest.shard;
    this.totals.shards++;
    this.totals.copies += b.copies;
    this.totals.deletes += b.deletes;
    this.totals.copyBytes += b.copyBytes;
    this.maxShardCopyBytes = Math.max(this.maxShardCopyBytes, b.copyBytes);
    if (b.keeps > 0) this.totals.keeps = (this.totals.keeps ?? 0) + b.keeps;
    this.lastWrittenPath = b.lastPath;
    this.toRetract.push(...b.retract);
    await this.retractMarkers(MAX_RETRACTIONS_PER_CALL);
  }

  /** Whether a shard was written since the last call. */
  takeFlushed(): boolean {
    const f = this.flushed;
    this.flushed = false;
    return f;
  }

  counts(): PlanCounts {
    return { ...this.totals };
  }

  /** The written shards' largest copy, for the cursor (nothing when no shard copies bytes). */
  largest(): { maxShardCopyBytes?: number } {
    return this.maxShardCopyBytes > 0 ? { maxShardCopyBytes: this.maxShardCopyBytes } : {};
  }
}
