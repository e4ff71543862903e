// Step 3, one distributed-map child: a batch of partitions. Per partition: protected keys
// (active + staged shards) first, then the expired shards streamed (mark.ts), and the marked
// keys streamed out as Parquet (addresses/mark_id=), text (addresses.text/mark_id=) and the
// expired-addresses log, part number = partition number. A partition whose shards are
// larger than one pass should hold is marked in several passes over the same shards.
// Memory: the pass's Set of keys (mark.ts) plus one Parquet row group per output.
import { markPartition } from "../domain/mark";
import { choosePassCount, MAX_ADDRESSES_PER_PARTITION } from "../domain/partition";
import { gcPaths } from "../domain/paths";
import { decodeAddressShard } from "../domain/shards";
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
    for (let pass = 0; pass < passes; pass++) {
      const tally: Record<string, number> = pass === 0 ? counts : {};
      const protectedKeys = streamKeys(deps, active, tally, "protected_keys");
      const expiredKeys = streamKeys(deps, expired, tally, "expired_keys");
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
