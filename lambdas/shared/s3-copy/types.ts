// Operations of the S3 copy/delete engine (export, GC backup and restore), and what a batch
// reports. Failures are data, never exceptions for the whole batch.

export interface CopyOperation {
  kind: "copy";
  /** Reported back in failures (the lakeFS path for export). */
  id: string;
  sourceBucket: string;
  sourceKey: string;
  destBucket: string;
  destKey: string;
  /** Bytes of the source; HEADed when unknown. */
  size?: number;
  contentType?: string;
  /** User metadata (without the `x-amz-meta-` prefix; a prefix is stripped). */
  metadata?: Record<string, string>;
  /**
   * The destination keeps the source's own headers (content type, encoding, cache control,
   * disposition, language, expiry, user metadata) instead of `contentType` and `metadata`: a
   * GC backup and restore bring an object back as it was.
   */
  keepSourceHeaders?: boolean;
  /**
   * An existing destination is left as it is: the source's object (same size, and same ETag
   * unless either is a multipart ETag) counts as present, another one fails the operation
   * (`DestinationDiffers`). A GC restore never overwrites what the namespace holds again.
   */
  keepExistingDestination?: boolean;
}

export interface DeleteOperation {
  kind: "delete";
  id: string;
  bucket: string;
  key: string;
}

export type BatchOperation = CopyOperation | DeleteOperation;

export interface OperationFailure {
  /** The operation's id (lakeFS path for export). */
  path: string;
  /** S3 error code (AccessDenied, NoSuchKey, SlowDown...) or a socket error code. */
  code: string;
  message: string;
}

export interface CopyBatchResult {
  succeeded: number;
  copied: number;
  deleted: number;
  /** Bytes of the objects copied. */
  copiedBytes: number;
  /** Copies not made: the destination already held the source's object (keepExistingDestination). */
  present: number;
  failed: OperationFailure[];
}
