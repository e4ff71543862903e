// Retry policy of the lakeFS client: exponential backoff with full jitter, capped, and
// lakeFS's (or a proxy's) Retry-After taking precedence. Pure: clock and randomness are inputs.

export interface RetryOptions {
  /** Attempts in total, first one included. Default 5. */
  maxAttempts?: number;
  /** Backoff base in ms. Default 100. */
  baseDelayMs?: number;
  /** Cap of one wait in ms (Retry-After included). Default 20 000. */
  maxDelayMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Injectable for tests; returns [0, 1). */
  random?: () => number;
}

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]. `attempt` counts from 1. */
export function backoffDelayMs(
  attempt: number,
  opts: { baseDelayMs: number; maxDelayMs: number; random: () => number },
): number {
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(opts.random() * ceiling);
}

/** Retry-After as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfterMs(
  value: string | null | undefined,
  nowMs: number,
): number | undefined {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

export const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
