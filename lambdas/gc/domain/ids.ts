// GC run and mark ids. They go into S3 keys (`run_id=`, `mark_id=`), work-bucket paths and
// Step Functions execution names, so they keep to a safe alphabet. Run ids sort by start
// time: the store lists runs newest first by id.
import { createHash } from "node:crypto";
import { ValidationError } from "../../shared/errors";

export const GC_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** GC_ID_PATTERN in words, for error messages. */
export const GC_ID_RULE = "1 to 64 characters of A-Z a-z 0-9 - _";

export function validateMarkId(markId: unknown): string {
  return validateId("mark_id", markId);
}

export function validateRunId(runId: unknown): string {
  return validateId("run_id", runId);
}

function validateId(field: string, value: unknown): string {
  if (typeof value !== "string" || !GC_ID_PATTERN.test(value)) {
    throw new ValidationError(`${field}: must be ${GC_ID_RULE} (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** A mark id like lakeFS's (a UUID) when the user chose none. */
export function newMarkId(random: () => string = () => globalThis.crypto.randomUUID()): string {
  return validateMarkId(random());
}

/** `20261123T004755123Z-<10 hex>`: the start time to the millisecond, then randomness. */
export function newRunId(
  now: Date,
  random: () => string = () => globalThis.crypto.randomUUID().replace(/-/g, "").slice(0, 10),
): string {
  return validateRunId(`${now.toISOString().replace(/[-:.]/g, "")}-${random()}`);
}

/** Execution names are per state machine: the run id qualified with the repository. */
export function gcExecutionName(repository: string, runId: string): string {
  const digest = createHash("sha256").update(repository).digest("hex").slice(0, 8);
  return `${repository.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 40)}-${digest}-${runId}`;
}
