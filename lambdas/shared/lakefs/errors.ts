// Typed errors of the lakeFS client. Every HTTP error carries the status and lakeFS's own
// message (the `message` field of its error body), so callers can branch on the class and
// logs keep what lakeFS said.
import { networkErrorCode } from "./retryable";

export class LakeFsError extends Error {
  override name = "LakeFsError";
  constructor(
    message: string,
    /** HTTP status, 0 when no response was received. */
    readonly status: number,
    /** lakeFS's `message` (or the raw body when it was not JSON). */
    readonly lakeFsMessage: string,
  ) {
    super(message);
  }
}

export class LakeFsValidationError extends LakeFsError {
  override name = "LakeFsValidationError";
}
export class LakeFsUnauthorizedError extends LakeFsError {
  override name = "LakeFsUnauthorizedError";
}
export class LakeFsForbiddenError extends LakeFsError {
  override name = "LakeFsForbiddenError";
}
export class LakeFsNotFoundError extends LakeFsError {
  override name = "LakeFsNotFoundError";
}
export class LakeFsConflictError extends LakeFsError {
  override name = "LakeFsConflictError";
}
export class LakeFsGoneError extends LakeFsError {
  override name = "LakeFsGoneError";
}
export class LakeFsPreconditionFailedError extends LakeFsError {
  override name = "LakeFsPreconditionFailedError";
}
export class LakeFsTooManyRequestsError extends LakeFsError {
  override name = "LakeFsTooManyRequestsError";
}
export class LakeFsServerError extends LakeFsError {
  override name = "LakeFsServerError";
}
/** No usable response: connection refused/reset or timeout, after all retries. */
export class LakeFsNetworkError extends LakeFsError {
  override name = "LakeFsNetworkError";
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message, 0, "");
  }
}
/** lakeFS answered 2xx with a body that does not fit the API description. */
export class LakeFsSchemaError extends LakeFsError {
  override name = "LakeFsSchemaError";
  constructor(
    message: string,
    /** e.g. `results[3].physical_address` */
    readonly field: string,
    status: number,
  ) {
    super(message, status, "");
  }
}

/** The typed error for a non-2xx lakeFS answer. */
export function lakeFsErrorFor(
  status: number,
  lakeFsMessage: string,
  operation: string,
): LakeFsError {
  const text = `lakeFS ${operation}: ${status} ${lakeFsMessage}`.trim();
  if (status === 400 || status === 422)
    return new LakeFsValidationError(text, status, lakeFsMessage);
  if (status === 401) return new LakeFsUnauthorizedError(text, status, lakeFsMessage);
  if (status === 403) return new LakeFsForbiddenError(text, status, lakeFsMessage);
  if (status === 404) return new LakeFsNotFoundError(text, status, lakeFsMessage);
  if (status === 409) return new LakeFsConflictError(text, status, lakeFsMessage);
  if (status === 410) return new LakeFsGoneError(text, status, lakeFsMessage);
  if (status === 412) return new LakeFsPreconditionFailedError(text, status, lakeFsMessage);
  if (status === 429) return new LakeFsTooManyRequestsError(text, status, lakeFsMessage);
  if (status >= 500) return new LakeFsServerError(text, status, lakeFsMessage);
  return new LakeFsError(text, status, lakeFsMessage);
}

export function describeNetworkError(err: unknown): string {
  const code = networkErrorCode(err);
  if (code === "TimeoutError" || code === "AbortError") return "request timed out";
  return `connection failed (${code ?? (err instanceof Error ? err.message : String(err))})`;
}

/** lakeFS's `message` from an error body, or the start of the raw text when it is not JSON. */
export function errorMessageOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON: keep the raw text
  }
  return text.trim().slice(0, 500);
}
