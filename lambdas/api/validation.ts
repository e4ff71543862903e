// Checks beyond the body schemas that need lakeFS, the deployment's settings or a regex engine.
import {
  compileDirectorySelector,
  InvalidPrefixRegexError,
  MAX_SELECTOR_INSTRUCTIONS,
  SUCCESS_MARKER_NAME,
} from "../export/domain/markers";
import { longestStatusKeyBytes, MAX_S3_KEY_BYTES } from "../export/domain/status";
import { type BackupLocationClaim, backupClaimOverlap } from "../gc/domain/backup-location-claims";
import { ValidationError } from "../shared/errors";
import type { Page, Repository } from "../shared/lakefs/types";
import { bucketOfLocation, locationsOverlap, normalizeS3Location } from "../shared/s3-naming";
import { joinKey, parseS3Uri } from "../shared/s3-uri";

/**
 * Compiles the marker expressions as the export will, within the instruction budget (the
 * export runs them on every directory); the error names the bad one.
 */
export function compileRegexps(patterns: readonly string[]): void {
  try {
    compileDirectorySelector(patterns, { maxInstructions: MAX_SELECTOR_INSTRUCTIONS });
  } catch (err) {
    if (err instanceof InvalidPrefixRegexError) throw new ValidationError(err.message);
    throw err;
  }
}

/**
 * The buckets export may write to: the deployment's `exportBuckets` setting (the API function's
 * EXPORT_BUCKETS), or "any" where no list applies (`*`, or a caller without the setting).
 */
export type ExportBucketRule = "any" | readonly string[];

/** EXPORT_BUCKETS: comma-separated bucket names, `*` (or unset) for any bucket. */
export function exportBucketRuleOf(value: string | undefined): ExportBucketRule {
  const v = value?.trim() ?? "";
  if (v === "" || v === "*") return "any";
  return v
    .split(",")
    .map((b) => b.trim())
    .filter(Boolean);
}

/** The bucket of `path` must be one the deployment may write to. */
export function checkExportBucket(field: string, path: string, rule: ExportBucketRule): void {
  if (rule === "any") return;
  const bucket = bucketOfLocation(path);
  if (rule.includes(bucket)) return;
  throw new ValidationError(
    `${field}: bucket "${bucket}" is not in this deployment's exportBuckets setting (${rule.join(", ") || "none"}); add it there (cdk deploy -c exportBuckets=... or LAKEPORT_EXPORT_BUCKETS) and deploy again`,
  );
}

/**
 * Lakeport's own work bucket (WORK_BUCKET: plans, shards, manifests in the making, GC reports)
 * is no export target: a full export deletes whatever else is under its path, and the bucket's
 * lifecycle rules expire what is in it.
 */
export function checkNotWorkBucket(field: string, path: string, workBucket: string | undefined) {
  if (workBucket === undefined || bucketOfLocation(path) !== workBucket) return;
  throw new ValidationError(
    `${field}: bucket "${workBucket}" is Lakeport's own work bucket (its exports' and GC runs' working files, expired by its lifecycle rules): choose another bucket`,
  );
}

/** The status files must not land inside the export path (which mirrors the commit exactly). */
export function checkStatusOutsideExport(exportPath: string, statusPath: string | undefined): void {
  if (statusPath === undefined || !locationsOverlap(exportPath, statusPath)) return;
  throw new ValidationError(
    `exportStatusPath: ${normalizeS3Location(statusPath)} overlaps exportPath ${normalizeS3Location(exportPath)} (the export path holds exactly the exported commit)`,
  );
}

/**
 * A new export path must not overlap the previous one: the old export path is left as it is,
 * and the full export to a path around it would delete it (one inside it writes into it).
 */
export function checkOutsidePreviousExport(previousExportPath: string, exportPath: string): void {
  if (previousExportPath === exportPath || !locationsOverlap(previousExportPath, exportPath))
    return;
  throw new ValidationError(
    `exportPath: ${normalizeS3Location(exportPath)} overlaps the previous export path ${normalizeS3Location(previousExportPath)}, which is left as it is (a full export deletes whatever else is under its export path); choose a path outside it, or delete the configuration first`,
  );
}

/** The status path may not overlap a previous export path either: status files would land in it. */
export function checkStatusOutsidePreviousExport(
  previousExportPath: string,
  statusPath: string | undefined,
): void {
  if (statusPath === undefined || !locationsOverlap(previousExportPath, statusPath)) return;
  throw new ValidationError(
    `exportStatusPath: ${normalizeS3Location(statusPath)} overlaps the previous export path ${normalizeS3Location(previousExportPath)}, which is left as it is (status files would be written into it); choose a status path outside it, or delete the configuration first`,
  );
}

/**
 * Export locations may not overlap the storage namespace of any repository the lakeFS server
 * knows (GC deletes there, and another repository's data must never be overwritten). The
 * repositories are read page by page.
 */
export async function checkOutsideNamespaces(
  locations: readonly { field: string; path: string }[],
  repositories: AsyncIterable<Page<Repository>>,
): Promise<void> {
  for await (const page of repositories) {
    for (const repo of page.results) {
      const ns = repo.storage_namespace;
      if (!ns.startsWith("s3://")) continue;
      for (const { field, path } of locations) {
        if (locationsOverlap(path, ns)) {
          throw new ValidationError(
            `${field}: ${normalizeS3Location(path)} overlaps the storage namespace ${normalizeS3Location(ns)} of repository "${repo.id}"`,
          );
        }
      }
    }
  }
}

/**
 * An export path mirrors its commit exactly (full exports delete whatever else is there), so
 * it may not overlap another branch's export path or status path, nor hold another branch's
 * export path inside a status path. Configurations are read page by page.
 */
export async function checkOutsideOtherExports(
  own: { repository: string; branch: string; exportPath: string; exportStatusPath?: string },
  configs: AsyncIterable<
    { repository: string; branch: string; exportPath: string; exportStatusPath?: string }[]
  >,
): Promise<void> {
  for await (const page of configs) {
    for (const other of page) {
      if (other.repository === own.repository && other.branch === own.branch) continue;
      const who = `lakefs://${other.repository}@${other.branch}`;
      const clash = (field: string, path: string, what: string, theirs: string) => {
        if (locationsOverlap(path, theirs)) {
          throw new ValidationError(
            `${field}: ${normalizeS3Location(path)} overlaps the ${what} ${normalizeS3Location(theirs)} of ${who} (an export path holds exactly its commit)`,
          );
        }
      };
      clash("exportPath", own.exportPath, "export path", other.exportPath);
      if (other.exportStatusPath) {
        clash("exportPath", own.exportPath, "status path", other.exportStatusPath);
      }
      if (own.exportStatusPath) {
        clash("exportStatusPath", own.exportStatusPath, "export path", other.exportPath);
      }
    }
  }
}

/**
 * A GC backup location claimed by any repository (keys.gcBackupLocation) must stay outside an
 * export path, whose full export deletes whatever else is under it, and a status path.
 */
export async function checkOutsideBackupLocations(
  own: { exportPath: string; exportStatusPath?: string },
  claims: AsyncIterable<BackupLocationClaim[]>,
): Promise<void> {
  for await (const page of claims) {
    const why =
      backupClaimOverlap("exportPath", own.exportPath, page) ??
      (own.exportStatusPath
        ? backupClaimOverlap("exportStatusPath", own.exportStatusPath, page)
        : undefined);
    if (why) throw new ValidationError(why);
  }
}

/**
 * Keys that can never be written make every export of the branch fail: the status files
 * (`<prefix>/<repo>-<branch>-<commit>...`, up to some 130 bytes past the prefix) and, when a
 * regex selects the export root, its success marker must fit S3's 1 024 bytes.
 */
export function checkKeysFit(
  target: { repository: string; branch: string },
  exportPath: string,
  statusPath: string | undefined,
  regexps: readonly string[],
): void {
  if (statusPath !== undefined) {
    const { prefix } = parseS3Uri(statusPath, "exportStatusPath");
    const bytes = longestStatusKeyBytes(prefix, target.repository, target.branch);
    if (bytes > MAX_S3_KEY_BYTES) {
      throw new ValidationError(
        `exportStatusPath: the status files of lakefs://${target.repository}@${target.branch} would have keys of up to ${bytes} bytes under this prefix (S3 keys are at most ${MAX_S3_KEY_BYTES}): use a prefix at least ${bytes - MAX_S3_KEY_BYTES} bytes shorter`,
      );
    }
  }
  if (regexps.length > 0 && compileDirectorySelector(regexps).isSelected("")) {
    const { prefix } = parseS3Uri(exportPath, "exportPath");
    const bytes = utf8Bytes(joinKey(prefix, SUCCESS_MARKER_NAME));
    if (bytes > MAX_S3_KEY_BYTES) {
      throw new ValidationError(
        `exportPath: a lastKeysInPrefixRegexp matches the empty string, so the export root gets a success marker, whose key would be ${bytes} bytes (S3 keys are at most ${MAX_S3_KEY_BYTES}): use a shorter prefix or a regex that does not select the root`,
      );
    }
  }
}

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;
