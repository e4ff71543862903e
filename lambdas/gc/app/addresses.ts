// Step 2, one distributed-map child: a batch of address work items (address-plan.ts). Each
// item is a full listing of a commit, a diff against a base (paths introduced, then stat on
// the commit for the physical address), or a branch's uncommitted changes (item-reader.ts).
// Addresses inside the namespace go to partitioned shards through AddressShardBuffer: the
// mark's collection (area "addresses") or, before a sweep, the addresses revalidation spares
// (area "revived"). An item that does not finish within the time budget comes back with
// `after` set, and the state machine calls the step again with what is left.
import { createHash } from "node:crypto";
import { DEFAULT_MIN_OBJECT_AGE_SECONDS } from "../domain/min-object-age";
import type { ShardArea } from "../domain/paths";
import { AddressShardBuffer, type ShardToWrite } from "../domain/shard-buffer";
import { type AddressWorkItemInput, AddressWorkItemSchema } from "../domain/shards";
import type { GcStepDeps } from "../ports";
import { gcWorkKeys } from "./common";
import { readItemPage } from "./item-reader";

export interface AddressBatchContext {
  repository: string;
  runId: string;
  storageNamespace: string;
  partitions: number;
  /** Where the shards go; default "addresses" (the mark). */
  area?: ShardArea;
}
export interface AddressStepEvent {
  /** First call: the ItemBatcher's shape. */
  Items?: unknown[];
  BatchInput?: AddressBatchContext;
  /** Follow-up calls: what the previous call left. */
  items?: unknown[];
  batch?: AddressBatchContext;
}

export interface AddressStepResult {
  items: AddressWorkItemInput[];
  batch: AddressBatchContext;
  done: boolean;
}

export interface AddressStepOptions {
  /** Stop starting new pages when this returns true (the Lambda's time is running out). */
  outOfTime?: () => boolean;
  pageSize?: number;
  statConcurrency?: number;
  maxBufferedKeys?: number;
  /** Expired entries younger than this are not marked (min-object-age.ts); default a day. */
  minObjectAgeSeconds?: number;
}

export async function runAddressStep(
  deps: GcStepDeps,
  event: AddressStepEvent,
  opts: AddressStepOptions = {},
): Promise<AddressStepResult> {
  const batch = event.batch ?? event.BatchInput;
  if (!batch) throw new Error("address step: BatchInput (repository, runId, ...) is missing");
  const items = (event.items ?? event.Items ?? []).map((raw, i) => {
    const parsed = AddressWorkItemSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`address step: item ${i}: ${parsed.error.message}`);
    return parsed.data;
  });
  await deps.lease.renew(batch.repository, batch.runId);
  const outOfTime = opts.outOfTime ?? (() => false);
  const counts = { inside: 0, outside: 0, pages: 0, items: 0, young: 0 };
  for (let i = 0; i < items.length; i++) {
    const rest = await collectItem(deps, batch, items[i]!, outOfTime, opts, counts);
    if (rest) {
      await writeCounts(deps, batch, items[i]!, counts);
      return { items: [rest, ...items.slice(i + 1)], batch, done: false };
    }
    counts.items++;
  }
  if (items.length > 0) await writeCounts(deps, batch, items[0]!, counts);
  return { items: [], batch, done: true };
}

async function writeCounts(
  deps: GcStepDeps,
  batch: AddressBatchContext,
  first: AddressWorkItemInput,
  counts: Record<string, number>,
) {
  const work = gcWorkKeys(batch.repository, batch.runId);
  await deps.s3.put(
    deps.workBucket,
    work.addressesCounts(itemId(first), batch.area),
    JSON.stringify({
      addresses_collected: counts.inside,
      addresses_outside_namespace: counts.outside,
      addresses_too_young: counts.young,
      lakefs_pages: counts.pages,
    }),
  );
}

/** Stable per item and starting point: a retried call overwrites its own shards. */
function itemId(item: AddressWorkItemInput): string {
  return createHash("sha256").update(JSON.stringify(item)).digest("hex").slice(0, 20);
}

/** Runs one item; returns the item to resume when time ran out, else undefined. */
async function collectItem(
  deps: GcStepDeps,
  batch: AddressBatchContext,
  item: AddressWorkItemInput,
  outOfTime: () => boolean,
  opts: AddressStepOptions,
  counts: Record<string, number>,
): Promise<AddressWorkItemInput | undefined> {
  const work = gcWorkKeys(batch.repository, batch.runId);
  const id = itemId(item);
  const buffer = new AddressShardBuffer({
    storageNamespace: batch.storageNamespace,
    partitions: batch.partitions,
    side: item.side,
    ...(opts.maxBufferedKeys ? { maxBufferedKeys: opts.maxBufferedKeys } : {}),
  });
  const write = async (shards: ShardToWrite[]) => {
    for (const s of shards) {
      await deps.s3.put(
        deps.workBucket,
        work.addressShard(
          s.partition,
          s.side,
          `${id}-${String(s.seq).padStart(5, "0")}`,
          batch.area,
        ),
        s.body,
      );
    }
  };
  let after = item.after;
  const minAge = {
    now: Math.floor(deps.now().getTime() / 1000),
    seconds: opts.minObjectAgeSeconds ?? DEFAULT_MIN_OBJECT_AGE_SECONDS,
  };
  for (;;) {
    const page = await readItemPage(deps.lakefs, batch.repository, item, after, {
      ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
      ...(opts.statConcurrency ? { statConcurrency: opts.statConcurrency } : {}),
      minAge,
    });
    counts.pages = (counts.pages ?? 0) + 1;
    counts.young = (counts.young ?? 0) + page.young;
    await write(buffer.add(page.addresses));
    if (!page.more) break;
    after = page.next;
    if (outOfTime()) {
      await write(buffer.finish());
      tally(buffer, counts);
      return { ...item, after };
    }
  }
  await write(buffer.finish());
  tally(buffer, counts);
  return undefined;
}

function tally(buffer: AddressShardBuffer, counts: Record<string, number>) {
  counts.inside = (counts.inside ?? 0) + buffer.counts.inside;
  counts.outside = (counts.outside ?? 0) + buffer.counts.outside;
}
