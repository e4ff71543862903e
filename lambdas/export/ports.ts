import type { ExecutionFacts } from "./domain/stuck";

// Ports of the export workflow steps: the work bucket (and status and export paths) as a plain
// object store. The copy engine itself talks to S3 directly (lambdas/export/copy).

export interface ExportObjectStore {
  put(bucket: string, key: string, body: string, contentType?: string): Promise<void>;
  /** undefined when the object does not exist. */
  getText(bucket: string, key: string): Promise<string | undefined>;
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
