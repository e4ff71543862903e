// GC backup and restore copy the objects a mark lists. A mark lists every address that only
// expired commits reference, and commits are never removed, so the marks after a first sweep
// list again what that sweep deleted: a copy whose source is gone is an absent object (nothing
// to back up, or nothing was backed up), not a failure, as `rclone --files-from` skips names
// the source lacks.

/** S3 error codes of a source object that does not exist (HEAD answers a bare 404). */
const ABSENT_CODES = new Set(["NoSuchKey", "NotFound"]);

export function isAbsentSource(failure: { code: string }): boolean {
  return ABSENT_CODES.has(failure.code);
}
