// What the GC steps need from the outside world. The steps (lambdas/gc/steps) take these, the
// handlers wire them to S3, lakeFS and DynamoDB, tests wire them to fakes or local servers.
import type { LakeFsApi } from "../shared/lakefs/types";
import type { GcRunCounts, GcStore } from "./adapters/gc-store";

export interface StoredObject {
  key: string;
  size: number;
}

export interface KeyDeleteFailure {
  key: string;
  code: string;
  message: string;
}

/** A streamed upload: bytes go out in parts as they come; nothing is visible before close(). */
export interface ObjectUpload {
  write(chunk: Uint8Array | string): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** S3 as the GC steps use it: small objects whole, big ones and listings streamed. */
export interface GcObjectStore {
  put(bucket: string, key: string, body: string | Uint8Array, contentType?: string): Promise<void>;
  /** The object's bytes as UTF-8 text; undefined when it does not exist. */
  getText(bucket: string, key: string): Promise<string | undefined>;
  /** The object's text line by line (without line breaks), streamed; undefined when absent. */
  lines(bucket: string, key: string): Promise<AsyncIterable<string> | undefined>;
  /** Writes an object of any size with bounded memory (multipart above one part). */
  upload(bucket: string, key: string, contentType?: string): ObjectUpload;
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

export type GcRunRecords = Pick<
  GcStore,
  "completeRun" | "getRun" | "getMark" | "endMark" | "beginSweep"
>;

/** The repository's GC lease, as a running run keeps it (see lease.ts). */
export interface GcLeaseKeeper {
  /** Extends the lease; throws LeaseLostError when another run took it. */
  renew(repository: string, runId: string): Promise<void>;
}

export interface GcStepDeps {
  s3: GcObjectStore;
  lakefs: GcLakeFs;
  runs: GcRunRecords;
  lease: GcLeaseKeeper;
  workBucket: string;
  now: () => Date;
}

export type { GcRunCounts };
