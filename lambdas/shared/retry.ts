// Retry with exponential backoff and full jitter, for S3 (and other AWS) calls that can be
// throttled and for lakeFS. Each retry is logged at WARN; the clock and randomness are
// injectable.
import { logger } from "./logger";

export interface RetryOptions {
  /** Attempts in total, the first one included. Default 8. */
  maxAttempts?: number;
  /** Backoff base in ms. Default 100. */
  baseDelayMs?: number;
  /** Cap of one wait in ms. Default 10 000. */
  maxDelayMs?: number;
  /** Which errors are worth another attempt. Default: isRetryableAwsError. */
  isRetryable?: (error: unknown) => boolean;
  /**
   * A wait the failed attempt asked for (an HTTP Retry-After), taken instead of the backoff
   * and capped at maxDelayMs; undefined: the backoff.
   */
  requestedDelayMs?: (error: unknown) => number | undefined;
  /** Called before each wait (logging, counting). */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  sleep?: (ms: number) => Promise<void>;
  /** Returns [0, 1). */
  random?: () => number;
}

export const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]; `attempt` counts from 1. */
export function fullJitterDelayMs(
  attempt: number,
  opts: { baseDelayMs: number; maxDelayMs: number; random: () => number },
): number {
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(opts.random() * ceiling);
}

/** Error codes S3 and other AWS services use for throttling or a transient fault. */
export const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "ProvisionedThroughputExceededException",
  "BandwidthLimitExceeded",
  "PriorRequestNotComplete",
  "RequestTimeout",
  "RequestTimeoutException",
  "InternalError",
  "InternalFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "TimeoutError",
  "NetworkingError",
  // Node socket errors
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

export const RETRYABLE_HTTP_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: unknown;
  cause?: unknown;
}

/** The error code of an AWS SDK error (its name), or of a Node socket error (its code). */
export function errorCode(error: unknown): string {
  if (typeof error !== "object" || error === null) return "Unknown";
  const e = error as ErrorShape;
  for (const c of [e.Code, e.code, e.name]) {
    if (typeof c === "string" && c !== "" && c !== "Error") return c;
  }
  return "Unknown";
}

export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const status = (error as ErrorShape).$metadata?.httpStatusCode;
  return typeof status === "number" ? status : undefined;
}

/** Throttling and transient S3/AWS errors: by code, by HTTP status, or by the SDK's own flag. */
export function isRetryableAwsError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as ErrorShape;
  for (const c of [e.Code, e.code, e.name]) {
    if (typeof c === "string" && RETRYABLE_ERROR_CODES.has(c)) return true;
  }
  const status = httpStatusOf(error);
  if (status !== undefined && RETRYABLE_HTTP_STATUSES.has(status)) return true;
  if (e.$retryable !== undefined && e.$retryable !== null && e.$retryable !== false) return true;
  // Socket errors wrapped by the HTTP handler
  if (e.cause !== undefined && e.cause !== error) return isRetryableAwsError(e.cause);
  return false;
}

/** Runs `fn` until it succeeds, a non-retryable error occurs, or attempts run out. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 8);
  const baseDelayMs = opts.baseDelayMs ?? 100;
  const maxDelayMs = opts.maxDelayMs ?? 10_000;
  const isRetryable = opts.isRetryable ?? isRetryableAwsError;
  const sleep = opts.sleep ?? defaultSleep;
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= maxAttempts || !isRetryable(error)) throw error;
      const requested = opts.requestedDelayMs?.(error);
      const delayMs =
        requested !== undefined
          ? Math.min(requested, maxDelayMs)
          : fullJitterDelayMs(attempt, { baseDelayMs, maxDelayMs, random });
      logRetry(attempt, delayMs, error);
      opts.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}

/** One WARN line per retry: which attempt failed, why, and how long until the next. */
export function logRetry(attempt: number, delayMs: number, error: unknown): void {
  logger.warn("retrying after a transient error", {
    attempt,
    delayMs,
    errorCode: errorCode(error),
    errorMessage: (error as Error)?.message ?? String(error),
  });
}
