// The backup record of the copy workflow (domain rules in ../domain/backup-record.ts): read and
// written at `<location>/_lakeport_backup.json` through the object store port, and the checks
// the plan applies before anything is copied or a mark retired.
import { parseS3Uri } from "../../shared/s3-uri";
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
  s3: Pick<GcObjectStore, "getText">,
  location: string,
): Promise<BackupRecord | undefined> {
  const { bucket, key } = backupRecordObject(location);
  const body = await s3.getText(bucket, key);
  if (body === undefined) return undefined;
  return parseBackupRecord(body, `s3://${bucket}/${key}`);
}

export async function writeBackupRecord(
  s3: Pick<GcObjectStore, "put">,
  location: string,
  record: BackupRecord,
): Promise<void> {
  const { bucket, key } = backupRecordObject(location);
  await s3.put(bucket, key, encodeBackupRecord(record), "application/json");
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
