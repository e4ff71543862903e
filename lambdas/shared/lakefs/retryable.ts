// Which lakeFS answers are worth another attempt, and how long lakeFS (or a proxy) asks to
// wait (Retry-After). The attempts and waits themselves are shared/retry.ts's.

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/**
 * Throttling and gateway errors are retried for every method. A 500 is often transient too
 * (a store hiccup behind lakeFS), but lakeFS may have done the work before failing, so it is
 * retried only on a GET: a commit or merge must not run twice.
 */
export function isRetryableStatus(status: number, method: string): boolean {
  return RETRYABLE_STATUSES.has(status) || (status === 500 && method === "GET");
}

const NETWORK_ERROR_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

/**
 * Timeouts and connection failures are retried. A POST is retried only when it surely did
 * not reach lakeFS (connection refused): a commit or merge must not run twice.
 */
export function isRetryableNetworkError(err: unknown, method: string): boolean {
  const code = networkErrorCode(err);
  if (method === "POST") return code === "ECONNREFUSED";
  if (code === "TimeoutError" || code === "AbortError") return true;
  return code !== undefined && NETWORK_ERROR_CODES.has(code);
}

export function networkErrorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current; depth++) {
    const e = current as { code?: unknown; name?: unknown; cause?: unknown };
    if (typeof e.code === "string") return e.code;
    if (e.name === "TimeoutError" || e.name === "AbortError") return e.name;
    current = e.cause;
  }
  // undici's "fetch failed"/"terminated" without a code: a broken connection.
  if (err instanceof TypeError) return "UND_ERR_SOCKET";
  return undefined;
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
