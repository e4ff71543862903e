// The logger of every Lakeport Lambda: Powertools for AWS Lambda's, one JSON line per entry
// with the level, the service (POWERTOOLS_SERVICE_NAME), the Lambda context (request id,
// cold start) and the keys a handler appends. LOG_LEVEL chooses the level (INFO when unset;
// the CDK function factory sets it).
import { Logger } from "@aws-lambda-powertools/logger";

/**
 * Fields of S3's SignatureDoesNotMatch answer, which the SDK copies onto its error and the
 * logger would write with every field of an error: the request's signature and what was signed.
 */
const SIGNATURE_FIELDS: ReadonlySet<string> = new Set([
  "SignatureProvided",
  "StringToSign",
  "StringToSignBytes",
  "CanonicalRequest",
  "CanonicalRequestBytes",
]);

/**
 * Takes those fields off an error and its causes: Lambda's Node.js runtime writes every field
 * of the error a handler throws into its "Invoke Error" line, outside this logger.
 */
export function dropSignatureFields(error: unknown): void {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    for (const key of SIGNATURE_FIELDS) delete (e as unknown as Record<string, unknown>)[key];
  }
}

export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || "lakeport",
  // Left out wherever they are in a line (an error, its cause, a logged object).
  jsonReplacerFn: (key: string, value: unknown) => (SIGNATURE_FIELDS.has(key) ? undefined : value),
});

/** What a line belongs to: the branch and export, or the repository and GC run. */
export interface LogKeys {
  repository?: string;
  branch?: string;
  exportId?: string;
  runId?: string;
  markId?: string;
}

/** Appends the keys that are known (strings only) to every following line of the invocation. */
export function appendLogKeys(keys: LogKeys): void {
  const known = Object.entries(keys).filter(([, v]) => typeof v === "string" && v !== "");
  if (known.length > 0) logger.appendKeys(Object.fromEntries(known));
}
