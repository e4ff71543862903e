// A GC backup and an export must not share a place: a full export (and `repair --full`)
// deletes whatever else is under its export path, and status files are written under a status
// path. A backup's location is therefore claimed where export configuration changes look
// (keys.gcBackupLocation), and checked against the export paths they claim; each side writes
// its claim, then checks the other's, so of two changes made at once one sees the other.
import { locationsOverlap, normalizeS3Location } from "../../shared/s3-naming";

/** A location a repository's GC backups were made to, kept until released. */
export interface BackupLocationClaim {
  repository: string;
  /** Normalized s3://bucket[/prefix]. */
  location: string;
  /** The mark of the last backup claimed there. */
  markId: string;
  claimedAt: string;
  /** Written by the claim that created the item: a withdrawal removes only its own. */
  claimToken: string;
}

/** The paths one branch's export configuration takes. */
export interface ExportPaths {
  repository: string;
  branch: string;
  exportPath: string;
  exportStatusPath?: string;
}

/** DynamoDB's limit on a sort key; a claim's is `${repository}#${location}` (keys.gcBackupLocation). */
const MAX_CLAIM_KEY_BYTES = 1024;

/**
 * Why `location` cannot be claimed for `repository`: its claim's key would be longer than
 * DynamoDB allows (a location may have a key prefix of up to 1022 bytes), or undefined.
 */
export function claimKeyProblem(repository: string, location: string): string | undefined {
  const loc = normalizeS3Location(location);
  const bytes = Buffer.byteLength(`${repository}#${loc}`);
  if (bytes <= MAX_CLAIM_KEY_BYTES) return undefined;
  const most = MAX_CLAIM_KEY_BYTES - Buffer.byteLength(`${repository}#`);
  return `${loc} is too long to be claimed for repository "${repository}" (a backup location claim's key is the repository and the location, at most ${MAX_CLAIM_KEY_BYTES} bytes: the location may be at most ${most} bytes, got ${Buffer.byteLength(loc)}): use a shorter one`;
}

/** Why `location` cannot hold a backup (it overlaps a branch's export or status path). */
export function exportPathOverlap(
  location: string,
  exports: Iterable<ExportPaths>,
): string | undefined {
  for (const c of exports) {
    for (const [what, path] of [
      ["export path", c.exportPath],
      ["status path", c.exportStatusPath],
    ] as const) {
      if (path && locationsOverlap(location, path)) {
        return `${normalizeS3Location(location)} overlaps the ${what} ${normalizeS3Location(path)} of lakefs://${c.repository}@${c.branch} (a full export deletes whatever else is under its export path): back up outside every export and status path`;
      }
    }
  }
  return undefined;
}

/** Why an export or status path cannot be set (it overlaps a claimed backup location). */
export function backupClaimOverlap(
  field: "exportPath" | "exportStatusPath",
  path: string,
  claims: Iterable<BackupLocationClaim>,
): string | undefined {
  for (const claim of claims) {
    if (!locationsOverlap(path, claim.location)) continue;
    const what = field === "exportPath" ? "export path" : "status path";
    return `${field}: ${normalizeS3Location(path)} overlaps the GC backup location ${claim.location} of repository "${claim.repository}" (mark ${claim.markId}), which a full export would delete (it deletes whatever else is under its export path, and writes status files under a status path): keep the ${what} outside every GC backup location, or release that location (DELETE /repositories/${claim.repository}/gc/backup-locations?location=...) once its backup is no longer needed`;
  }
  return undefined;
}
