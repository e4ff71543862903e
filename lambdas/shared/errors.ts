// Typed errors of the configuration/state use cases. Each carries the HTTP status the API
// answers with, so handlers map them without knowing every case.

export abstract class LakeportError extends Error {
  abstract readonly status: number;
}

/** Bad input: a field is missing, malformed or not allowed. */
export class ValidationError extends LakeportError {
  override readonly name = "ValidationError";
  readonly status = 400;
}

export class NotFoundError extends LakeportError {
  override readonly name = "NotFoundError";
  readonly status = 404;
}

/** The request is well formed but the current state refuses it. */
export class ConflictError extends LakeportError {
  override readonly name = "ConflictError";
  readonly status = 409;
}

/** A backing service (Step Functions, EventBridge) failed; nothing was left half done. */
export class UpstreamError extends LakeportError {
  override readonly name = "UpstreamError";
  readonly status = 502;
}
