// A GC backup leaves a record beside the objects it copies: which mark of which repository and
// namespace the location holds, whether the backup completed, and its counts. A restore counts
// a listed object that the location lacks as absent (swept before the backup), so without the
// record a restore from another mark's backup, from a backup that stopped halfway or from one
// that lost objects since would bring back part of the mark and still succeed. With it:
// - a backup refuses a location holding another mark's backup (the two would mix);
// - a restore refuses a record of another repository, mark or namespace, and (unless told to
//   accept it) a backup that did not complete;
// - a restore that finds fewer of the mark's objects than its complete backup saved fails,
//   naming how many are missing.
// A location without a record (a backup made before records, a copy made by hand) is restored
// as before, with a warning.

import { BACKUP_ABSENT_DIR } from "./backup-absent";

/** The record's key under the location: never a key GC copies (see copy-address.ts). */
export const BACKUP_RECORD_NAME = "_lakeport_backup.json";

export type BackupState = "in-progress" | "complete" | "failed";

/** What a backup found, copied and could not copy, by object. */
export interface BackupCounts {
  /** Lines of the mark's list. */
  objects: number;
  /** Objects the location holds after the backup (copied now or by an earlier run). */
  saved: number;
  /** Listed objects the namespace no longer held (swept by an earlier run). */
  absent: number;
  failed: number;
}

export interface BackupRecord {
  format: "lakeport-gc-backup";
  version: 1;
  repository: string;
  markId: string;
  storageNamespace: string;
  state: BackupState;
  startedAt: string;
  finishedAt?: string;
  counts?: BackupCounts;
  /** Why a failed backup failed. */
  reason?: string;
  /**
   * The location holds, per part of the mark's list, the keys the backup found absent
   * (backup-absent.ts); records of earlier backups lack it, and their restores compare counts.
   */
  absentLists?: boolean;
}

/** The mark a backup or restore is about. */
export interface BackupOwner {
  repository: string;
  markId: string;
  storageNamespace: string;
}

export class BackupRecordError extends Error {
  override readonly name = "BackupRecordError";
}

export function backupRecordKey(locationPrefix: string): string {
  return locationPrefix === "" ? BACKUP_RECORD_NAME : `${locationPrefix}/${BACKUP_RECORD_NAME}`;
}

export function startedRecord(owner: BackupOwner, now: Date): BackupRecord {
  return {
    format: "lakeport-gc-backup",
    version: 1,
    repository: owner.repository,
    markId: owner.markId,
    storageNamespace: trimNamespace(owner.storageNamespace),
    state: "in-progress",
    startedAt: now.toISOString(),
  };
}

/** The record at the end of a backup: complete only when every listed object was dealt with. */
export function finishedRecord(
  started: BackupRecord,
  counts: BackupCounts,
  now: Date,
  reason?: string,
): BackupRecord {
  const failed = counts.failed > 0 || reason !== undefined;
  return {
    ...started,
    state: failed ? "failed" : "complete",
    finishedAt: now.toISOString(),
    counts,
    absentLists: true,
    ...(failed ? { reason: reason ?? `${counts.failed} object(s) could not be backed up` } : {}),
  };
}

export function encodeBackupRecord(r: BackupRecord): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

/** The record as written by a backup; anything else at its key is an error naming the key. */
export function parseBackupRecord(body: string, key: string): BackupRecord {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new BackupRecordError(`${key} is not a Lakeport backup record (not JSON)`);
  }
  const r = v as Partial<BackupRecord> | null;
  const str = (x: unknown) => typeof x === "string" && x.length > 0;
  if (
    r === null ||
    typeof r !== "object" ||
    r.format !== "lakeport-gc-backup" ||
    r.version !== 1 ||
    !str(r.repository) ||
    !str(r.markId) ||
    !str(r.storageNamespace) ||
    !str(r.startedAt) ||
    !["in-progress", "complete", "failed"].includes(r.state as string)
  ) {
    throw new BackupRecordError(`${key} is not a Lakeport backup record (version 1)`);
  }
  if (r.state === "complete" && !validCounts(r.counts)) {
    throw new BackupRecordError(`${key}: a complete backup record without its counts`);
  }
  return r as BackupRecord;
}

function validCounts(c: unknown): c is BackupCounts {
  const n = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  const o = c as BackupCounts | undefined;
  return !!o && n(o.objects) && n(o.saved) && n(o.absent) && n(o.failed);
}

/** Why a backup may not write into a location holding `existing`, or undefined. */
export function backupLocationProblem(
  existing: BackupRecord | undefined,
  owner: BackupOwner,
): string | undefined {
  if (!existing || sameOwner(existing, owner)) return undefined;
  return `holds the backup of ${describeOwner(existing)}: back up each mark to a location of its own`;
}

/**
 * A location holding objects but no record: an older backup (of any mark), a copy made by hand,
 * other files. A backup there would mix with them and its record would vouch for all of it.
 */
export const UNRECORDED_LOCATION_PROBLEM = `holds objects but no backup record (${BACKUP_RECORD_NAME}): a backup made before Lakeport wrote records, a copy made by hand or other files; back up into an empty location`;

/** Why a restore of `owner` may not read a location whose record is `record`, or undefined. */
export function restoreRecordProblem(
  record: BackupRecord,
  owner: BackupOwner,
  acceptIncomplete: boolean,
): string | undefined {
  if (!sameOwner(record, owner)) {
    return `holds the backup of ${describeOwner(record)}, not of mark "${owner.markId}" of ${owner.repository} (${trimNamespace(owner.storageNamespace)}): nothing restored`;
  }
  if (record.state !== "complete" && !acceptIncomplete) {
    const why = record.state === "failed" && record.reason ? `: ${record.reason}` : "";
    return `holds a backup of mark "${record.markId}" that did not complete (state ${record.state}${why}; started at ${record.startedAt}): back the mark up again, or accept a partial restore (CLI --accept-incomplete-backup, copy workflow input acceptIncompleteBackup)`;
  }
  return undefined;
}

/** What a restore found, as restoreShortfall compares it with the backup's record. */
export interface RestoreOutcome {
  objects: number;
  absent: number;
  /** Objects the location lacks, the namespace does not hold, and the backup saved. */
  lost: number;
  /** Some of the lost keys, to name them. */
  lostExamples: string[];
  /** Parts whose absent list the location does not hold. */
  absentListsMissing: number;
}

/**
 * Why a restore breaks the promise of its complete backup, or undefined. Each listed object
 * was copied back, found in the namespace (restored before, never swept) or is missing from
 * both; a missing object the backup did not find absent was lost from the location since.
 * A record without absent lists (an earlier backup) is compared by counts: more absent than
 * the backup saw absent means the location lost objects.
 */
export function restoreShortfall(
  record: BackupRecord,
  restore: RestoreOutcome,
): string | undefined {
  if (record.state !== "complete" || !record.counts) return undefined;
  if (restore.objects !== record.counts.objects) {
    return `the mark lists ${restore.objects} object(s) but its backup listed ${record.counts.objects}: the mark's list changed since the backup`;
  }
  if (record.absentLists) {
    if (restore.absentListsMissing > 0) {
      return `the lists of the objects the backup found absent (${BACKUP_ABSENT_DIR}/) are missing from the location for ${restore.absentListsMissing} part(s) of the mark's list: the objects the location lacks cannot be told from lost ones`;
    }
    if (restore.lost > 0) {
      const some = restore.lostExamples.slice(0, 5).join(", ");
      return `${restore.lost} object(s) the backup saved (${record.counts.saved}) are no longer in the location (e.g. ${some})`;
    }
    return undefined;
  }
  const missing = restore.absent - record.counts.absent;
  if (missing > 0) {
    return `${missing} object(s) the backup saved (${record.counts.saved}) are no longer in the location`;
  }
  return undefined;
}

function sameOwner(r: BackupOwner, owner: BackupOwner): boolean {
  return (
    r.repository === owner.repository &&
    r.markId === owner.markId &&
    trimNamespace(r.storageNamespace) === trimNamespace(owner.storageNamespace)
  );
}

function describeOwner(r: BackupOwner): string {
  return `mark "${r.markId}" of ${r.repository} (${trimNamespace(r.storageNamespace)})`;
}

function trimNamespace(ns: string): string {
  return ns.replace(/\/+$/, "");
}
