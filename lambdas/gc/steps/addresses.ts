// Step 2, one distributed-map child: a batch of address work items (address-plan.ts). Each
// item is a full listing of a commit, a diff against a parent (paths introduced, then stat
// on the commit for the physical address), or a branch's uncommitted changes. Addresses
// inside the namespace go to partitioned shards through AddressShardBuffer. An item that
// does not finish within the time budget comes back with `after` set, and the state machine
// calls the step again with what is left.
import { createHash } from "node:crypto";
import { LakeFsNotFoundError } from "../../lakefs/errors";
import type { Diff, Page } from "../../lakefs/types";
import { mapConcurrently } from "../../shared/concurrency";
import { addressesOfListing, pathsIntroduced } from "../domain/item-addresses";
import { AddressShardBuffer, type ShardToWrite } from "../domain/shard-buffer";
import { type AddressWorkItemInput, AddressWorkItemSchema } from "../domain/shards";
import type { GcStepDeps } from "../ports";
import { gcWorkKeys } from "./common";

export interface AddressBatchContext {
  repository: string;
  runId: string;
  storageNamespace: string;
  partitions: number;
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
  const outOfTime = opts.outOfTime ?? (() => false);
  const counts = { inside: 0, outside: 0, pages: 0, items: 0 };
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
    work.addressesCounts(itemId(first)),
    JSON.stringify({
      addresses_collected: counts.inside,
      addresses_outside_namespace: counts.outside,
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
        work.addressShard(s.partition, s.side, `${id}-${String(s.seq).padStart(5, "0")}`),
        s.body,
      );
    }
  };
  const amount = opts.pageSize ?? 1000;
  const concurrency = opts.statConcurrency ?? 16;
  const repo = batch.repository;
  let after = item.after;
  let more = true;
  while (more) {
    let addresses: string[];
    let next: string;
    if (item.kind === "list") {
      const page = await deps.lakefs.listObjectsPage(repo, item.commit, {
        amount,
        ...(after ? { after } : {}),
      });
      addresses = addressesOfListing(page.results);
      ({ has_more: more, next_offset: next } = page.pagination);
    } else if (item.kind === "diff") {
      const page = await deps.lakefs.diffRefsPage(repo, item.parent, item.commit, {
        amount,
        type: "two_dot",
        ...(after ? { after } : {}),
      });
      addresses = await stat(deps, repo, item.commit, pathsIntroduced(page.results), concurrency);
      ({ has_more: more, next_offset: next } = page.pagination);
    } else {
      const page = await firstPage(
        deps.lakefs.diffBranch(repo, item.branch, { amount, ...(after ? { after } : {}) }),
      );
      // A staged entry committed or dropped meanwhile is simply no longer staged.
      addresses = await stat(deps, repo, item.branch, pathsIntroduced(page.results), concurrency, {
        skipMissing: true,
      });
      ({ has_more: more, next_offset: next } = page.pagination);
    }
    counts.pages = (counts.pages ?? 0) + 1;
    await write(buffer.add(addresses));
    after = next;
    if (more && outOfTime()) {
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

async function firstPage(pages: AsyncIterable<Page<Diff>>): Promise<Page<Diff>> {
  for await (const page of pages) return page;
  throw new Error("lakeFS listing returned no page");
}

async function stat(
  deps: GcStepDeps,
  repository: string,
  ref: string,
  paths: string[],
  concurrency: number,
  opts: { skipMissing?: boolean } = {},
): Promise<string[]> {
  const out: string[] = [];
  for await (const address of mapConcurrently(paths, concurrency, async (path) => {
    try {
      return (await deps.lakefs.statObject(repository, ref, path)).physical_address;
    } catch (err) {
      if (opts.skipMissing && err instanceof LakeFsNotFoundError) return undefined;
      throw err;
    }
  })) {
    if (address !== undefined) out.push(address);
  }
  return out;
}
