// The manifest of an exported commit: every object with its exported key, s3:// URI, ETag and
// size. A commit may hold 100M objects, so the manifest is JSON Lines parts plus a small index:
//   <status>/<REPO>-<BRANCH>-<COMMIT>.manifest/part-<HASH>.jsonl   {"path","key","uri","etag","size"} per line, path order
//   <status>/<REPO>-<BRANCH>-<COMMIT>.manifest/part-<HASH>.csv.gz  its S3 Batch Operations CSV twin (version 4)
//   <status>/<REPO>-<BRANCH>-<COMMIT>.manifest.json                 ManifestIndex (parts in order)
// Parts are named by a hash of their content, so they never change once written, and an
// index may list parts that an earlier export of the branch wrote (under its own commit's
// folder): an export that changes 10 objects of a 100M-object branch reads and writes only
// the parts its changes fall in (`writeMergedManifest`), not the whole manifest.
// Sources: the listing of the commit (first export), or the previous export's manifest merged
// with this export's tasks (no lakeFS call).
import { createHash } from "node:crypto";
import { readAhead } from "../../shared/concurrency";
import type { LakeFsApi } from "../../shared/lakefs/types";
import { joinKey } from "../../shared/s3-uri";
import type { BatchOperationsCsvFile } from "./batch-operations-manifest";
import { isExportedPath } from "./exported-paths";
import { compareKeys } from "./keys";
import type { ExportTask } from "./tasks";

/** Hex characters of a part's content id (the start of its SHA-256). */
export const PART_CONTENT_ID_LENGTH = 32;

export interface ManifestEntry {
  /** lakeFS path. */
  path: string;
  /** Key in the export bucket. */
  key: string;
  /** lakeFS checksum (the physical object's ETag on S3). */
  etag: string;
  /** Bytes; null when lakeFS did not say. */
  size: number | null;
}

export interface ManifestPart {
  key: string;
  entries: number;
  bytes: number;
  /** First and last path in the part, and the sum of its sizes (version 2 indexes). */
  firstPath?: string;
  lastPath?: string;
  totalSize?: number;
  /** The part's S3 Batch Operations CSV file (version 4; see batch-operations-manifest.ts). */
  csv?: BatchOperationsCsvFile;
}

export interface ManifestIndex {
  /**
   * 2: parts are content-named, carry their path range, and may be shared between commits;
   * 3: as 2, and every line has the object's `uri` in `bucket`;
   * 4: as 3, and every part names its Batch Operations CSV twin (`csv`).
   */
  version: 1 | 2 | 3 | 4;
  /** The export bucket (version 3). */
  bucket?: string;
  /**
   * The export path the keys are under (s3://bucket/prefix). A later export merges with this
   * manifest only when it exports to the same path; indexes without it are not merged.
   */
  exportPath?: string;
  /** The S3 Batch Operations manifest.json of the same objects (key in the status bucket). */
  batchOperationsManifest?: string;
  repository: string;
  branch: string;
  commitId: string;
  format: "jsonl";
  entries: number;
  totalSize: number;
  parts: ManifestPart[];
}

/**
 * The previous export's manifest index, when `body` is one describing `exportPath`: only a
 * manifest of the same export path says what that path holds (the previous commit may have
 * been exported elsewhere before a configuration change; its keys would be another prefix's).
 * Undefined for a missing object, one that is not an index, or another path's index.
 */
export function mergeableManifestIndex(
  body: string | undefined,
  exportPath: string,
): ManifestIndex | undefined {
  if (body === undefined) return undefined;
  let index: ManifestIndex;
  try {
    index = JSON.parse(body) as ManifestIndex;
  } catch {
    return undefined;
  }
  if (!Array.isArray(index?.parts) || typeof index.exportPath !== "string") return undefined;
  const trimmed = (p: string) => p.replace(/\/+$/, "");
  return trimmed(index.exportPath) === trimmed(exportPath) ? index : undefined;
}

/**
 * The objects `index` relies on (its parts and their CSV files), by folder (the key up to its
 * last `/`): a merge reads some and lists the others by reference, so each must exist.
 */
export function manifestFilesByFolder(index: ManifestIndex): Map<string, Set<string>> {
  const folders = new Map<string, Set<string>>();
  const add = (key: string) => {
    const folder = key.slice(0, key.lastIndexOf("/") + 1);
    const keys = folders.get(folder) ?? new Set<string>();
    keys.add(key);
    folders.set(folder, keys);
  };
  for (const part of index.parts) {
    add(part.key);
    if (part.csv) add(part.csv.key);
  }
  return folders;
}

/**
 * A part an index lists is not in the status bucket (a lifecycle rule or a person removed an
 * earlier commit's status files): that manifest cannot be read or merged.
 */
export class MissingManifestPartError extends Error {
  override readonly name = "MissingManifestPartError";
  constructor(readonly partKey: string) {
    super(`manifest part ${partKey} is missing`);
  }
}

/** What a sink adds to a part's index entry. */
export type PartAdditions = Pick<ManifestPart, "csv">;

export interface ManifestSink {
  /**
   * Writes one part (its key is content-named: writing it again writes the same bytes).
   * `keys` are its entries' export keys, in line order (for twins that need only those).
   */
  writePart(key: string, body: string, keys: readonly string[]): Promise<PartAdditions | undefined>;
  /** Told of each part an earlier export wrote that this manifest lists as is, in order. */
  reusePart?(part: ManifestPart): Promise<PartAdditions | undefined>;
}

export interface ManifestAbout {
  /** The export bucket: the `uri` of each line is s3://<bucket>/<key>. */
  bucket: string;
  /** The export path, recorded in the index (see ManifestIndex.exportPath). */
  exportPath?: string;
  repository: string;
  branch: string;
  commitId: string;
  /** Key of a new part from its content id. */
  partKey: (contentId: string) => string;
}

export interface ManifestLimits {
  maxEntriesPerPart?: number;
  maxPartBytes?: number;
}

/** Accumulates entries into parts of bounded size; parts already written can be appended as is. */
class ManifestWriter {
  readonly index: ManifestIndex;
  private lines: string[] = [];
  private keys: string[] = [];
  private bytes = 0;
  private size = 0;
  private first = "";
  private last = "";
  private readonly maxEntries: number;
  private readonly maxBytes: number;

  constructor(
    private readonly sink: ManifestSink,
    private readonly about: ManifestAbout,
    limits: ManifestLimits,
  ) {
    this.maxEntries = limits.maxEntriesPerPart ?? 100_000;
    this.maxBytes = limits.maxPartBytes ?? 32 * 1024 * 1024;
    this.index = {
      version: 4,
      bucket: about.bucket,
      ...(about.exportPath !== undefined ? { exportPath: about.exportPath } : {}),
      repository: about.repository,
      branch: about.branch,
      commitId: about.commitId,
      format: "jsonl",
      entries: 0,
      totalSize: 0,
      parts: [],
    };
  }

  async add(e: ManifestEntry): Promise<void> {
    const line = encodeManifestLine(e, this.about.bucket);
    const lineBytes = Buffer.byteLength(line) + 1;
    if (this.lines.length > 0 && this.bytes + lineBytes > this.maxBytes) await this.flush();
    if (this.lines.length === 0) this.first = e.path;
    this.last = e.path;
    this.lines.push(line);
    this.keys.push(e.key);
    this.bytes += lineBytes;
    this.size += e.size ?? 0;
    if (this.lines.length >= this.maxEntries) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.lines.length === 0) return;
    const body = `${this.lines.join("\n")}\n`;
    const key = this.about.partKey(
      createHash("sha256").update(body).digest("hex").slice(0, PART_CONTENT_ID_LENGTH),
    );
    const added = await this.sink.writePart(key, body, this.keys);
    this.push({
      key,
      entries: this.lines.length,
      bytes: this.bytes,
      firstPath: this.first,
      lastPath: this.last,
      totalSize: this.size,
      ...added,
    });
    this.lines = [];
    this.keys = [];
    this.bytes = 0;
    this.size = 0;
  }

  /** Appends a part written earlier, by reference. */
  async reuse(part: ManifestPart): Promise<void> {
    await this.flush();
    const added = await this.sink.reusePart?.(part);
    this.push({ ...part, ...added });
  }

  private push(part: ManifestPart): void {
    this.index.parts.push(part);
    this.index.entries += part.entries;
    this.index.totalSize += part.totalSize ?? 0;
  }
}

/** One line: `uri` is the object's full S3 URI (the key as is, not URL-encoded). */
export function encodeManifestLine(e: ManifestEntry, bucket: string): string {
  const uri = `s3://${bucket}/${e.key}`;
  return JSON.stringify({ path: e.path, key: e.key, uri, etag: e.etag, size: e.size });
}

export function parseManifestLine(line: string): ManifestEntry {
  const v = JSON.parse(line) as Partial<ManifestEntry>;
  if (
    typeof v.path !== "string" ||
    typeof v.key !== "string" ||
    typeof v.etag !== "string" ||
    !(v.size === null || typeof v.size === "number")
  ) {
    throw new Error(
      `manifest line needs path, key, etag (strings) and size (number|null): ${line.slice(0, 200)}`,
    );
  }
  return { path: v.path, key: v.key, etag: v.etag, size: v.size };
}

/** Streams entries into parts of bounded size; returns the index to write last. */
export async function writeManifest(
  entries: AsyncIterable<ManifestEntry>,
  sink: ManifestSink,
  about: ManifestAbout,
  limits: ManifestLimits = {},
): Promise<ManifestIndex> {
  const w = new ManifestWriter(sink, about, limits);
  for await (const e of entries) await w.add(e);
  await w.flush();
  return w.index;
}

/** A stretch of a manifest, in path order: parts already written, or entries to write. */
export type ManifestStretch =
  | { parts: readonly ManifestPart[] }
  | { entries: AsyncIterable<ManifestEntry> };

/**
 * A manifest from stretches in path order (a full export's groups): written parts are listed
 * by reference, entries written as new parts between them.
 */
export async function writeManifestOfStretches(
  stretches: AsyncIterable<ManifestStretch>,
  sink: ManifestSink,
  about: ManifestAbout,
  limits: ManifestLimits = {},
): Promise<ManifestIndex> {
  const w = new ManifestWriter(sink, about, limits);
  for await (const s of stretches) {
    if ("parts" in s) for (const part of s.parts) await w.reuse(part);
    else for await (const e of s.entries) await w.add(e);
  }
  await w.flush();
  return w.index;
}

/**
 * Whether an index carries what `writeMergedManifest` needs: path ranges and sizes of parts,
 * and lines with URIs in `bucket` (older manifests are rewritten once, then reused). Parts of
 * version 3 have no CSV twin yet: the sink writes it when it reuses the part.
 */
export function supportsPartReuse(index: ManifestIndex, bucket: string): boolean {
  if (index.version < 3 || index.bucket !== bucket) return false;
  return index.parts.every(
    (p) =>
      typeof p.firstPath === "string" &&
      typeof p.lastPath === "string" &&
      typeof p.totalSize === "number",
  );
}

/**
 * The manifest of `to` from the index of `from` (version 3 or 4) and this export's tasks (path
 * order). A part owns the paths from its first path up to the next part's first path; a part
 * that owns no task is kept by reference (not read, not written), the others are read, merged
 * with their tasks and written again (runs of touched parts are merged into one stream).
 * Requests grow with the changes, not with the branch.
 */
export async function writeMergedManifest(
  previous: ManifestIndex,
  readPart: (part: ManifestPart) => AsyncIterable<ManifestEntry>,
  tasks: AsyncIterable<ExportTask>,
  sink: ManifestSink,
  about: ManifestAbout,
  limits: ManifestLimits = {},
): Promise<ManifestIndex> {
  if (!supportsPartReuse(previous, about.bucket)) {
    throw new Error(
      "writeMergedManifest: the previous index has no path ranges or URIs in this bucket (before version 3)",
    );
  }
  const w = new ManifestWriter(sink, about, limits);
  const pending = new PeekableTasks(tasks);
  const parts = previous.parts;
  // Paths owned by part i: [-inf | first(i), first(i+1) | +inf).
  const ownedBy = (i: number, path: string) => {
    const next = parts[i + 1]?.firstPath;
    return next === undefined || compareKeys(path, next) < 0;
  };
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const t = await pending.peek();
    if (t === undefined || !ownedBy(i, t.path)) {
      await w.reuse(part);
      continue;
    }
    for await (const e of mergeManifest(
      readPart(part),
      pending.takeWhile((p) => ownedBy(i, p)),
    )) {
      await w.add(e);
    }
    const after = await pending.peek();
    const nextTouched = after !== undefined && i + 1 < parts.length && ownedBy(i + 1, after.path);
    if (!nextTouched) await w.flush();
  }
  // No previous part: every task is new content.
  for await (const e of mergeManifest(
    emptyEntries(),
    pending.takeWhile(() => true),
  )) {
    await w.add(e);
  }
  await w.flush();
  return w.index;
}

async function* emptyEntries(): AsyncGenerator<ManifestEntry> {}

class PeekableTasks {
  private readonly it: AsyncIterator<ExportTask>;
  private head: IteratorResult<ExportTask> | undefined;
  constructor(tasks: AsyncIterable<ExportTask>) {
    this.it = tasks[Symbol.asyncIterator]();
  }
  async peek(): Promise<ExportTask | undefined> {
    this.head ??= await this.it.next();
    return this.head.done ? undefined : this.head.value;
  }
  async *takeWhile(pred: (path: string) => boolean): AsyncGenerator<ExportTask> {
    for (;;) {
      const t = await this.peek();
      if (t === undefined || !pred(t.path)) return;
      this.head = undefined;
      yield t;
    }
  }
}

/** Full manifest from the listing of the commit (no delimiter; exported paths only). */
export async function* manifestEntriesFromListing(
  lakefs: Pick<LakeFsApi, "listObjects">,
  repository: string,
  commitId: string,
  exportPrefix: string,
): AsyncGenerator<ManifestEntry> {
  // The next page is fetched while this one is written.
  const pages = readAhead(
    lakefs.listObjects(repository, commitId, { amount: 1000, userMetadata: false }),
  );
  for await (const page of pages) {
    for (const o of page.results) {
      if (o.path_type !== "object" || !isExportedPath(o.path)) continue;
      yield {
        path: o.path,
        key: joinKey(exportPrefix, o.path),
        etag: o.checksum,
        size: o.size_bytes ?? null,
      };
    }
  }
}

/** The manifest of a full export: its copy and keep tasks (path order), deletes left out. */
export function manifestEntriesOfTasks(
  tasks: AsyncIterable<ExportTask>,
): AsyncGenerator<ManifestEntry> {
  return mergeManifest(noEntries(), tasks);
}

async function* noEntries(): AsyncGenerator<ManifestEntry> {}

/**
 * The manifest of `to` from the manifest of `from` and the export's tasks (both in path
 * order): copied (and kept) paths are added or replaced, deleted paths removed. Memory: one
 * entry each.
 */
export async function* mergeManifest(
  previous: AsyncIterable<ManifestEntry>,
  tasks: AsyncIterable<ExportTask>,
): AsyncGenerator<ManifestEntry> {
  const prev = previous[Symbol.asyncIterator]();
  const next = tasks[Symbol.asyncIterator]();
  let p = await prev.next();
  let t = await next.next();
  let last: string | undefined;
  const inOrder = (path: string) => {
    if (last !== undefined && compareKeys(last, path) >= 0) {
      throw new Error(`mergeManifest: input out of path order at ${path} (after ${last})`);
    }
  };
  while (!p.done || !t.done) {
    const c = p.done ? 1 : t.done ? -1 : compareKeys(p.value.path, t.value.path);
    if (c < 0 && !p.done) {
      inOrder(p.value.path);
      last = p.value.path;
      yield p.value;
      p = await prev.next();
      continue;
    }
    const task = (t as IteratorYieldResult<ExportTask>).value;
    inOrder(task.path);
    last = task.path;
    if (task.op !== "delete") {
      yield { path: task.path, key: task.destKey, etag: task.etag, size: task.size ?? null };
    }
    if (c === 0) p = await prev.next();
    t = await next.next();
  }
}
