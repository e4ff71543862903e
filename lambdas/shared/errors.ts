// Typed errors of the use cases, by what went wrong (not how a caller reports it): the API
// maps each class to its HTTP status in lambdas/api/http.ts.

/** An error the use cases raise on purpose; anything else is unexpected. */
export abstract class LakeportError extends Error {}

/** Bad input: a field is missing, malformed or not allowed. */
export class ValidationError extends LakeportError {
  override readonly name = "ValidationError";
}

export class NotFoundError extends LakeportError {
  override readonly name = "NotFoundError";
}

/** The request is well formed but the current state refuses it. */
export class ConflictError extends LakeportError {
  override readonly name = "ConflictError";
}

/** A backing service (Step Functions, EventBridge) failed; nothing was left half done. */
export class UpstreamError extends LakeportError {
  override readonly name = "UpstreamError";
}
