// Reads s3rver's on-disk layout directly (s3rver 3.7.1, FilesystemStore): an object "a/b/c" is
// the file "<bucket>/a/b/c._S3rver_object" with "c._S3rver_object.md5" (the ETag) and
// "c._S3rver_metadata.json" next to it; multipart uploads live in "<bucket>/._S3rver_uploads/<id>/".
// The proxy uses it for what s3rver gets wrong: listing order, ranged reads, upload checks.
import { createReadStream, type ReadStream } from "node:fs";
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";

const OBJECT_SUFFIX = "._S3rver_object";
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

export class StoreLayout {
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
      return (await stat(this.store.getBucketPath(bucket))).isDirectory();
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

  /** Replaces the ETag s3rver recorded for an object (unquoted, e.g. "<md5>-3"). */
  async setObjectEtag(bucket: string, key: string, etag: string): Promise<void> {
    await writeFile(`${this.objectPath(bucket, key)}.md5`, etag);
  }

  /**
   * Forgets the ETag s3rver cached for an object, so it is computed again from the bytes on the
   * next read. s3rver's CopyObject with MetadataDirective REPLACE overwrites the bytes of an
   * existing destination but keeps its old cached ETag.
   */
  async forgetObjectEtag(bucket: string, key: string): Promise<void> {
    await rm(`${this.objectPath(bucket, key)}.md5`, { force: true });
  }

  async objectInfo(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const file = this.objectPath(bucket, key);
    try {
      const st = await stat(file);
      if (!st.isFile()) return undefined;
      const md5 = await readFile(`${file}.md5`, "utf8").catch(() => "");
      const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000);
      return { key, size: st.size, lastModified, etag: JSON.stringify(md5.trim()) };
    } catch {
      return undefined;
    }
  }

  /** Streams bytes [start, end] (inclusive) of an object straight from disk. */
  readRange(bucket: string, key: string, start: number, end: number): ReadStream {
    return createReadStream(this.objectPath(bucket, key), { start, end });
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
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const items: { sortKey: string; name: string; isDir: boolean }[] = [];
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
    const { prefix, delimiter, after, skipPrefix } = opts;
    for (const item of items) {
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
