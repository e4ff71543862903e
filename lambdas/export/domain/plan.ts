// Export planning: copy, delete and keep tasks written as bounded JSON Lines shards through a
// port, in path order. Three modes (ExportMode):
// - incremental: the lakeFS diff `from -> to`, merged with the paths earlier failed exports
//   touched (read back from their task shards): a diff entry is copied or deleted as it says;
//   a touched path is copied when `to` has it (its bytes and metadata), deleted when not. The
//   cost grows with the changes and with what the failed exports did, not with the branch.
//   When `from` exports nothing (the diff's first page is all additions, and a listing of
//   `from` confirms it), the listing of `to` stands for the diff (see listingTasks);
// - full-copy: every object of `to` is copied, and every other key under the export prefix
//   (a listing of the export path merge-joined with the listing of `to`) is deleted;
// - full-compare: the same merge-join, but an object already exported with the same ETag and
//   size is kept (a keep task: no operation, it counts for markers) instead of copied.
// `_lakefs_actions/` is never exported (exported-paths.ts): not listed, not diffed, and a key
// under it in the export path is extra.
//
// Cost of resolving physical addresses. Diff entries carry none, so added and changed objects
// (and touched paths) are resolved against `to` one batch (at most 1 000 paths) at a time:
// - few paths (<= statThreshold): one statObject per path (404: not in `to`);
// - many: listing windows. A listing page starts exactly at the next unresolved path
//   (`after` = a key just before it) and is merge-joined with the pending paths; a listing is
//   complete in the range it covers, so a pending path it passes over is not in `to`. While
//   each window resolves at least `minHitsPerListing` paths, listing goes on from the next
//   unresolved path; when a window is sparse, the rest of the batch is resolved by statObject.
// Calls therefore grow with the number of changes (and the key range they cover when dense),
// never with the size of the branch: 10 changes in a 1 000 000-object branch cost 1 diff call
// and 10 stats.
//
// Memory: one diff page, one batch, one listing page of the export path, two of the commit
// (the next one is fetched while the last is planned) and up to five shard buffers (four of
// them being written).
//
// Resumable: `shouldContinue` is asked after each shard written; when it answers false the plan
// stops with a cursor (the last path written and the next shard index) to pass back later.

import { peekable, readAhead } from "../../shared/concurrency";
import type { Diff, ObjectStats, Page } from "../../shared/lakefs/types";
import { joinKey, parseS3ObjectUri } from "../../shared/s3-uri";
import { type ExportMode, exportModeOf } from "./export-state";
import { AFTER_LAKEFS_ACTIONS, isExportedPath } from "./exported-paths";
import { compareKeys } from "./keys";
import type { MarkerRetractor } from "./marker-retraction";
import {
  type PlannerLakeFs,
  type ResolveOptions,
  resolvePhysicalAddresses,
} from "./resolve-addresses";
import { ShardWriter } from "./shard-writer";
import type { CopyTask, DeleteTask, ExportTask, KeepTask } from "./tasks";

export type { PlannerLakeFs, ResolveOptions };

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

export interface PlanCounts {
  copies: number;
  deletes: number;
  /** Keep tasks (full-compare: objects already exported as they are in `to`). */
  keeps?: number;
  /** Sum of the sizes lakeFS reports for copied objects. */
  copyBytes: number;
  shards: number;
}

export interface PlanCursor {
  /** Every diff (or listing) entry up to and including this path is in a written shard. */
  afterPath: string;
  counts: PlanCounts;
  /** The most source bytes one written shard copies (absent: none, or sizes unknown). */
  maxShardCopyBytes?: number;
  /** An earlier call found that `from` exports nothing (PlanResult.fromExportsNothing). */
  fromExportsNothing?: true;
}

/** An object under the export prefix; `path` is its key relative to the prefix. */
export interface ExportedObject {
  path: string;
  etag: string;
  size: number;
}

/** The objects under the export prefix, in key order, after a relative path (full modes). */
export interface ExportPathListing {
  objects(afterPath: string | undefined): AsyncIterable<ExportedObject>;
}

/** The paths earlier failed exports touched, sorted, after a path (incremental mode). */
export interface TouchedPaths {
  paths(afterPath: string | undefined): AsyncIterable<string>;
}

export interface PlanRequest {
  repository: string;
  /** Last successfully exported commit; the diff base of an incremental export. */
  fromCommit: string | null;
  commitId: string;
  /** Default: incremental with a fromCommit, else full-copy. */
  mode?: ExportMode;
  /** Key prefix in the export bucket (the prefix of exportPath). */
  exportPrefix: string;
  /** Storage namespace of the repository: resolves relative physical addresses. */
  storageNamespace?: string;
  /** Full modes: what is in the export path now (required). */
  exported?: ExportPathListing;
  /** Incremental: what failed exports since `fromCommit` touched (none when absent). */
  touched?: TouchedPaths;
  /** From a previous, interrupted call. */
  resume?: PlanCursor;
}

export interface PlanOptions {
  limits?: ShardLimits;
  /** Retracts the markers above the copies and deletes planned (marker-retraction.ts). */
  markers?: MarkerRetractor;
  resolve?: ResolveOptions;
  /** Asked after each shard written; false stops with a cursor. */
  shouldContinue?: () => boolean;
}

export interface PlanResult {
  done: boolean;
  /** Pass back as `resume` when not done. */
  cursor: PlanCursor;
  counts: PlanCounts;
  /**
   * An incremental plan from a commit that exports nothing: its copy tasks are every exported
   * object of `to`, as a full plan's copy and keep tasks are (its manifest can be written from
   * them alone). Said by the call that took the listing of `to` for the diff, and carried by
   * the cursor to the calls after it.
   */
  fromExportsNothing?: true;
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
  const writer = new ShardWriter(sink, opts.limits ?? {}, req.resume, opts.markers);
  const shouldContinue = opts.shouldContinue ?? (() => true);
  const after = req.resume?.afterPath || undefined;
  const resolve = opts.resolve ?? {};
  const mode = exportModeOf(req);
  let tasks: AsyncIterable<ExportTask>;
  // Known from an earlier call of a resumed plan, or found by this one (incrementalTasks).
  const source = { fromExportsNothing: req.resume?.fromExportsNothing === true };
  const found = () => (source.fromExportsNothing ? { fromExportsNothing: true as const } : {});
  if (mode === "incremental") {
    if (req.fromCommit === null) throw new PlanError("an incremental export needs fromCommit");
    tasks = incrementalTasks(lakefs, req, req.fromCommit, after, resolve, source);
  } else {
    if (!req.exported) throw new PlanError(`a ${mode} export needs the listing of the export path`);
    tasks = fullTasks(lakefs, req, req.exported, mode === "full-compare", after, resolve);
  }
  try {
    for await (const task of tasks) {
      await writer.add(task);
      if (writer.takeFlushed() && !shouldContinue()) {
        // Tasks still buffered are not written: they are planned again on resume.
        await writer.settle();
        const counts = writer.counts();
        return {
          done: false,
          cursor: { afterPath: writer.lastWrittenPath, counts, ...writer.largest(), ...found() },
          counts,
        };
      }
    }
    await writer.flush();
    await writer.settle();
  } finally {
    // Writes still in flight after a failure are waited for, never left running unobserved.
    await writer.abandon();
  }
  const counts = writer.counts();
  return {
    done: true,
    cursor: { afterPath: writer.lastWrittenPath, counts, ...writer.largest(), ...found() },
    counts,
    ...found(),
  };
}

// ---- full exports: the listing of `to` merge-joined with the export path --------------------

/** Objects of `to` (no delimiter; exported paths only), in path order. */
async function* commitObjects(
  lakefs: PlannerLakeFs,
  req: PlanRequest,
  window: { after?: string; prefix?: string },
  resolve: ResolveOptions,
  depth: number,
): AsyncGenerator<ObjectStats> {
  // The next page is fetched while this one is planned and written.
  const pages = readAhead(
    lakefs.listObjects(req.repository, req.commitId, {
      ...(window.after ? { after: window.after } : {}),
      ...(window.prefix ? { prefix: window.prefix } : {}),
      amount: resolve.pageSize ?? 1000,
      userMetadata: true,
    }),
  );
  for await (const page of pages) {
    for (const stats of page.results) {
      if (stats.path_type === "common_prefix") {
        // Not expected without a delimiter; expanded in place, which keeps path order.
        checkDepth(depth, stats.path);
        yield* commitObjects(lakefs, req, { prefix: stats.path }, resolve, depth + 1);
      } else if (isExportedPath(stats.path)) {
        yield stats;
      }
    }
  }
}

const normalizeEtag = (etag: string) => etag.replace(/^W\//, "").replace(/"/g, "");

/** Whether the exported object has the bytes of `stats` (same ETag, same size when known). */
export function sameObject(stats: ObjectStats, exported: ExportedObject): boolean {
  return (
    normalizeEtag(stats.checksum) === normalizeEtag(exported.etag) &&
    (stats.size_bytes === undefined || stats.size_bytes === exported.size)
  );
}

async function* fullTasks(
  lakefs: PlannerLakeFs,
  req: PlanRequest,
  exported: ExportPathListing,
  compare: boolean,
  after: string | undefined,
  resolve: ResolveOptions,
): AsyncGenerator<ExportTask> {
  const c = commitObjects(lakefs, req, { after }, resolve, 0)[Symbol.asyncIterator]();
  const e = exported.objects(after)[Symbol.asyncIterator]();
  let cn = await c.next();
  let en = await e.next();
  let last: string | undefined;
  const inOrder = (path: string) => {
    if (last !== undefined && compareKeys(path, last) <= 0) {
      throw new PlanError(`the export path listing is out of order at ${path}`, path);
    }
    last = path;
  };
  while (!cn.done || !en.done) {
    const order = cn.done ? 1 : en.done ? -1 : compareKeys(cn.value.path, en.value.path);
    if (order > 0) {
      // Only in the export path: extra (an object deleted meanwhile, a stale marker,
      // `_lakefs_actions/`, anything written there from outside).
      const extra = (en as IteratorYieldResult<ExportedObject>).value;
      inOrder(extra.path);
      yield deleteTaskOf(extra.path, req);
      en = await e.next();
      continue;
    }
    const stats = (cn as IteratorYieldResult<ObjectStats>).value;
    inOrder(stats.path);
    if (order === 0) {
      const there = (en as IteratorYieldResult<ExportedObject>).value;
      yield compare && sameObject(stats, there) ? keepTaskOf(stats, req) : copyTaskOf(stats, req);
      en = await e.next();
    } else {
      yield copyTaskOf(stats, req);
    }
    cn = await c.next();
  }
}

// ---- incremental exports: the diff from -> to, and what failed exports touched --------------

interface Candidate {
  path: string;
  /** The diff's entry type; absent for a path only a failed export touched. */
  diff?: Diff["type"];
}

async function* incrementalTasks(
  lakefs: PlannerLakeFs,
  req: PlanRequest,
  fromCommit: string,
  after: string | undefined,
  resolve: ResolveOptions,
  source: { fromExportsNothing: boolean },
): AsyncGenerator<ExportTask> {
  const batchSize = resolve.pageSize ?? 1000;
  const touched = req.touched ? req.touched.paths(after) : emptyPaths();
  const firstPages = peekable(diffPages(lakefs, req, fromCommit, { after }, batchSize));
  const first = await firstPages.peek();
  if (first && onlyAdditions(first, batchSize) && (await exportsNothing(lakefs, req, fromCommit))) {
    await firstPages.close();
    // Every diff entry of an exported path is then an addition, whichever call planned it:
    // the plan's copy tasks (this call's and any earlier call's) are every object of `to`.
    source.fromExportsNothing = true;
    yield* listingTasks(lakefs, req, touched, after, resolve);
    return;
  }
  const diff = diffObjects(lakefs, req, fromCommit, { after }, resolve, 0, firstPages);
  // One batch ahead: a batch's stats are requested as soon as its diff entries are in, and
  // read while the next batch's diff is (the commit is immutable: read order does not matter).
  let pending: ResolvingBatch | undefined;
  let batch: Candidate[] = [];
  try {
    for await (const candidate of mergeCandidates(diff, touched)) {
      batch.push(candidate);
      if (batch.length >= batchSize) {
        const previous = pending;
        pending = resolveBatch(lakefs, req, batch, resolve);
        batch = [];
        if (previous) yield* tasksOfBatch(req, previous);
      }
    }
    const last = batch.length > 0 ? resolveBatch(lakefs, req, batch, resolve) : undefined;
    const previous = pending;
    pending = last;
    if (previous) yield* tasksOfBatch(req, previous);
    if (last) {
      pending = undefined;
      yield* tasksOfBatch(req, last);
    }
  } finally {
    // Stopped early (the plan's time budget) or failed: no read is left running unobserved.
    if (pending) await pending.stats.catch(() => undefined);
  }
}

interface ResolvingBatch {
  batch: Candidate[];
  stats: Promise<Map<string, ObjectStats>>;
}

function resolveBatch(
  lakefs: PlannerLakeFs,
  req: PlanRequest,
  batch: Candidate[],
  resolve: ResolveOptions,
): ResolvingBatch {
  const needed = batch.filter((c) => c.diff !== "removed").map((c) => c.path);
  const stats = resolvePhysicalAddresses(lakefs, req, needed, resolve);
  stats.catch(() => undefined); // observed when the batch's turn comes
  return { batch, stats };
}

async function* emptyPaths(): AsyncGenerator<string> {}

/** Diff entries and touched paths (both sorted) as one sorted stream, each path once. */
async function* mergeCandidates(
  diff: AsyncIterable<Diff>,
  touched: AsyncIterable<string>,
): AsyncGenerator<Candidate> {
  const d = diff[Symbol.asyncIterator]();
  const t = touched[Symbol.asyncIterator]();
  let dn = await d.next();
  let tn = await t.next();
  while (!dn.done || !tn.done) {
    if (!tn.done && !isExportedPath(tn.value)) {
      tn = await t.next();
      continue;
    }
    const order = dn.done ? 1 : tn.done ? -1 : compareKeys(dn.value.path, tn.value);
    if (order <= 0) {
      const entry = (dn as IteratorYieldResult<Diff>).value;
      yield { path: entry.path, diff: entry.type };
      if (order === 0) tn = await t.next();
      dn = await d.next();
    } else {
      yield { path: (tn as IteratorYieldResult<string>).value };
      tn = await t.next();
    }
  }
}

async function* tasksOfBatch(
  req: PlanRequest,
  resolving: ResolvingBatch,
): AsyncGenerator<ExportTask> {
  const { batch } = resolving;
  const stats = await resolving.stats;
  for (const c of batch) {
    if (c.diff === "removed") {
      yield deleteTaskOf(c.path, req);
      continue;
    }
    const s = stats.get(c.path);
    if (s) yield copyTaskOf(s, req);
    else if (c.diff === undefined) yield deleteTaskOf(c.path, req);
    else throw new PlanError(`${c.path} was not found in ${req.commitId}`, c.path);
  }
}

/** Object diff entries (exported paths only), prefix entries expanded in place (path order kept). */
async function* diffObjects(
  lakefs: PlannerLakeFs,
  req: PlanRequest,
  fromCommit: string,
  window: { after?: string; prefix?: string },
  resolve: ResolveOptions,
  depth: number,
  pages = diffPages(lakefs, req, fromCommit, window, resolve.pageSize ?? 1000),
): AsyncGenerator<Diff> {
  for await (const page of pages) {
    for (const d of page.results) {
      if (d.path_type === "common_prefix" || d.type === "prefix_changed") {
        checkDepth(depth, d.path);
        if (isExportedPath(d.path)) {
          yield* diffObjects(lakefs, req, fromCommit, { prefix: d.path }, resolve, depth + 1);
        }
      } else if (isExportedPath(d.path)) {
        yield d;
      }
    }
  }
}

function diffPages(
  lakefs: PlannerLakeFs,
  req: PlanRequest,
  fromCommit: string,
  window: { after?: string; prefix?: string },
  pageSize: number,
): AsyncIterable<Page<Diff>> {
  return lakefs.diffRefs(req.repository, fromCommit, req.commitId, {
    type: "two_dot",
    ...(window.after ? { after: window.after } : {}),
    ...(window.prefix ? { prefix: window.prefix } : {}),
    amount: pageSize,
  });
}

// ---- incremental exports from a commit that exports nothing ---------------------------------
// A branch's first data commit after its export began (the export of a repository's empty first
// commit): every exported object of `to` is an addition. The diff would name them, and each
// batch would then be listed for its physical addresses; the listing of `to` alone gives both,
// in half the lakeFS calls. Tried only when the diff's first page is full of additions, so an
// export of a few changes makes no extra call.

/** A full diff page of object additions only (a first export's diff looks like that). */
function onlyAdditions(page: Page<Diff>, pageSize: number): boolean {
  return (
    page.results.length >= pageSize &&
    page.results.every((d) => d.type === "added" && d.path_type === "object")
  );
}

/** Whether `commit` holds no exported path (nothing, or only `_lakefs_actions/`): 1 or 2 calls. */
async function exportsNothing(
  lakefs: PlannerLakeFs,
  req: PlanRequest,
  commit: string,
): Promise<boolean> {
  const first = await lakefs.listObjectsPage(req.repository, commit, { amount: 1 });
  const head = first.results[0];
  if (head === undefined) return true;
  if (isExportedPath(head.path)) return false;
  // Paths sort: any exported one is after every `_lakefs_actions/` path.
  const rest = await lakefs.listObjectsPage(req.repository, commit, {
    after: AFTER_LAKEFS_ACTIONS,
    amount: 1,
  });
  return rest.results.length === 0;
}

/** Tasks of `to`'s listing merged with the touched paths: listed, copied; touched only, deleted. */
async function* listingTasks(
  lakefs: PlannerLakeFs,
  req: PlanRequest,
  touched: AsyncIterable<string>,
  after: string | undefined,
  resolve: ResolveOptions,
): AsyncGenerator<ExportTask> {
  const c = commitObjects(lakefs, req, { after }, resolve, 0)[Symbol.asyncIterator]();
  const t = touched[Symbol.asyncIterator]();
  let cn = await c.next();
  let tn = await t.next();
  while (!cn.done || !tn.done) {
    if (!tn.done && !isExportedPath(tn.value)) {
      tn = await t.next();
      continue;
    }
    const order = cn.done ? 1 : tn.done ? -1 : compareKeys(cn.value.path, tn.value);
    if (order <= 0) {
      yield copyTaskOf((cn as IteratorYieldResult<ObjectStats>).value, req);
      if (order === 0) tn = await t.next();
      cn = await c.next();
    } else {
      yield deleteTaskOf((tn as IteratorYieldResult<string>).value, req);
      tn = await t.next();
    }
  }
}

function checkDepth(depth: number, path: string) {
  if (depth >= MAX_PREFIX_EXPANSION_DEPTH) {
    throw new PlanError(`lakeFS keeps answering common prefixes under ${path}`, path);
  }
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

function keepTaskOf(stats: ObjectStats, req: PlanRequest): KeepTask {
  return {
    op: "keep",
    path: stats.path,
    destKey: joinKey(req.exportPrefix, stats.path),
    etag: stats.checksum,
    ...(stats.size_bytes !== undefined ? { size: stats.size_bytes } : {}),
  };
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
