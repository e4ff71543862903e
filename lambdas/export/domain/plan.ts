// Export planning: from the lakeFS diff `from -> to` (or, the first time, the listing of
// `to`) to copy and delete tasks written as bounded JSON Lines shards through a port.
//
// Cost. Diff entries carry no physical address, so added and changed objects are resolved
// against `to` one diff page (at most 1 000 entries) at a time:
// - few entries (<= statThreshold): one statObject per entry;
// - many: listing windows. A listing page starts exactly at the next unresolved path
//   (`after` = a key just before it) and is merge-joined with the pending entries; while each
//   window resolves at least `minHitsPerListing` entries, listing goes on from the next
//   unresolved path (skipping the unchanged objects in between); when a window is sparse, the
//   rest of the page is resolved by statObject.
// Calls therefore grow with the number of changes (and the key range they cover when dense),
// never with the size of the branch: 10 changes in a 1 000 000-object branch cost 1 diff call
// and 10 stats.
//
// Memory: one diff page, one listing page and one shard buffer at a time.
//
// Resumable: `shouldContinue` is asked after each shard written; when it answers false the plan
// stops with a cursor (the last path written and the next shard index) to pass back later.
//
// `_lakefs_actions/` objects are ordinary committed objects, exported like any other (as
// lakeFS does): the export path mirrors the branch.
import type { Diff, LakeFsApi, ObjectStats } from "../../lakefs/types";
import { forEachConcurrently } from "../../shared/concurrency";
import { joinKey, parseS3ObjectUri } from "../../shared/s3-uri";
import { compareKeys, keyBefore } from "./keys";
import { type CopyTask, type DeleteTask, type ExportTask, encodeTask } from "./tasks";

export type PlannerLakeFs = Pick<
  LakeFsApi,
  "diffRefs" | "listObjects" | "listObjectsPage" | "statObject"
>;

/** Where shards go (the work bucket, in the Lambda). */
export interface ShardSink {
  write(shardIndex: number, lines: string[]): Promise<void>;
}

export interface ShardLimits {
  /** Default 1 000. */
  maxTasksPerShard?: number;
  /** Bytes of JSON per shard. Default 1 MiB. */
  maxShardBytes?: number;
  /** Source bytes copied per shard (one Lambda's work). Default 50 GiB. */
  maxCopyBytesPerShard?: number;
}

export interface ResolveOptions {
  /** A diff page with at most this many objects to resolve uses statObject. Default 16. */
  statThreshold?: number;
  /** A listing window resolving fewer than this switches the page to statObject. Default 8. */
  minHitsPerListing?: number;
  /** Default 1 000 (lakeFS's maximum). */
  pageSize?: number;
  /** statObject calls in flight. Default 8. */
  statConcurrency?: number;
}

export interface PlanCounts {
  copies: number;
  deletes: number;
  /** Sum of the sizes lakeFS reports for copied objects. */
  copyBytes: number;
  shards: number;
}

export interface PlanCursor {
  /** Every diff (or listing) entry up to and including this path is in a written shard. */
  afterPath: string;
  counts: PlanCounts;
}

export interface PlanRequest {
  repository: string;
  /** Last successfully exported commit; null the first time (everything is copied). */
  fromCommit: string | null;
  toCommit: string;
  /** Key prefix in the export bucket (the prefix of exportPath). */
  exportPrefix: string;
  /** Storage namespace of the repository: resolves relative physical addresses. */
  storageNamespace?: string;
  /** From a previous, interrupted call. */
  resume?: PlanCursor;
}

export interface PlanOptions {
  limits?: ShardLimits;
  resolve?: ResolveOptions;
  /** Asked after each shard written; false stops with a cursor. */
  shouldContinue?: () => boolean;
}

export interface PlanResult {
  done: boolean;
  /** Pass back as `resume` when not done. */
  cursor: PlanCursor;
  counts: PlanCounts;
}

export class PlanError extends Error {
  override readonly name = "PlanError";
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

const MAX_PREFIX_EXPANSION_DEPTH = 16;

export async function planExport(
  lakefs: PlannerLakeFs,
  sink: ShardSink,
  req: PlanRequest,
  opts: PlanOptions = {},
): Promise<PlanResult> {
  const writer = new ShardWriter(sink, opts.limits ?? {}, req.resume);
  const shouldContinue = opts.shouldContinue ?? (() => true);
  const after = req.resume?.afterPath || undefined;
  const tasks =
    req.fromCommit === null
      ? tasksFromListing(lakefs, req, after, opts.resolve ?? {})
      : tasksFromDiff(lakefs, req, req.fromCommit, after, opts.resolve ?? {});
  for await (const task of tasks) {
    await writer.add(task);
    if (writer.takeFlushed() && !shouldContinue()) {
      // Tasks still buffered are not written: they are planned again on resume.
      const counts = writer.counts();
      return { done: false, cursor: { afterPath: writer.lastWrittenPath, counts }, counts };
    }
  }
  await writer.flush();
  const counts = writer.counts();
  return { done: true, cursor: { afterPath: writer.lastWrittenPath, counts }, counts };
}

interface ShardBuffer {
  lines: string[];
  bytes: number;
  copyBytes: number;
  copies: number;
  deletes: number;
  lastPath: string;
}

const emptyBuffer = (): ShardBuffer => ({
  lines: [],
  bytes: 0,
  copyBytes: 0,
  copies: 0,
  deletes: 0,
  lastPath: "",
});

/** Buffers tasks and writes a shard when any limit is reached; counts only written tasks. */
class ShardWriter {
  private buffer = emptyBuffer();
  private readonly totals: PlanCounts;
  private flushed = false;
  lastWrittenPath: string;
  private readonly maxTasks: number;
  private readonly maxBytes: number;
  private readonly maxCopyBytes: number;

  constructor(
    private readonly sink: ShardSink,
    limits: ShardLimits,
    resumed?: PlanCursor,
  ) {
    this.totals = resumed
      ? { ...resumed.counts }
      : { copies: 0, deletes: 0, copyBytes: 0, shards: 0 };
    this.lastWrittenPath = resumed?.afterPath ?? "";
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
    else buf.deletes++;
    buf.lastPath = task.path;
    if (buf.lines.length >= this.maxTasks) await this.flush();
  }

  async flush(): Promise<void> {
    const b = this.buffer;
    if (b.lines.length === 0) return;
    await this.sink.write(this.totals.shards, b.lines);
    this.totals.shards++;
    this.totals.copies += b.copies;
    this.totals.deletes += b.deletes;
    this.totals.copyBytes += b.copyBytes;
    this.lastWrittenPath = b.lastPath;
    this.buffer = emptyBuffer();
    this.flushed = true;
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
}

// ---- first export: the listing of `to` -----------------------------------------------------

async function* tasksFromListing(
  lakefs: PlannerLakeFs,
  req: PlanRequest,
  after: string | undefined,
  resolve: ResolveOptions,
): AsyncGenerator<ExportTask> {
  yield* listingTasks(lakefs, req, { after, prefix: undefined }, resolve, 0);
}

async function* listingTasks(
  lakefs: PlannerLakeFs,
  req: PlanRequest,
  window: { after?: string; prefix?: string },
  resolve: ResolveOptions,
  depth: number,
): AsyncGenerator<ExportTask> {
  const pages = lakefs.listObjects(req.repository, req.toCommit, {
    ...(window.after ? { after: window.after } : {}),
    ...(window.prefix ? { prefix: window.prefix } : {}),
    amount: resolve.pageSize ?? 1000,
    userMetadata: true,
  });
  for await (const page of pages) {
    for (const stats of page.results) {
      if (stats.path_type === "common_prefix") {
        // Not expected without a delimiter; expanded in place, which keeps path order.
        checkDepth(depth, stats.path);
        yield* listingTasks(lakefs, req, { prefix: stats.path }, resolve, depth + 1);
      } else {
        yield copyTaskOf(stats, req);
      }
    }
  }
}

// ---- later exports: the diff from -> to ----------------------------------------------------

async function* tasksFromDiff(
  lakefs: PlannerLakeFs,
  req: PlanRequest,
  fromCommit: string,
  after: string | undefined,
  resolve: ResolveOptions,
): AsyncGenerator<ExportTask> {
  const pages = diffPages(lakefs, req, fromCommit, { after }, resolve, 0);
  for await (const entries of pages) {
    const needed = entries.filter((d) => d.type !== "removed").map((d) => d.path);
    const stats = await resolvePhysicalAddresses(lakefs, req, needed, resolve);
    for (const d of entries) {
      if (d.type === "removed") {
        yield deleteTaskOf(d.path, req);
      } else {
        const s = stats.get(d.path);
        if (!s) throw new PlanError(`lakeFS did not return ${d.path} in ${req.toCommit}`, d.path);
        yield copyTaskOf(s, req);
      }
    }
  }
}

/** Pages of object diff entries, with prefix entries expanded in place (path order kept). */
async function* diffPages(
  lakefs: PlannerLakeFs,
  req: PlanRequest,
  fromCommit: string,
  window: { after?: string; prefix?: string },
  resolve: ResolveOptions,
  depth: number,
): AsyncGenerator<Diff[]> {
  const pages = lakefs.diffRefs(req.repository, fromCommit, req.toCommit, {
    type: "two_dot",
    ...(window.after ? { after: window.after } : {}),
    ...(window.prefix ? { prefix: window.prefix } : {}),
    amount: resolve.pageSize ?? 1000,
  });
  for await (const page of pages) {
    let objects: Diff[] = [];
    for (const d of page.results) {
      if (d.path_type === "common_prefix" || d.type === "prefix_changed") {
        if (objects.length > 0) yield objects;
        objects = [];
        checkDepth(depth, d.path);
        yield* diffPages(lakefs, req, fromCommit, { prefix: d.path }, resolve, depth + 1);
      } else {
        objects.push(d);
      }
    }
    if (objects.length > 0) yield objects;
  }
}

function checkDepth(depth: number, path: string) {
  if (depth >= MAX_PREFIX_EXPANSION_DEPTH) {
    throw new PlanError(`lakeFS keeps answering common prefixes under ${path}`, path);
  }
}

/**
 * Stats of `paths` (sorted, as a diff page is) in `to`: statObject when few, listing windows
 * merge-joined with the paths when many (see the header).
 */
export async function resolvePhysicalAddresses(
  lakefs: PlannerLakeFs,
  req: Pick<PlanRequest, "repository" | "toCommit">,
  paths: readonly string[],
  resolve: ResolveOptions = {},
): Promise<Map<string, ObjectStats>> {
  const statThreshold = resolve.statThreshold ?? 16;
  const minHits = resolve.minHitsPerListing ?? 8;
  const pageSize = resolve.pageSize ?? 1000;
  const found = new Map<string, ObjectStats>();
  const toStat: string[] = [];
  let i = 0;
  if (paths.length > statThreshold) {
    while (i < paths.length) {
      const page = await lakefs.listObjectsPage(req.repository, req.toCommit, {
        after: keyBefore(paths[i]!),
        amount: pageSize,
        userMetadata: true,
      });
      let hits = 0;
      for (const obj of page.results) {
        if (obj.path_type !== "object") continue;
        // Pending paths sorting before the listed one are not where expected: stat them.
        while (i < paths.length && compareKeys(paths[i]!, obj.path) < 0) toStat.push(paths[i++]!);
        if (i >= paths.length) break;
        if (paths[i] === obj.path) {
          found.set(obj.path, obj);
          hits++;
          i++;
        }
      }
      if (!page.pagination.has_more || hits < minHits) break;
    }
  }
  toStat.push(...paths.slice(i));
  await forEachConcurrently(toStat, resolve.statConcurrency ?? 8, async (path) => {
    found.set(path, await lakefs.statObject(req.repository, req.toCommit, path));
  });
  return found;
}

function copyTaskOf(stats: ObjectStats, req: PlanRequest): CopyTask {
  const sourceAddress = absoluteAddress(stats, req.storageNamespace);
  const task: CopyTask = {
    op: "copy",
    path: stats.path,
    sourceAddress,
    destKey: joinKey(req.exportPrefix, stats.path),
    etag: stats.checksum,
  };
  if (stats.size_bytes !== undefined) task.size = stats.size_bytes;
  if (stats.content_type) task.contentType = stats.content_type;
  if (stats.metadata && Object.keys(stats.metadata).length > 0) task.metadata = stats.metadata;
  return task;
}

function deleteTaskOf(path: string, req: PlanRequest): DeleteTask {
  return { op: "delete", path, destKey: joinKey(req.exportPrefix, path) };
}

/** `s3://bucket/key`; a relative address (older lakeFS) is resolved in the storage namespace. */
function absoluteAddress(stats: ObjectStats, storageNamespace: string | undefined): string {
  let address = stats.physical_address;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) {
    if (!storageNamespace) {
      throw new PlanError(
        `physical_address of ${stats.path} is relative (${address}) and no storage namespace is known`,
        stats.path,
      );
    }
    address = joinKey(storageNamespace, address);
  }
  if (!address.startsWith("s3://")) {
    throw new PlanError(
      `physical_address of ${stats.path} is ${address}: only s3:// objects can be exported`,
      stats.path,
    );
  }
  parseS3ObjectUri(address, `physical_address of ${stats.path}`);
  return address;
}
