// The form of a GC backup or restore location (--to, --from), checked before any request: a
// bad value is a usage error (exit code 2) even when the API cannot be reached. Kept apart from
// gc-backup.ts, which loads the S3 SDK.
import { writableLocationProblem } from "../lambdas/shared/s3-naming";
import { InvalidS3UriError, parseS3Uri } from "../lambdas/shared/s3-uri";
import { UsageError } from "./endpoint";

export function checkLocationForm(
  external: string,
  flag: string,
): { bucket: string; prefix: string } {
  let loc: { bucket: string; prefix: string };
  try {
    loc = parseS3Uri(external, flag);
  } catch (err) {
    if (err instanceof InvalidS3UriError) throw new UsageError(err.message);
    throw err;
  }
  const problem = writableLocationProblem(external);
  if (problem) throw new UsageError(`${flag}: ${problem}`);
  return loc;
}
