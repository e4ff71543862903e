// The lakeFS client package: one import for handlers.
export * from "./client";
export * from "./credentials";
export * from "./errors";
export * from "./factory";
export type { RetryOptions } from "./retryable";
export * from "./types";
