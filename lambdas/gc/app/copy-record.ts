// The backup record of the copy workflow (domain rules in ../domain/backup-record.ts): read and
// written at `<location>/_lakeport_backup.json` through the object store port, and the checks
// the plan applies before anything is copied or a mark retired.
import { parseS3Uri } from "../../shared/s3-uri";
import { WriteConditionFailedError } from "../../shared/write-condition";
import {
  type BackupOwner,
  type BackupRecord,
  BackupRecordError,
  backupLocationProblem,
  backupRecordKey,
  encodeBackupRecord,
  parseBackupRecord,
  restoreRecordProblem,
} from "../domain/backup-record";
import type { GcMark } from "../domain/run-records";
import type { GcObjectStore } from "../ports";

/** Bucket and key of the record of the backup at `location` (s3://bucket/prefix). */
export function backupRecordObject(location: string): { bucket: string; key: string } {
  const loc = parseS3Uri(location, "location");
  return { bucket: loc.bucket, key: backupRecordKey(loc.prefix) };
}

/** The location's record; undefined when it has none. Anything else at its key is refused. */
export async function readBackupRecord(
  s3: Pick<GcObjectStore, "getVersioned">,
  location: string,
): Promise<BackupRecord | undefined> {
  return (await readBackupRecordVersion(s3, location))?.record;
}

/** A record as read, with the ETag that a write conditional on it names. */
export interface VersionedBackupRecord {
  record: BackupRecord;
  etag: string;
}

export async function readBackupRecordVersion(
  s3: Pick<GcObjectStore, "getVersioned">,
  location: string,
): Promise<VersionedBackupRecord | undefined> {
  const { bucket, key } = backupRecordObject(location);
  const read = await s3.getVersioned(bucket, key);
  if (read === undefined) return undefined;
  return { record: parseBackupRecord(read.text, `s3://${bucket}/${key}`), etag: read.etag };
}

/** Rounds of read, check and conditional write before a claim or an update gives up. */
const CONDITIONAL_ROUNDS = 5;

export interface ClaimChecks {
  /** Throws when the location may not take this backup (another mark's record). */
  checkRecord(existing: BackupRecord | undefined): void;
  /** Throws when a location without a record holds objects. */
  checkEmpty(): Promise<void>;
  /** Once the checks passed, before the record is first written (a claim kept elsewhere). */
  beforeWrite?(): Promise<void>;
}

/**
 * Claims `location` for a backup: the in-progress record is written only if the record is
 * still the one the checks passed (or still absent), so of two backups racing for one location
 * one writes it and the other, checking again, sees the winner's record.
 */
export async function claimBackupLocation(
  s3: Pick<GcObjectStore, "getVersioned" | "putIf">,
  location: string,
  started: BackupRecord,
  checks: ClaimChecks,
): Promise<VersionedBackupRecord> {
  const { bucket, key } = backupRecordObject(location);
  let prepared = false;
  for (let round = 0; round < CONDITIONAL_ROUNDS; round++) {
    const existing = await readBackupRecordVersion(s3, location);
    checks.checkRecord(existing?.record);
    if (!existing) {
      try {
        await checks.checkEmpty();
      } catch (err) {
        // The object found may be a rival's record, claimed since the read: checked as one.
        if (await readBackupRecordVersion(s3, location)) continue;
        throw err;
      }
    }
    if (!prepared) {
      await checks.beforeWrite?.();
      prepared = true;
    }
    try {
      const etag = await s3.putIf(
        bucket,
        key,
        encodeBackupRecord(started),
        existing ? { etag: existing.etag } : "absent",
        "application/json",
      );
      return { record: started, etag };
    } catch (err) {
      if (!(err instanceof WriteConditionFailedError)) throw err;
    }
  }
  throw new BackupRecordError(
    `location: ${location}: its backup record changed ${CONDITIONAL_ROUNDS} times while this backup claimed it (other backups are starting there): nothing copied`,
  );
}

/**
 * Writes the backup's final record over the one it claimed with. When the record changed since
 * (another backup of the same mark into the same location, or the record deleted) it writes
 * over what it reads then; a record of another mark is left as it is and refused.
 */
export async function updateBackupRecord(
  s3: Pick<GcObjectStore, "getVersioned" | "putIf">,
  location: string,
  record: BackupRecord,
  claimedEtag: string | undefined,
): Promise<void> {
  const { bucket, key } = backupRecordObject(location);
  // Undefined: a plan of an earlier version did not pass its ETag on; the record is read first.
  let condition: "absent" | { etag: string } | undefined =
    claimedEtag === undefined ? undefined : { etag: claimedEtag };
  for (let round = 0; round < CONDITIONAL_ROUNDS; round++) {
    if (condition !== undefined) {
      try {
        await s3.putIf(bucket, key, encodeBackupRecord(record), condition, "application/json");
        return;
      } catch (err) {
        if (!(err instanceof WriteConditionFailedError)) throw err;
      }
    }
    const now = await readBackupRecordVersion(s3, location);
    const problem = backupLocationProblem(now?.record, record);
    if (problem) {
      throw new BackupRecordError(
        `location: ${location} ${problem}: it was claimed by that backup while this one copied (its record had been removed), so the two are mixed; this backup's record was not written`,
      );
    }
    condition = now ? { etag: now.etag } : "absent";
  }
  throw new BackupRecordError(
    `location: ${location}: its backup record changed ${CONDITIONAL_ROUNDS} times while this backup wrote its end (other backups of the mark are running there); its state is not ${record.state}`,
  );
}

export function backupOwner(input: BackupOwner): BackupOwner {
  return {
    repository: input.repository,
    markId: input.markId,
    storageNamespace: input.storageNamespace,
  };
}

/** A backup into a location holding another mark's backup would mix the two: refused. */
export function checkBackupLocation(
  existing: BackupRecord | undefined,
  owner: BackupOwner,
  location: string,
): void {
  const problem = backupLocationProblem(existing, owner);
  if (problem) throw new BackupRecordError(`location: ${location} ${problem}: nothing copied`);
}

/** A restore from another mark's backup, or (unless accepted) an incomplete one: refused. */
export function checkRestoreRecord(
  record: BackupRecord | undefined,
  owner: BackupOwner,
  location: string,
  acceptIncomplete: boolean,
): void {
  if (!record) return;
  const problem = restoreRecordProblem(record, owner, acceptIncomplete);
  if (problem) {
    throw new BackupRecordError(
      `location: ${location} ${problem}${problem.endsWith("nothing restored") ? "" : ": nothing restored"}`,
    );
  }
}

/** A backup after or during its mark's sweep would count the deleted objects as absent. */
export class MarkSweptError extends Error {
  override readonly name = "MarkSweptError";
}

/** The rule of the CLI's checkNotSwept: a mark swept, or being swept, is not backed up. */
export function checkNotSwept(mark: GcMark): void {
  const by = mark.sweepRunId ? ` by run ${mark.sweepRunId}` : "";
  if (mark.sweepStatus === "succeeded") {
    throw new MarkSweptError(
      `mark id "${mark.markId}" was swept${by}${mark.sweptAt ? ` at ${mark.sweptAt}` : ""}: the objects it deleted are gone; back a mark up before its sweep: nothing copied`,
    );
  }
  if (mark.sweepStatus === "running") {
    throw new MarkSweptError(
      `mark id "${mark.markId}" is being swept${by}: a backup now would miss what it deletes; back a mark up before its sweep: nothing copied`,
    );
  }
}
