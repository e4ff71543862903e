// GC backup and restore copy what a mark's text list names, and a restore reads that list back
// from the storage namespace, where anyone with write access may have edited it. Lakeport
// writes keys relative to the namespace, one a LF-terminated line, never under `_lakefs/`
// (namespaceKeyer). A line that is not such a key is refused, named, and not copied: a `..`
// (or empty) segment reaches outside the namespace or the location on stores and proxies that resolve
// it (the embedded S3 does), a `_lakefs/` key would overwrite lakeFS's own metadata, a
// trailing CR (a list saved with CRLF) or a URI names no marked object.
import type { CopyOperation, OperationFailure } from "../../shared/s3-copy/types";
import { joinKey } from "../../shared/s3-uri";
import { BACKUP_ABSENT_DIR } from "./backup-absent";
import { BACKUP_RECORD_NAME } from "./backup-record";
import { hasDotOrEmptySegment, LAKEFS_METADATA_PREFIX } from "./partition";

/** Why a line of a mark's text list is not a key GC may copy, or undefined. */
export function markedAddressProblem(line: string): string | undefined {
  if (line.includes("\r")) {
    return "contains a carriage return (a list saved with CRLF line ends?)";
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(line)) {
    return "is a URI: a mark lists keys relative to the storage namespace";
  }
  // The mark's own rule (namespaceKeyer): such a line was never written by a mark.
  if (hasDotOrEmptySegment(line)) {
    return "has a ., .. or empty path segment: it could name a key outside the namespace or the location, or another key than the line's (GC never marks one)";
  }
  if (line.startsWith(LAKEFS_METADATA_PREFIX)) {
    return "is under _lakefs/, where lakeFS keeps its own metadata (GC never marks it)";
  }
  if (line === BACKUP_RECORD_NAME) {
    return `is ${BACKUP_RECORD_NAME}, the key of the backup's own record in the location`;
  }
  if (line.startsWith(`${BACKUP_ABSENT_DIR}/`)) {
    return `is under ${BACKUP_ABSENT_DIR}/, where the backup keeps its lists of absent objects in the location`;
  }
  return undefined;
}

/** Where a mark's objects are copied between: the namespace and the location outside it. */
export interface MarkCopyPlaces {
  direction: "backup" | "restore";
  namespace: { bucket: string; keyPrefix: string };
  location: { bucket: string; prefix: string };
}

/** The copy of one line of the mark's list, or its failure (`InvalidAddress`) when refused. */
export function markCopyOperation(
  line: string,
  places: MarkCopyPlaces,
): CopyOperation | OperationFailure {
  const problem = markedAddressProblem(line);
  if (problem) {
    return {
      path: line,
      code: "InvalidAddress",
      message: `mark list line ${JSON.stringify(line)} ${problem}: not copied`,
    };
  }
  const inside = { bucket: places.namespace.bucket, key: `${places.namespace.keyPrefix}${line}` };
  const outside = { bucket: places.location.bucket, key: joinKey(places.location.prefix, line) };
  const [from, to] = places.direction === "backup" ? [inside, outside] : [outside, inside];
  return {
    kind: "copy",
    id: line,
    sourceBucket: from.bucket,
    sourceKey: from.key,
    destBucket: to.bucket,
    destKey: to.key,
    keepSourceHeaders: true,
    // The namespace may hold an object again (restored already, never swept, rewritten):
    // a restore brings back what is missing, it never overwrites.
    keepExistingDestination: places.direction === "restore",
  };
}
