// Reads s3rver's on-disk layout directly (s3rver 3.7.1, FilesystemStore): an object "a/b/c" is
// the file "<bucket>/a/b/c._S3rver_object" with "c._S3rver_object.md5" (the ETag) and
// "c._S3rver_metadata.json" next to it; multipart uploads live in "<bucket>/._S3rver_uploads/<id>/".
// The proxy uses it for what s3rver gets wrong: listing order, ranged reads, upload checks.
import { createHash, randomBytes } from "node:crypto";
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  type ReadStream,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { copyFile, readdir, readFile, rm, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type TagWrite, writeObjectTags } from "./object-tagging";

const OBJECT_SUFFIX = "._S3rver_object";
/** The stored metadata s3rver keeps (its S3Object.ALLOWED_METADATA) besides x-amz-meta-*. */
const STORED_METADATA = new Set([
  "cache-control",
  "content-disposition",
  "content-encoding",
  "content-language",
  "content-type",
  "expires",
  "x-amz-storage-class",
  "x-amz-website-redirect-location",
]);

/** What s3rver would store from a request's headers (its putMetadata). */
export function storedMetadataOf(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const name = k.toLowerCase();
    if (STORED_METADATA.has(name) || name.startsWith("x-amz-meta-")) {
      out[name] = Array.isArray(v) ? v.join(",") : v;
    }
  }
  return out;
}
const INTERNAL_PREFIX = "._S3rver_";

/** The subset of s3rver's FilesystemStore the proxy calls. */
export interface S3rverStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getBucketPath(bucket: string): string;
  existsObject(bucket: string, key: string): Promise<boolean>;
  deleteObject(bucket: string, key: string): Promise<void>;
}

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  /** Quoted, as S3 sends it. */
  etag: string;
}

/** One entry of an ordered walk: an object key, or a whole common prefix collapsed at once. */
export type WalkItem = { kind: "key"; key: string } | { kind: "prefix"; prefix: string };

export interface WalkOptions {
  prefix: string;
  delimiter: string;
  /** Only keys strictly after this (UTF-8 byte order). */
  after: string;
  /** Skip every key under this prefix (a common prefix returned on an earlier page). */
  skipPrefix?: string;
}

export const compareKeys = (a: string, b: string) =>
  Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

interface DirEntry {
  sortKey: string;
  name: string;
  isDir: boolean;
}

const CACHED_DIRECTORIES = 32;

/**
 * Index of the first entry that can hold a key after `after`: entries before it are keys at
 * or before `after`, or directories whose every key sorts before it (a directory that sorts
 * before `after` without being a prefix of it differs from it within its own name).
 */
function firstAfter(items: DirEntry[], after: string): number {
  if (after === "") return 0;
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(items[mid]!.sortKey, after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  const before = items[lo - 1];
  return before?.isDir && after.startsWith(before.sortKey) ? lo - 1 : lo;
}
const CACHED_DIRECTORY_MIN_ENTRIES = 1000;

export class StoreLayout {
  private readonly dirCache = new Map<string, { mtimeNs: bigint; items: DirEntry[] }>();

  constructor(readonly store: S3rverStore) {}

  objectPath(bucket: string, key: string): string {
    return this.store.getResourcePath(bucket, key, "object");
  }

  uploadDir(bucket: string, uploadId: string): string {
    return path.join(this.store.getResourcePath(bucket, undefined, "uploads"), uploadId);
  }

  async bucketExists(bucket: string): Promise<boolean> {
    if (!/^[a-z0-9][a-z0-9.-]{1,62}$/.test(bucket)) return false;
    try {
      return statSync(this.store.getBucketPath(bucket)).isDirectory();
    } catch {
      return false;
    }
  }

  async uploadExists(bucket: string, uploadId: string): Promise<boolean> {
    if (!/^[0-9a-f]{8,64}$/.test(uploadId)) return false;
    try {
      return (await stat(this.uploadDir(bucket, uploadId))).isDirectory();
    } catch {
      return false;
    }
  }

  async removeUpload(bucket: string, uploadId: string): Promise<void> {
    await rm(this.uploadDir(bucket, uploadId), { recursive: true, force: true });
  }

  /** The ETag (unquoted md5) s3rver recorded for an uploaded part, if the part exists. */
  async partEtag(
    bucket: string,
    uploadId: string,
    partNumber: number,
  ): Promise<string | undefined> {
    try {
      return (
        await readFile(path.join(this.uploadDir(bucket, uploadId), `${partNumber}.md5`), "utf8")
      ).trim();
    } catch {
      return undefined;
    }
  }

  /** Size in bytes of an uploaded part, if the part exists. */
  async partSize(
    bucket: string,
    uploadId: string,
    partNumber: number,
  ): Promise<number | undefined> {
    try {
      return (await stat(path.join(this.uploadDir(bucket, uploadId), String(partNumber)))).size;
    } catch {
      return undefined;
    }
  }

  /** Replaces the ETag s3rver recorded for an object (unquoted, e.g. "<md5>-3"), for a
   * completed multipart upload: a new object, with the tags its CreateMultipartUpload gave
   * (`tags`, its x-amz-tagging; none: without the tags an earlier object had). */
  async setObjectEtag(bucket: string, key: string, etag: string, tags?: string): Promise<void> {
    await writeFile(`${this.objectPath(bucket, key)}.md5`, etag);
    writeObjectTags(this.store, bucket, key, { kind: "set", header: tags });
  }

  /** The x-amz-tagging of an upload's CreateMultipartUpload (s3rver keeps its headers). */
  async uploadTagging(bucket: string, uploadId: string): Promise<string | undefined> {
    try {
      const text = await readFile(path.join(this.uploadDir(bucket, uploadId), "metadata"), "utf8");
      const tags = (JSON.parse(text) as Record<string, unknown>)["x-amz-tagging"];
      return typeof tags === "string" ? tags : undefined;
    } catch {
      return undefined;
    }
  }

  async objectInfo(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const file = this.objectPath(bucket, key);
    try {
      const st = statSync(file);
      if (!st.isFile()) return undefined;
      const md5 = await this.objectMd5(bucket, key);
      const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000);
      return { key, size: st.size, lastModified, etag: JSON.stringify(md5) };
    } catch {
      return undefined;
    }
  }

  /** The md5 of an object's bytes, from s3rver's cache file or computed (and cached) like s3rver. */
  async objectMd5(bucket: string, key: string): Promise<string> {
    const file = this.objectPath(bucket, key);
    let cached: string | undefined;
    try {
      cached = readFileSync(`${file}.md5`, "utf8");
    } catch {
      cached = undefined;
    }
    if (cached !== undefined) return cached.trim();
    const digest = createHash("md5");
    for await (const chunk of createReadStream(file)) digest.update(chunk as Buffer);
    const md5 = digest.digest("hex");
    await writeFile(`${file}.md5`, md5);
    return md5;
  }

  /**
   * CopyObject on disk, in s3rver's format, without going through s3rver (its copy costs a
   * dozen filesystem calls and two HTTP hops; this is the hot path of every export). The bytes
   * land under a temporary name and are renamed into place, so a reader never sees half a copy.
   * Metadata is the source's, or `replacement` (MetadataDirective REPLACE); tags the source's
   * unless `tags` says otherwise (x-amz-tagging-directive REPLACE).
   */
  async copyObject(
    src: { bucket: string; key: string },
    dest: { bucket: string; key: string },
    replacement?: Record<string, string>,
    tags: TagWrite = { kind: "copy-from", ...src },
  ): Promise<{ etag: string; lastModified: Date }> {
    const srcFile = this.objectPath(src.bucket, src.key);
    const destFile = this.objectPath(dest.bucket, dest.key);
    const md5 = await this.objectMd5(src.bucket, src.key);
    // The small metadata files go through synchronous calls: on a local disk they take
    // microseconds, and each asynchronous one costs a thread-pool round trip.
    let metadata = replacement;
    if (!metadata) {
      try {
        const metadataFile = this.store.getResourcePath(src.bucket, src.key, "metadata.json");
        metadata = JSON.parse(readFileSync(metadataFile, "utf8")) as Record<string, string>;
      } catch {
        metadata = {};
      }
    }
    if (srcFile !== destFile) {
      mkdirSync(path.dirname(destFile), { recursive: true });
      const tmp = `${destFile}.${randomBytes(6).toString("hex")}.tmp`;
      try {
        await copyFile(srcFile, tmp);
        renameSync(tmp, destFile);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
    }
    writeFileSync(`${destFile}.md5`, md5);
    writeFileSync(
      this.store.getResourcePath(dest.bucket, dest.key, "metadata.json"),
      JSON.stringify(metadata, null, 2),
    );
    writeObjectTags(this.store, dest.bucket, dest.key, tags);
    const st = statSync(destFile);
    return { etag: md5, lastModified: new Date(Math.floor(st.mtimeMs / 1000) * 1000) };
  }

  /**
   * PutObject on disk in s3rver's format: the body streams to a temporary file (hashed on the
   * way) that is renamed into place only if `expectedMd5` (Content-MD5, base64) matches.
   */
  async writeObject(
    bucket: string,
    key: string,
    body: Readable,
    metadata: Record<string, string>,
    expectedMd5?: string,
    tagsHeader?: string,
  ): Promise<{ md5: string; size: number } | { badDigest: true }> {
    const file = this.objectPath(bucket, key);
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    const digest = createHash("md5");
    let size = 0;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            digest.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(tmp),
      );
      const raw = digest.digest();
      if (expectedMd5 !== undefined && raw.toString("base64") !== expectedMd5) {
        rmSync(tmp, { force: true });
        return { badDigest: true };
      }
      renameSync(tmp, file);
      const md5 = raw.toString("hex");
      writeFileSync(`${file}.md5`, md5);
      writeFileSync(
        this.store.getResourcePath(bucket, key, "metadata.json"),
        JSON.stringify(metadata, null, 2),
      );
      writeObjectTags(this.store, bucket, key, { kind: "set", header: tagsHeader });
      return { md5, size };
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Deletes an object's files, then the directories it leaves empty (up to the bucket). An
   * rmdir that finds the directory not empty ends the walk: no directory listing per delete.
   */
  async deleteObject(bucket: string, key: string): Promise<void> {
    const file = this.objectPath(bucket, key);
    await Promise.all(
      [
        file,
        `${file}.md5`,
        this.store.getResourcePath(bucket, key, "metadata.json"),
        this.store.getResourcePath(bucket, key, "tagging.xml"),
      ].map((f) =>
        unlink(f).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== "ENOENT") throw err;
        }),
      ),
    );
    const bucketDir = this.store.getBucketPath(bucket);
    let dir = path.dirname(file);
    while (dir.length > bucketDir.length && dir.startsWith(bucketDir)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty (or already gone, or being filled by a concurrent write)
      }
      dir = path.dirname(dir);
    }
  }

  /** Streams bytes [start, end] (inclusive) of an object straight from disk. */
  readRange(bucket: string, key: string, start: number, end: number): ReadStream {
    return createReadStream(this.objectPath(bucket, key), { start, end });
  }

  /**
   * A directory's entries in S3 key order. Paging through a large directory reads and sorts it
   * once: the sorted entries are kept while the directory's mtime is unchanged, and only for
   * directories last changed over a second before they were read (a change within the same
   * clock tick could otherwise keep the mtime).
   */
  private async sortedEntries(dir: string, parent: string): Promise<DirEntry[] | undefined> {
    let mtimeNs: bigint;
    try {
      mtimeNs = statSync(dir, { bigint: true }).mtimeNs;
    } catch {
      return undefined;
    }
    const cached = this.dirCache.get(dir);
    if (cached && cached.mtimeNs === mtimeNs) return cached.items;
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return undefined;
    }
    const items: DirEntry[] = [];
    for (const e of entries) {
      if (e.isDirectory()) {
        if (parent === "" && e.name.startsWith(INTERNAL_PREFIX)) continue; // uploads
        items.push({ sortKey: `${parent}${e.name}/`, name: e.name, isDir: true });
      } else if (e.name.endsWith(OBJECT_SUFFIX)) {
        const name = e.name.slice(0, -OBJECT_SUFFIX.length);
        items.push({ sortKey: parent + name, name, isDir: false });
      }
    }
    items.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    const settled = BigInt(Date.now() - 1000) * 1_000_000n > mtimeNs;
    if (items.length >= CACHED_DIRECTORY_MIN_ENTRIES && settled) {
      this.dirCache.delete(dir);
      this.dirCache.set(dir, { mtimeNs, items });
      if (this.dirCache.size > CACHED_DIRECTORIES) {
        this.dirCache.delete(this.dirCache.keys().next().value as string);
      }
    }
    return items;
  }

  /**
   * Yields a bucket's keys in S3 order (UTF-8 bytes), one directory listing in memory at a time.
   * Directories whose keys all fall under one common prefix are yielded as that prefix without
   * being read; directories entirely before `after` or outside `prefix` are never opened.
   */
  async *walk(bucket: string, opts: WalkOptions): AsyncGenerator<WalkItem> {
    yield* this.walkDir(this.store.getBucketPath(bucket), "", opts);
  }

  private async *walkDir(dir: string, parent: string, opts: WalkOptions): AsyncGenerator<WalkItem> {
    const items = await this.sortedEntries(dir, parent);
    if (!items) return;
    const { prefix, delimiter, after, skipPrefix } = opts;
    for (let i = firstAfter(items, after); i < items.length; i++) {
      const item = items[i]!;
      const p = item.sortKey;
      if (!item.isDir) {
        yield { kind: "key", key: p };
        continue;
      }
      if (!(p.startsWith(prefix) || prefix.startsWith(p))) continue;
      if (skipPrefix && p.startsWith(skipPrefix)) continue;
      const afterInside = after.startsWith(p);
      if (!afterInside && compareKeys(p, after) < 0) continue; // whole subtree sorts before `after`
      if (delimiter && p.startsWith(prefix) && !afterInside) {
        const idx = p.indexOf(delimiter, prefix.length);
        if (idx !== -1 && idx + delimiter.length <= p.length) {
          // Every key below shares this common prefix: no need to read the directory.
          const common = p.slice(0, idx + delimiter.length);
          if (!(skipPrefix && common === skipPrefix)) yield { kind: "prefix", prefix: common };
          continue;
        }
      }
      yield* this.walkDir(path.join(dir, item.name), p, opts);
    }
  }
}
