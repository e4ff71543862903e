// The manifest of an exported commit: every object with its exported key, ETag and size.
// A commit may hold 100M objects, so the manifest is JSON Lines parts plus a small index:
//   <status>/<REPO>-<BRANCH>-<COMMIT>.manifest/part-000000.jsonl   {"path","key","etag","size"} per line, path order
//   <status>/<REPO>-<BRANCH>-<COMMIT>.manifest.json                 ManifestIndex
// Two sources: the listing of the commit (full; lakeFS calls grow with the branch), or the
// previous export's manifest merged with this export's tasks (`mergeManifest`, no lakeFS call:
// the workflow uses it when the manifest of `from` exists under the same status path).
import type { LakeFsApi } from "../../lakefs/types";
import { joinKey } from "../../shared/s3-uri";
import { compareKeys } from "./keys";
import type { ExportTask } from "./tasks";

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

export interface ManifestIndex {
  version: 1;
  repository: string;
  branch: string;
  commitId: string;
  format: "jsonl";
  entries: number;
  totalSize: number;
  parts: { key: string; entries: number; bytes: number }[];
}

export interface ManifestSink {
  writePart(partIndex: number, lines: string[]): Promise<void>;
}

export function encodeManifestLine(e: ManifestEntry): string {
  return JSON.stringify({ path: e.path, key: e.key, etag: e.etag, size: e.size });
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
  about: { repository: string; branch: string; commitId: string; partKey: (i: number) => string },
  opts: { maxEntriesPerPart?: number; maxPartBytes?: number } = {},
): Promise<ManifestIndex> {
  const maxEntries = opts.maxEntriesPerPart ?? 100_000;
  const maxBytes = opts.maxPartBytes ?? 32 * 1024 * 1024;
  const index: ManifestIndex = {
    version: 1,
    repository: about.repository,
    branch: about.branch,
    commitId: about.commitId,
    format: "jsonl",
    entries: 0,
    totalSize: 0,
    parts: [],
  };
  let lines: string[] = [];
  let bytes = 0;
  const flush = async () => {
    if (lines.length === 0) return;
    const i = index.parts.length;
    await sink.writePart(i, lines);
    index.parts.push({ key: about.partKey(i), entries: lines.length, bytes });
    lines = [];
    bytes = 0;
  };
  for await (const e of entries) {
    const line = encodeManifestLine(e);
    const lineBytes = Buffer.byteLength(line) + 1;
    if (lines.length > 0 && bytes + lineBytes > maxBytes) await flush();
    lines.push(line);
    bytes += lineBytes;
    index.entries++;
    index.totalSize += e.size ?? 0;
    if (lines.length >= maxEntries) await flush();
  }
  await flush();
  return index;
}

/** Full manifest from the listing of the commit (no delimiter). */
export async function* manifestEntriesFromListing(
  lakefs: Pick<LakeFsApi, "listObjects">,
  repository: string,
  commitId: string,
  exportPrefix: string,
): AsyncGenerator<ManifestEntry> {
  for await (const page of lakefs.listObjects(repository, commitId, {
    amount: 1000,
    userMetadata: false,
  })) {
    for (const o of page.results) {
      if (o.path_type !== "object") continue;
      yield {
        path: o.path,
        key: joinKey(exportPrefix, o.path),
        etag: o.checksum,
        size: o.size_bytes ?? null,
      };
    }
  }
}

/**
 * The manifest of `to` from the manifest of `from` and the export's tasks (both in path
 * order): copied paths are added or replaced, deleted paths removed. Memory: one entry each.
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
    if (task.op === "copy") {
      yield { path: task.path, key: task.destKey, etag: task.etag, size: task.size ?? null };
    }
    if (c === 0) p = await prev.next();
    t = await next.next();
  }
}
