// Ports of the export use cases: the work bucket (and status and export paths) as a plain
// object store, the configurations and states of the branches, and the executions. The copy
// engine itself talks to S3 directly (lambdas/shared/s3-copy).
import type { VersionedText, WriteCondition } from "../shared/write-condition";
import type { ExportConfig } from "./domain/export-config";
import type { ExportState } from "./domain/export-state";
import type { PlanCounts } from "./domain/plan";
import type { CopiedCounts, ExportProgress } from "./domain/progress";
import type { ExecutionFacts } from "./domain/stuck";
import type { ExportOutcome } from "./domain/transitions";

/** An object written piece by piece with bounded memory; it appears only once closed. */
export interface ExportObjectUpload {
  write(chunk: string): Promise<void>;
  /** Completes the object (the store may answer its ETag, which the export does not use). */
  close(): Promise<unknown>;
  abort(): Promise<void>;
}

export interface ExportObjectStore {
  put(bucket: string, key: string, body: string | Uint8Array, contentType?: string): Promise<void>;
  /** Deletes the object; nothing happens when it does not exist. */
  delete(bucket: string, key: string): Promise<void>;
  /** undefined when the object does not exist. */
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
  /** The object's text line by line (without line breaks), streamed; undefined when absent. */
  lines(bucket: string, key: string): Promise<AsyncIterable<string> | undefined>;
  /** A streamed write of any size (multipart above one part). */
  upload(bucket: string, key: string, contentType?: string): ExportObjectUpload;
  /** Keys under `prefix`, in S3 order, page by page. */
  listKeys(bucket: string, prefix: string): AsyncIterable<string>;
  /** Objects under `prefix` (after `startAfter`), with ETag and size, in S3 order. */
  list(
    bucket: string,
    prefix: string,
    startAfter?: string,
  ): AsyncIterable<{ key: string; size: number; etag?: string }>;
}

/** Reads one execution; undefined when Step Functions has no execution of that ARN. */
export interface ExecutionLookup {
  lookup(executionArn: string): Promise<ExecutionFacts | undefined>;
}

export interface CompleteExportInput {
  repository: string;
  branch: string;
  exportId: string;
  /** The commit the export exported. */
  commitId: string;
  outcome: ExportOutcome;
}

export type CompleteExportResult =
  | { applied: true; state: ExportState; followUp: boolean }
  | { applied: false; reason: string };

export interface BranchExportState {
  repository: string;
  branch: string;
  state: ExportState;
}

/**
 * Export configurations and states per branch (DynamoDB in
 * lambdas/export/adapters/export-store.ts). State changes are conditional: false (or not
 * applied) when another writer got there first.
 */
export interface ExportStateStore {
  getConfig(repository: string, branch: string): Promise<ExportConfig | undefined>;
  putConfig(config: ExportConfig): Promise<void>;
  /**
   * Deletes the configuration unless the branch's export may still write to its paths at `now`
   * (lambdas/export/domain/path-hold.ts).
   */
  deleteConfig(
    repository: string,
    branch: string,
    now: string,
  ): Promise<"deleted" | "missing" | "busy">;
  /** Every configuration, a page at a time. */
  listConfigs(pageSize?: number): AsyncIterable<ExportConfig[]>;
  /** Every state, a page at a time (eventually consistent: read again with getState to act). */
  listStates(pageSize?: number): AsyncIterable<BranchExportState[]>;
  getState(repository: string, branch: string): Promise<ExportState | undefined>;
  /**
   * Writes `next` if the stored state still has `expectedVersion` (undefined: none yet) and,
   * with `decidedWith`, the stored configuration is still that one.
   */
  compareAndSetState(
    repository: string,
    branch: string,
    expectedVersion: number | undefined,
    next: ExportState,
    decidedWith?: ExportConfig,
  ): Promise<boolean>;
  /**
   * Writes `next`, an in-progress state of the same running export, if the stored state still
   * has `expectedVersion` and is that export in progress.
   */
  updateRunningState(
    repository: string,
    branch: string,
    expectedVersion: number,
    next: ExportState,
  ): Promise<boolean>;
  /**
   * Records `commitId` as wanted once the running export `exportId` ends; `explicit` when a
   * person asked (ExportState.pendingExplicit, which stays set until a start takes the head).
   */
  requestFollowUp(
    repository: string,
    branch: string,
    exportId: string,
    commitId: string,
    now: string,
    explicit?: boolean,
  ): Promise<boolean>;
  recordExecution(
    repository: string,
    branch: string,
    exportId: string,
    executionArn: string,
    now: string,
  ): Promise<boolean>;
  /** StartExecution failed for `exportId`: the branch becomes export-failed with the reason. */
  markStartFailed(
    repository: string,
    branch: string,
    exportId: string,
    reason: string,
    now: string,
  ): Promise<boolean>;
  /** The outcome of the running export, once its execution has stopped. */
  completeExport(input: CompleteExportInput, now: string): Promise<CompleteExportResult>;
}

/**
 * The counts of an export while it runs (DynamoDB in
 * lambdas/export/adapters/progress-store.ts): the plan step records its plan, each copy batch
 * adds the result of each shard it completes, the status step records the final totals.
 */
export interface ExportProgressStore {
  recordPlan(exportId: string, planned: PlanCounts, planDone: boolean, now: Date): Promise<void>;
  addCopied(exportId: string, counts: CopiedCounts, now: Date): Promise<void>;
  /** The status step's totals (one per shard result, as in the status document), final. */
  recordFinal(exportId: string, counts: CopiedCounts, now: Date): Promise<void>;
  getProgress(exportId: string): Promise<ExportProgress | undefined>;
}
