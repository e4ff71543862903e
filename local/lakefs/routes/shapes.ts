// lakeFS's JSON shapes of a commit, an object's stats and a diff entry.
import type { EntryValue } from "../graveler";
import type { DiffEntry } from "../paging";
import type { CommitRecord } from "../repository-store";

export function commitJson(c: CommitRecord) {
  return {
    id: c.id,
    parents: c.parents,
    committer: c.committer,
    message: c.message,
    creation_date: c.creation_date,
    meta_range_id: c.meta_range_id,
    metadata: c.metadata,
    generation: c.generation,
    version: c.version,
  };
}

export function objectStatsJson(path: string, v: EntryValue, withMetadata: boolean) {
  return {
    path,
    path_type: "object",
    physical_address: v.a,
    checksum: v.c,
    size_bytes: v.s,
    mtime: v.m,
    content_type: v.t,
    ...(withMetadata ? { metadata: v.md ?? {} } : {}),
  };
}

export function diffJson(d: DiffEntry, rightStats: boolean) {
  const sized = d.right ?? d.left;
  return {
    type: d.type,
    path: d.path,
    path_type: d.pathType,
    ...(sized ? { size_bytes: sized.s } : {}),
    ...(rightStats && d.right
      ? {
          right: {
            checksum: d.right.c,
            mtime: d.right.m,
            content_type: d.right.t,
            metadata: d.right.md ?? {},
          },
        }
      : {}),
  };
}
