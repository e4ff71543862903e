// Reads the physical addresses of one address work item from lakeFS, a page at a time: a full
// listing of a commit, a diff against a base (paths introduced, then a stat on the commit for
// each address), a branch listed in full, or a branch's uncommitted changes. Shared by the address step (mark and
// revalidation maps) and the sweep's last-moment checks, so both read items the same way.

import { mapConcurrently } from "../../shared/concurrency";
import { LakeFsNotFoundError } from "../../shared/lakefs/errors";
import type { Diff, ObjectStats, Page } from "../../shared/lakefs/types";
import { addressesOfListing, pathsIntroduced } from "../domain/item-addresses";
import { tooYoungToMark } from "../domain/min-object-age";
import type { AddressWorkItemInput } from "../domain/shards";
import type { GcLakeFs } from "../ports";

export interface ItemPage {
  addresses: string[];
  /** Resume after this (lakeFS `after`) when `more`. */
  next: string;
  more: boolean;
  /** Expired entries left out as too young to mark (ItemReadOptions.minAge). */
  young: number;
}

export interface ItemReadOptions {
  pageSize?: number;
  statConcurrency?: number;
  /**
   * On the expired side, leave out entries created within `seconds` of `now` (Unix seconds):
   * lakeFS's GC keeps objects that young (min-object-age.ts).
   */
  minAge?: { now: number; seconds: number };
}

/** One page of `item` starting after `after`. */
export async function readItemPage(
  lakefs: GcLakeFs,
  repository: string,
  item: AddressWorkItemInput,
  after: string | undefined,
  opts: ItemReadOptions = {},
): Promise<ItemPage> {
  const amount = opts.pageSize ?? 1000;
  const concurrency = opts.statConcurrency ?? 16;
  const from = after ? { after } : {};
  const minAge = item.side === "expired" ? opts.minAge : undefined;
  const markable = (objects: readonly ObjectStats[]) =>
    minAge ? objects.filter((o) => !tooYoungToMark(o.mtime, minAge.now, minAge.seconds)) : objects;
  if (item.kind === "list") {
    const page = await lakefs.listObjectsPage(repository, item.commit, { amount, ...from });
    const objects = page.results.filter((o) => o.path_type === "object");
    const kept = markable(objects);
    return pageOf(addressesOfListing(kept), page, objects.length - kept.length);
  }
  if (item.kind === "diff") {
    const page = await lakefs.diffRefsPage(repository, item.parent, item.commit, {
      amount,
      type: "two_dot",
      ...from,
    });
    const paths = pathsIntroduced(page.results);
    const objects = await stat(lakefs, repository, item.commit, paths, concurrency);
    const kept = markable(objects);
    return pageOf(
      kept.map((o) => o.physical_address),
      page,
      objects.length - kept.length,
    );
  }
  if (!after) await assertReadableBranch(lakefs, repository, item.branch);
  if (item.whole) {
    // The branch as it reads now, uncommitted entries included.
    const page = await ifBranchExists(lakefs, repository, item.branch, () =>
      lakefs.listObjectsPage(repository, item.branch, { amount, ...from }),
    );
    return page ? pageOf(addressesOfListing(page.results), page) : NOTHING;
  }
  const page = await ifBranchExists(lakefs, repository, item.branch, () =>
    firstPage(lakefs.diffBranch(repository, item.branch, { amount, ...from })),
  );
  if (!page) return NOTHING;
  // A staged entry committed or dropped meanwhile is simply no longer staged.
  const paths = pathsIntroduced(page.results);
  const objects = await stat(lakefs, repository, item.branch, paths, concurrency, true);
  return pageOf(
    objects.map((o) => o.physical_address),
    page,
  );
}

/** Every page of `item`. */
export async function* readItem(
  lakefs: GcLakeFs,
  repository: string,
  item: AddressWorkItemInput,
  opts: ItemReadOptions = {},
): AsyncGenerator<string[]> {
  let after = item.after;
  for (;;) {
    const page = await readItemPage(lakefs, repository, item, after, opts);
    yield page.addresses;
    if (!page.more) return;
    after = page.next;
  }
}

const NOTHING: ItemPage = { addresses: [], next: "", more: false, young: 0 };

/** lakeFS reads a ref of this form as the commit with that id, before any branch of the name. */
const FULL_COMMIT_ID = /^[a-fA-F0-9]{64}$/;

/** A branch whose uncommitted entries cannot be read through lakeFS's API. */
export class UnreadableBranchError extends Error {
  override readonly name = "UnreadableBranchError";
}

/**
 * Refuses a branch named exactly as a commit of the repository: lakeFS accepts the name, but
 * a listing or stat by that ref reads the commit, not the branch (pkg/graveler/ref/
 * resolve_ref.go), so its uncommitted entries would go unseen and what they link be swept.
 * lakeFS's getCommit dereferences the name the same way: it answers the commit of that id
 * when there is one, else the branch's head (another id).
 */
async function assertReadableBranch(lakefs: GcLakeFs, repository: string, branch: string) {
  if (!FULL_COMMIT_ID.test(branch)) return;
  let resolved: string;
  try {
    resolved = (await lakefs.getCommit(repository, branch)).id;
  } catch (err) {
    if (err instanceof LakeFsNotFoundError) return;
    throw err;
  }
  if (resolved !== branch) return;
  throw new UnreadableBranchError(
    `branch "${branch}" is named as a commit of the repository: lakeFS reads that ref as the commit, so the branch's uncommitted entries cannot be read and GC does not run; rename the branch`,
  );
}

/**
 * `read()`, or undefined when it answers 404 because the branch was deleted meanwhile: its
 * uncommitted entries went with it, and its head was a starting point (a kept commit, read on
 * its own). A 404 for a branch that is still listed (or a repository that is gone) is thrown.
 */
async function ifBranchExists<T>(
  lakefs: GcLakeFs,
  repository: string,
  branch: string,
  read: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (!(err instanceof LakeFsNotFoundError)) throw err;
    for await (const page of lakefs.listBranches(repository, {
      prefix: branch,
      amount: 1000,
      showHidden: true,
    })) {
      if (page.results.some((b) => b.id === branch)) throw err;
    }
    return undefined;
  }
}

function pageOf(addresses: string[], page: Page<unknown>, young = 0): ItemPage {
  return { addresses, next: page.pagination.next_offset, more: page.pagination.has_more, young };
}

async function firstPage(pages: AsyncIterable<Page<Diff>>): Promise<Page<Diff>> {
  for await (const page of pages) return page;
  throw new Error("lakeFS listing returned no page");
}

async function stat(
  lakefs: GcLakeFs,
  repository: string,
  ref: string,
  paths: string[],
  concurrency: number,
  skipMissing = false,
): Promise<ObjectStats[]> {
  const out: ObjectStats[] = [];
  for await (const stats of mapConcurrently(paths, concurrency, async (path) => {
    try {
      return await lakefs.statObject(repository, ref, path);
    } catch (err) {
      if (skipMissing && err instanceof LakeFsNotFoundError) return undefined;
      throw err;
    }
  })) {
    if (stats !== undefined) out.push(stats);
  }
  return out;
}
