// The S3 copy/delete engine: server-side copies (multipart above the threshold), batched
// deletes and empty objects, with bounded concurrency and throttling retried. Failures are
// reported per operation.
export * from "./copy-object";
export * from "./delete-objects";
export * from "./run-copy-batch";
export * from "./types";
export * from "./write-empty-objects";
