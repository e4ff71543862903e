// What the GC steps need from the outside world. The steps (lambdas/gc/steps) take these, the
// handlers wire them to S3, lakeFS and DynamoDB, tests wire them to fakes or local servers.
import type { LakeFsApi } from "../lakefs/types";
import type { GcRunCounts, GcStore } from "../shared/state/gc-store";

export interface StoredObject {
  key: string;
  size: number;
}

export interface KeyDeleteFailure {
  key: string;
  code: string;
  message: string;
}

/** S3 as the GC steps use it: whole small objects, listings streamed page by page. */
export interface GcObjectStore {
  put(bucket: string, key: string, body: string | Uint8Array, contentType?: string): Promise<void>;
  /** The object's bytes as UTF-8 text; undefined when it does not exist. */
  getText(bucket: string, key: string): Promise<string | undefined>;
  /** Every object under `prefix`, in key order, streamed. */
  list(bucket: string, prefix: string): AsyncIterable<StoredObject>;
  /**
   * Deletes keys (DeleteObjects, 1 000 a request, throttling retried). A key already gone
   * counts as deleted; what still fails is returned per key.
   */
  deleteKeys(bucket: string, keys: readonly string[]): Promise<{ failed: KeyDeleteFailure[] }>;
}

/** The lakeFS reads of GC. */
export type GcLakeFs = Pick<
  LakeFsApi,
  | "listBranches"
  | "listTags"
  | "logCommits"
  | "listObjectsPage"
  | "statObject"
  | "diffRefsPage"
  | "diffBranch"
>;

export type GcRunRecords = Pick<GcStore, "completeRun" | "getRun">;

export interface GcStepDeps {
  s3: GcObjectStore;
  lakefs: GcLakeFs;
  runs: GcRunRecords;
  workBucket: string;
  now: () => Date;
}

export type { GcRunCounts };
