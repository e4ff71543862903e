// What the GC steps need from the outside world. The steps (lambdas/gc/steps) take these, the
// handlers wire them to S3, lakeFS and DynamoDB, tests wire them to fakes or local servers.
import type { LakeFsApi, ListOptions, Page, Repository } from "../shared/lakefs/types";
import type { MetricsPort } from "../shared/run-metrics";
import type { VersionedText, WriteCondition } from "../shared/write-condition";
import type { GcRules } from "./domain/rules";
import type { GcLease, GcMark, GcRun, GcRunCounts } from "./domain/run-records";

export interface StoredObject {
  key: string;
  size: number;
  /** S3's ETag, when the store gives one. */
  etag?: string;
}

export interface KeyDeleteFailure {
  key: string;
  code: string;
  message: string;
}

/**
 * deleteKeys stopped because `beforeSend` threw (`reason`, e.g. the sweep's check found a
 * revival): the keys in none of `failed`, `withheld` and `unsent` were deleted before it.
 */
export class KeysDeleteStoppedError extends Error {
  override readonly name = "KeysDeleteStoppedError";
  constructor(
    readonly reason: unknown,
    readonly partial: { failed: KeyDeleteFailure[]; withheld: string[]; unsent: string[] },
  ) {
    super((reason as Error)?.message ?? String(reason));
  }
}

/** A streamed upload: bytes go out in parts as they come; nothing is visible before close(). */
export interface ObjectUpload {
  write(chunk: Uint8Array | string): Promise<void>;
  /** Completes the object; its ETag, when the store gives one. */
  close(): Promise<string | undefined>;
  abort(): Promise<void>;
}

/** S3 as the GC steps use it: small objects whole, big ones and listings streamed. */
export interface GcObjectStore {
  put(bucket: string, key: string, body: string | Uint8Array, contentType?: string): Promise<void>;
  /** The object's bytes as UTF-8 text; undefined when it does not exist. */
  getText(bucket: string, key: string): Promise<string | undefined>;
  /** The object's text and ETag (for a conditional write after it); undefined when absent. */
  getVersioned(bucket: string, key: string): Promise<VersionedText | undefined>;
  /** Writes only if `condition` holds, else throws WriteConditionFailedError; the new ETag. */
  putIf(
    bucket: string,
    key: string,
    body: string,
    condition: WriteCondition,
    contentType?: string,
  ): Promise<string>;
  /**
   * The object's text line by line (without line breaks), streamed; undefined when absent.
   * With `ifMatch`, only the object of that ETag is read (WriteConditionFailedError else).
   */
  lines(
    bucket: string,
    key: string,
    opts?: { ifMatch?: string },
  ): Promise<AsyncIterable<string> | undefined>;
  /** Writes an object of any size with bounded memory (multipart above one part). */
  upload(bucket: string, key: string, contentType?: string): ObjectUpload;
  /** Every object under `prefix`, in key order, streamed. */
  list(bucket: string, prefix: string): AsyncIterable<StoredObject>;
  /**
   * Deletes keys (DeleteObjects, 1 000 a request, throttling retried). A key already gone
   * counts as deleted; what still fails is returned per key. `beforeSend` runs right before
   * every request, retries included, and returns the keys it may delete; the others are
   * returned as `withheld` (neither deleted nor failed). An error `beforeSend` throws ends the
   * call as a KeysDeleteStoppedError saying what the requests before it deleted.
   */
  deleteKeys(
    bucket: string,
    keys: readonly string[],
    opts?: {
      beforeSend?: (keys: string[]) => Promise<string[]>;
      /** How long one request may wait for its answer (then it is taken as lost and resent). */
      requestTimeoutMs?: number;
    },
  ): Promise<{ failed: KeyDeleteFailure[]; withheld?: string[] }>;
}

/** The lakeFS reads of GC (the repositories: is the storage namespace the repository's alone?). */
export type GcLakeFs = {
  listRepositories(opts?: ListOptions): AsyncIterable<Page<Repository>>;
} & Pick<
  LakeFsApi,
  | "listBranches"
  | "listTags"
  | "getCommit"
  | "logCommits"
  | "listObjectsPage"
  | "statObject"
  | "diffRefsPage"
  | "diffBranch"
>;

/** What createRun needs besides the run record. */
export interface GcRunStart {
  /** Epoch seconds of the start, and how long the lease lasts unless renewed. */
  nowSeconds: number;
  leaseSeconds: number;
  /** A marking run: its mark record (the mark id must be new). */
  mark?: Pick<GcMark, "markNow" | "rules" | "storageNamespace">;
  /** A sweep-only run: the mark it sweeps must be sweepable (checked again atomically). */
  sweepsMark?: boolean;
}

export type GcRunStartResult =
  | { created: true; run: GcRun; tookOverFrom?: GcLease }
  | { created: false; reason: "lease"; holder: GcLease | undefined }
  | { created: false; reason: "mark-id-taken" | "mark-not-sweepable" | "run-exists" };

export interface GcRunPage {
  runs: GcRun[];
  /** Pass as `after` to get the next (older) page. */
  nextAfter?: string;
}

/**
 * GC rules, run and mark records and the repository's lease (DynamoDB in
 * lambdas/gc/adapters/gc-store.ts). Every change that must not race is conditional.
 */
export interface GcStateStore {
  getRules(repository: string): Promise<GcRules | undefined>;
  putRules(repository: string, rules: GcRules, now: string): Promise<void>;
  /** Returns whether rules existed. */
  deleteRules(repository: string): Promise<boolean>;
  getMark(repository: string, markId: string): Promise<GcMark | undefined>;
  getLease(repository: string): Promise<GcLease | undefined>;
  /** Takes the lease, creates the run and its mark (or claims the mark it sweeps) at once. */
  createRun(run: GcRun, start: GcRunStart): Promise<GcRunStartResult>;
  recordSkippedRun(run: GcRun): Promise<void>;
  /** Throws LeaseLostError when another run took the lease. */
  renewLease(
    repository: string,
    runId: string,
    nowSeconds: number,
    leaseSeconds: number,
  ): Promise<void>;
  releaseLease(repository: string, runId: string): Promise<void>;
  endMark(
    repository: string,
    markId: string,
    runId: string,
    end: { partitions: number; markedAt: string },
  ): Promise<void>;
  /** The mark, claimed for this run's sweep; undefined when it may not be swept. */
  beginSweep(repository: string, markId: string, runId: string): Promise<GcMark | undefined>;
  /** Undefined: no such mark. `settleSeconds`: see restore-after-sweep.ts (default its timeout). */
  retireMark(
    repository: string,
    markId: string,
    reason: string,
    now: { iso: string; seconds: number },
    settleSeconds?: number,
  ): Promise<RetireOutcome | undefined>;
  getRun(repository: string, runId: string): Promise<GcRun | undefined>;
  listRuns(repository: string, opts: { limit: number; after?: string }): Promise<GcRunPage>;
  recordExecution(repository: string, runId: string, executionArn: string): Promise<void>;
  /** Ends a running run (its mark and lease follow); false when it was not running. */
  completeRun(
    repository: string,
    runId: string,
    end: { status: "succeeded" | "failed"; counts?: GcRunCounts; errorMessage?: string },
    now: string,
    opts?: { keepLease?: boolean },
  ): Promise<boolean>;
}

/** The run records the workflow steps read and end. */
export type GcRunRecords = Pick<
  GcStateStore,
  "completeRun" | "getRun" | "getMark" | "endMark" | "beginSweep" | "getRules"
>;

/**
 * A retire's outcome: the mark retired; refused while run `sweeping` sweeps it; refused while
 * a sweep that ended is `settling` (why, and until when).
 */
export type RetireOutcome = { retired: GcMark } | { sweeping: string } | { settling: string };

/** What a restore's copy plan changes in the records: it retires the mark (nothing else). */
export type GcMarkRetirer = Pick<GcStateStore, "retireMark" | "getMark">;

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
  /** Where the summary publishes the run's metrics (none when absent). */
  metrics?: MetricsPort;
}
