// Step 3, one distributed-map child: a batch of partitions. Per partition: protected keys
// (active + staged shards) first, then the expired shards streamed (mark.ts), and the marked
// keys streamed out as Parquet (addresses/mark_id=), text (addresses.text/mark_id=) and the
// expired-addresses log, part number = partition number. A partition whose shards are
// larger than one pass should hold is marked in several passes, each over its own share.
// Memory: the pass's Set of keys (mark.ts) plus one Parquet row group per output. Several
// passes read the partition's shards once, splitting them by pass (splitByPass): each pass then
// reads its own share, not every shard again.
import { randomUUID } from "node:crypto";
import { forEachConcurrently } from "../../shared/concurrency";
import { markPartition } from "../domain/mark";
import { choosePassCount, MAX_ADDRESSES_PER_PARTITION, passOf } from "../domain/partition";
import { gcPaths } from "../domain/paths";
import { decodeAddressShard, encodeAddressShard } from "../domain/shards";
import type { GcStepDeps, StoredObject } from "../ports";
import { type AddressListWriter, parquetAddressWriter, textAddressWriter } from "./address-lists";
import { gcWorkKeys, namespaceObjects, runDate } from "./common";

export interface MarkBatchContext {
  repository: string;
  runId: string;
  markId: string;
  storageNamespace: string;
  now: number;
}

export interface MarkStepEvent {
  Items: { partition: number }[];
  BatchInput: MarkBatchContext;
}

/** Shard bytes per key assumed when choosing passes (a JSON string line of a short key). */
const BYTES_PER_KEY_ESTIMATE = 40;

export async function runMarkStep(
  deps: GcStepDeps,
  event: MarkStepEvent,
  opts: { keysPerPass?: number } = {},
): Promise<{ partitions: number; marked: number }> {
  const ctx = event.BatchInput;
  if (!ctx) throw new Error("mark step: BatchInput (repository, runId, markId, ...) is missing");
  await deps.lease.renew(ctx.repository, ctx.runId);
  let marked = 0;
  for (const { partition } of event.Items ?? []) {
    if (!Number.isInteger(partition) || partition < 0) {
      throw new Error(`mark step: partition must be a whole number (got ${partition})`);
    }
    marked += await markOnePartition(deps, ctx, partition, opts.keysPerPass);
  }
  return { partitions: event.Items?.length ?? 0, marked };
}

async function markOnePartition(
  deps: GcStepDeps,
  ctx: MarkBatchContext,
  partition: number,
  keysPerPass = MAX_ADDRESSES_PER_PARTITION,
): Promise<number> {
  const work = gcWorkKeys(ctx.repository, ctx.runId);
  const active = await listAll(deps, work.addressShardPrefix(partition, "active"));
  const expired = await listAll(deps, work.addressShardPrefix(partition, "expired"));
  const bytes = [...active, ...expired].reduce((n, o) => n + o.size, 0);
  const passes = choosePassCount(Math.ceil(bytes / BYTES_PER_KEY_ESTIMATE), keysPerPass);

  const ns = namespaceObjects(ctx.storageNamespace);
  const outputs: AddressListWriter[] = [
    parquetAddressWriter(
      deps.s3.upload(ns.bucket, ns.key(gcPaths.addressesPart(ctx.markId, partition))),
    ),
    textAddressWriter(
      deps.s3.upload(
        ns.bucket,
        ns.key(gcPaths.addressesTextPart(ctx.markId, partition)),
        "text/plain; charset=utf-8",
      ),
    ),
    parquetAddressWriter(
      deps.s3.upload(ns.bucket, ns.key(gcPaths.expiredAddressesPart(runDate(ctx.now), partition))),
    ),
  ];
  const counts = { protected_keys: 0, expired_keys: 0, marked_addresses: 0, passes };
  let textEtag: string | undefined;
  const CHUNK = 10_000;
  try {
    // This attempt's own split (a retried attempt may still run): the work root expires.
    const split = `${work.root}mark-passes/${partition}/${randomUUID()}/`;
    const splitSide = (shards: StoredObject[], side: "active" | "expired") =>
      splitByPass(deps, shards, `${split}${side}/`, { passes, buffered: keysPerPass }, (n) => {
        const field = side === "active" ? "protected_keys" : "expired_keys";
        counts[field] += n;
      });
    const byPass =
      passes > 1
        ? {
            active: await splitSide(active, "active"),
            expired: await splitSide(expired, "expired"),
          }
        : undefined;
    for (let pass = 0; pass < passes; pass++) {
      // Counted once: by the split, or by the only pass.
      const tally: Record<string, number> = byPass ? {} : counts;
      const protectedKeys = streamKeys(
        deps,
        byPass?.active[pass] ?? active,
        tally,
        "protected_keys",
      );
      const expiredKeys = streamKeys(deps, byPass?.expired[pass] ?? expired, tally, "expired_keys");
      // Sorted within the pass (the Set already holds these keys: the array adds pointers).
      const marked: string[] = [];
      for await (const key of markPartition(protectedKeys, expiredKeys, { pass, passes })) {
        marked.push(key);
      }
      marked.sort();
      for (let i = 0; i < marked.length; i += CHUNK) {
        const chunk = marked.slice(i, i + CHUNK);
        for (const out of outputs) await out.add(chunk);
      }
    }
    const etags: (string | undefined)[] = [];
    for (const out of outputs) etags.push(await out.close());
    textEtag = etags[1];
  } catch (err) {
    for (const out of outputs) await out.abort().catch(() => undefined);
    throw err;
  }
  counts.marked_addresses = outputs[0]!.count;
  // With the text list's ETag: a sweep deletes only the list this mark wrote (revalidate.ts).
  await deps.s3.put(
    deps.workBucket,
    work.markCounts(partition),
    JSON.stringify({ ...counts, ...(textEtag ? { text_etag: textEtag } : {}) }),
  );
  return counts.marked_addresses;
}

/** Shards written at once by the split. */
const SPLIT_WRITES_IN_FLIGHT = 16;

/**
 * The keys of `shards` (one side of the partition) written again by pass under `prefix`, in
 * shards of the keys buffered (at most `buffered`, the memory of one pass) per pass: the pass's
 * shards, in order. Tells `counted` the lines read, as a single pass counts them.
 */
async function splitByPass(
  deps: GcStepDeps,
  shards: readonly StoredObject[],
  prefix: string,
  opts: { passes: number; buffered: number },
  counted: (lines: number) => void,
): Promise<StoredObject[][]> {
  const { passes } = opts;
  const out: StoredObject[][] = Array.from({ length: passes }, () => []);
  let buffers: string[][] = Array.from({ length: passes }, () => []);
  let held = 0;
  const flush = async () => {
    const full = buffers.map((keys, pass) => ({ keys, pass })).filter((b) => b.keys.length > 0);
    buffers = Array.from({ length: passes }, () => []);
    held = 0;
    const written = full.map(({ keys, pass }) => {
      const body = encodeAddressShard(keys);
      const key = `${prefix}${pass}/${String(out[pass]!.length).padStart(6, "0")}.jsonl`;
      out[pass]!.push({ key, size: Buffer.byteLength(body, "utf8") });
      return { key, body };
    });
    await forEachConcurrently(written, SPLIT_WRITES_IN_FLIGHT, async (w) => {
      await deps.s3.put(deps.workBucket, w.key, w.body);
    });
  };
  const lines: Record<string, number> = {};
  for await (const key of streamKeys(deps, shards, lines, "read")) {
    buffers[passOf(key, passes)]!.push(key);
    if (++held >= opts.buffered) await flush();
  }
  await flush();
  counted(lines.read ?? 0);
  return out;
}

async function listAll(deps: GcStepDeps, prefix: string): Promise<StoredObject[]> {
  const out: StoredObject[] = [];
  for await (const o of deps.s3.list(deps.workBucket, prefix)) out.push(o);
  return out;
}

/** Shards read ahead of the one being consumed: most partitions hold one small shard per commit. */
const READ_AHEAD_SHARDS = 8;
/** ...as long as the shards read ahead stay under this many bytes together. */
const READ_AHEAD_BYTES = 32 * 1024 * 1024;

/**
 * Keys of the shards in order, counting lines read. Up to READ_AHEAD_SHARDS shards (within
 * READ_AHEAD_BYTES) are fetched ahead: read one after another, 3 000 small shards of an
 * expired side cost a request latency each.
 */
async function* streamKeys(
  deps: GcStepDeps,
  shards: readonly StoredObject[],
  counts: Record<string, number>,
  field: string,
): AsyncGenerator<string> {
  const pending: { shard: StoredObject; text: Promise<string | undefined> }[] = [];
  let next = 0;
  let pendingBytes = 0;
  const fill = () => {
    while (
      next < shards.length &&
      (pending.length === 0 ||
        (pending.length < READ_AHEAD_SHARDS &&
          pendingBytes + shards[next]!.size <= READ_AHEAD_BYTES))
    ) {
      const shard = shards[next++]!;
      const text = deps.s3.getText(deps.workBucket, shard.key);
      // Awaited in order below; a rejection is seen there, not as an unhandled one.
      text.catch(() => undefined);
      pending.push({ shard, text });
      pendingBytes += shard.size;
    }
  };
  try {
    for (fill(); pending.length > 0; fill()) {
      const { shard, text: read } = pending.shift()!;
      const text = await read;
      pendingBytes -= shard.size;
      if (text === undefined) throw new Error(`mark step: shard ${shard.key} disappeared`);
      for (const key of decodeAddressShard(text)) {
        counts[field] = (counts[field] ?? 0) + 1;
        yield key;
      }
    }
  } finally {
    // Stopped early (an error downstream): let the reads in flight settle quietly.
    for (const p of pending) p.text.catch(() => undefined);
  }
}
