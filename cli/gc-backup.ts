// `lakeport gc backup|restore lakefs://REPO --mark-id ID --to|--from s3://bucket/prefix`: copies
// the objects of a mark (its addresses.text list) out of the storage namespace and back, with
// the shared copy engine (runCopyBatch: server-side copies, bounded concurrency, throttling
// retried, failures reported per object). The CLI runs the copies itself with the S3 client
// of AWS_ENDPOINT_URL_S3 / .local/endpoints.json / the AWS credential chain.
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  DescribeExecutionCommand,
  type SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { notFoundProblem, probeBackupLocation } from "../lambdas/gc/app/backup-probe";
import {
  addPartCopyCounts,
  copyMarkPart,
  emptyPartCopyCounts,
  type PartCopyCounts,
} from "../lambdas/gc/app/copy-part";
import {
  claimBackupLocation,
  readBackupRecord as readRecordAt,
  updateBackupRecord,
  type VersionedBackupRecord,
} from "../lambdas/gc/app/copy-record";
import {
  type BackupCounts,
  type BackupOwner,
  type BackupRecord,
  BackupRecordError,
  backupLocationProblem,
  finishedRecord,
  restoreRecordProblem,
  startedRecord,
  UNRECORDED_LOCATION_PROBLEM,
} from "../lambdas/gc/domain/backup-record";
import { isAbsentSource } from "../lambdas/gc/domain/copy-absent";
import {
  duplicateTextPart,
  duplicateTextPartProblem,
  gcPaths,
  markPartsProblem,
  splitNamespace,
  textPartNumber,
} from "../lambdas/gc/domain/paths";
import { createS3Client, createSfnClient } from "../lambdas/shared/aws/clients";
import { S3ObjectStore } from "../lambdas/shared/aws/s3-object-store";
import { errorCode } from "../lambdas/shared/retry";
import type { OperationFailure } from "../lambdas/shared/s3-copy/types";
import { localClientOptions, UsageError } from "./endpoint";
import { checkLocationForm } from "./location-form";

export type CopyDirection = "backup" | "restore";

export interface MarkCopyRequest {
  direction: CopyDirection;
  storageNamespace: string;
  markId: string;
  /** The location outside the namespace: destination of a backup, source of a restore. */
  external: string;
}

/** A copy's request with the repository, for the backup record. */
export interface RecordedCopyRequest extends MarkCopyRequest {
  repository: string;
}

/**
 * What a backup or restore did (copy-part.ts): present counts a restore's objects the
 * namespace already held (restored before, never swept) and a backup's objects the namespace no
 * longer held but the location did (an earlier backup); absent, listed objects at neither place.
 */
export type MarkCopyResult = Omit<PartCopyCounts, "failed"> & {
  failed: { path: string; code: string; message: string }[];
};

/** S3 client: SDK environment first, then the embedded environment's endpoints file. */
export function cliS3Client(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): S3Client {
  if (env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL) return createS3Client();
  return createS3Client(localClientOptions("s3", cwd) ?? {});
}

/**
 * The external location must be one S3 can hold as given (as an export path: no `..` or empty
 * segments, ...) and not be inside the namespace (nor contain it).
 */
export function checkExternalLocation(storageNamespace: string, external: string, flag: string) {
  const loc = checkLocationForm(external, flag);
  const ns = splitNamespace(storageNamespace);
  const nsPrefix = ns.keyPrefix;
  const extPrefix = loc.prefix === "" ? "" : `${loc.prefix}/`;
  if (
    loc.bucket === ns.bucket &&
    (extPrefix.startsWith(nsPrefix) || nsPrefix.startsWith(extPrefix))
  ) {
    throw new UsageError(
      `${flag}: ${external} overlaps the storage namespace ${storageNamespace}: use a location outside it`,
    );
  }
  return loc;
}

/** The mark's text parts, one at a time (a part is one mark partition: it fits in memory). */
/**
 * The mark's text parts, one at a time (a part is one mark partition: it fits in memory); the
 * parts are listed first, so the last one says so (the progress line's total).
 */
async function* markedParts(s3: S3Client, storageNamespace: string, markId: string) {
  const ns = splitNamespace(storageNamespace);
  const prefix = `${ns.keyPrefix}${gcPaths.addressesTextPrefix(markId)}`;
  let token: string | undefined;
  const parts = new Map<number, string>();
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: ns.bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const o of page.Contents ?? []) {
      const number = textPartNumber(o.Key ?? "");
      if (number === undefined) continue;
      const first = parts.get(number);
      if (first !== undefined) {
        const keys: [string, string] = [first, o.Key ?? ""];
        throw new UsageError(duplicateTextPartProblem(markId, { part: number, keys }));
      }
      parts.set(number, o.Key ?? "");
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (parts.size === 0) throw noListsError(storageNamespace, markId);
  let left = parts.size;
  for (const [number, key] of parts) {
    const out = await s3.send(new GetObjectCommand({ Bucket: ns.bucket, Key: key }));
    const text = (await out.Body?.transformToString("utf8")) ?? "";
    yield { number, lines: text.split("\n").filter((l) => l.length > 0), last: --left === 0 };
  }
}

async function* markedKeys(s3: S3Client, storageNamespace: string, markId: string) {
  for await (const part of markedParts(s3, storageNamespace, markId)) yield* part.lines;
}

const noListsError = (storageNamespace: string, markId: string) =>
  new UsageError(
    `mark id "${markId}": no address lists under ${storageNamespace}/${gcPaths.addressesTextPrefix(markId)}`,
  );

/**
 * The mark's address lists exist, one per part number: checked before a backup writes its
 * record and before a restore retires the mark, so a mark without lists, or with two lists of
 * one part, changes nothing (as the workflow's plan).
 */
export async function checkMarkLists(
  s3: S3Client,
  storageNamespace: string,
  markId: string,
  /** A backup: the mark's partitions, whose lists it must read, each (markPartsProblem). */
  partitions?: number,
): Promise<void> {
  const ns = splitNamespace(storageNamespace);
  const prefix = `${ns.keyPrefix}${gcPaths.addressesTextPrefix(markId)}`;
  let token: string | undefined;
  const parts: { key: string; part: number }[] = [];
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: ns.bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const o of page.Contents ?? []) {
      const part = textPartNumber(o.Key ?? "");
      if (part !== undefined) parts.push({ key: o.Key ?? "", part });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  // Only part lists count, as the copies read them: another .txt there (a list renamed by hand)
  // passed this check, and a restore retired the mark before the copies found no list.
  if (parts.length === 0) throw noListsError(storageNamespace, markId);
  const dup = duplicateTextPart(parts);
  if (dup) throw new UsageError(duplicateTextPartProblem(markId, dup));
  const problem =
    partitions === undefined ? undefined : markPartsProblem(markId, parts, partitions);
  if (problem) throw new UsageError(problem);
}

/** Counts of a running backup or restore: objects listed so far, copied, failed, bytes. */
export interface MarkCopyProgress {
  listed: number;
  listingDone: boolean;
  /** Objects dealt with: copied, already in the destination, absent or failed. */
  done: number;
  copied: number;
  failed: number;
  copiedBytes: number;
}

export async function copyMarkedObjects(
  s3: S3Client,
  req: MarkCopyRequest,
  opts: {
    concurrency?: number;
    onProgress?: (p: MarkCopyProgress) => void;
    /** The location's backup record (a restore): it says what the location must hold. */
    record?: BackupRecord;
  } = {},
): Promise<MarkCopyResult> {
  const flag = req.direction === "backup" ? "--to" : "--from";
  const ext = checkExternalLocation(req.storageNamespace, req.external, flag);
  const ns = splitNamespace(req.storageNamespace);
  if (req.direction === "restore") await checkBackupExists(s3, ext, req.external);
  const places = { direction: req.direction, namespace: ns, location: ext };
  const store = new S3ObjectStore(s3);
  const total = emptyPartCopyCounts();
  const failed: OperationFailure[] = [];
  let listed = 0;
  const report = opts.onProgress;
  for await (const part of markedParts(s3, req.storageNamespace, req.markId)) {
    listed += part.lines.length;
    const before = { ...total };
    const out = await copyMarkPart(store, s3, part, places, {
      concurrency: opts.concurrency ?? 32,
      ...(report
        ? {
            onProgress: (r) =>
              report({
                listed,
                listingDone: part.last,
                done: before.objects + r.succeeded + r.failed.length,
                copied: before.copied + r.copied,
                failed: before.failed + r.failed.filter((f) => !isAbsentSource(f)).length,
                copiedBytes: before.copiedBytes + r.copiedBytes,
              }),
          }
        : {}),
    });
    addPartCopyCounts(total, out.counts);
    failed.push(...out.failures);
  }
  const vouched = opts.record !== undefined;
  const found = total.copied + total.present;
  if (
    req.direction === "restore" &&
    !vouched &&
    total.objects > 0 &&
    found === 0 &&
    failed.length === 0
  ) {
    // Every object absent: the location holds something, but not this mark's backup (its
    // parent folder, another mark's backup). A backup holds at least the objects that were
    // still there when it ran; one that held none left its location empty.
    throw new UsageError(
      `--from: none of the mark's ${total.objects} object(s) is under ${req.external}: nothing restored (is it the location the backup was written to?)`,
    );
  }
  return { ...total, failed };
}

/**
 * The checks of a copy's location that change nothing, made before a restore retires the mark:
 * its form, and (with an S3 client: copying from this machine) that a restore's holds objects.
 * The copy workflow's plan step checks that itself, before it retires the mark.
 */
export async function checkCopyLocation(req: MarkCopyRequest, s3?: S3Client): Promise<void> {
  const flag = req.direction === "backup" ? "--to" : "--from";
  const ext = checkExternalLocation(req.storageNamespace, req.external, flag);
  if (req.direction === "restore" && s3) await checkBackupExists(s3, ext, req.external);
}

/**
 * A restore counts objects missing from the backup as absent, so a location that holds nothing
 * at all (a wrong one) is refused rather than "restored".
 */
async function checkBackupExists(
  s3: S3Client,
  loc: { bucket: string; prefix: string },
  external: string,
): Promise<void> {
  const page = await s3
    .send(
      new ListObjectsV2Command({
        Bucket: loc.bucket,
        Prefix: loc.prefix === "" ? "" : `${loc.prefix}/`,
        MaxKeys: 1,
      }),
    )
    .catch((err: unknown) => {
      // A mistyped bucket is bad input (exit code 2), not a crash with a stack trace.
      if (errorCode(err) !== "NoSuchBucket") throw err;
      throw new UsageError(`--from: bucket ${loc.bucket} does not exist: nothing to restore from`);
    });
  if ((page.Contents ?? []).length === 0) {
    throw new UsageError(`--from: no object under ${external}: nothing to restore from`);
  }
}

/** The location's backup record, or undefined when it has none (the workflow's reader). */
export async function readBackupRecord(
  s3: S3Client,
  loc: { bucket: string; prefix: string },
  flag: string,
): Promise<BackupRecord | undefined> {
  try {
    return await readRecordAt(new S3ObjectStore(s3), locationUri(loc));
  } catch (err) {
    throw usageErrorOf(err, loc, flag);
  }
}

/** A mistyped bucket or a file that is not a record is bad input: exit code 2, the flag named. */
function usageErrorOf(err: unknown, loc: { bucket: string }, flag: string): unknown {
  if (errorCode(err) === "NoSuchBucket") {
    return new UsageError(`${flag}: bucket ${loc.bucket} does not exist`);
  }
  if (err instanceof BackupRecordError) return new UsageError(`${flag}: ${err.message}`);
  return err;
}

function locationUri(loc: { bucket: string; prefix: string }): string {
  return loc.prefix === "" ? `s3://${loc.bucket}` : `s3://${loc.bucket}/${loc.prefix}`;
}

function ownerOf(req: RecordedCopyRequest): BackupOwner {
  return {
    repository: req.repository,
    markId: req.markId,
    storageNamespace: req.storageNamespace,
  };
}

/**
 * Before a backup copies anything: a location holding another mark's backup is refused (the
 * two would mix), then the record says a backup of this mark is in progress. The check and
 * the write are one conditional step (copy-record.ts): of two backups starting at once into
 * one location, the second sees the first's record. Returns what the backup's end completes.
 */
export async function startBackupRecord(
  s3: S3Client,
  req: RecordedCopyRequest,
  now = new Date(),
  beforeWrite?: () => Promise<void>,
): Promise<VersionedBackupRecord> {
  const loc = checkExternalLocation(req.storageNamespace, req.external, "--to");
  const store = new S3ObjectStore(s3);
  try {
    return await claimBackupLocation(store, locationUri(loc), startedRecord(ownerOf(req), now), {
      checkRecord: (existing) => {
        const problem = backupLocationProblem(existing, ownerOf(req));
        if (problem) throw new UsageError(`--to: ${req.external} ${problem}`);
      },
      checkEmpty: async () => {
        if (await holdsObjects(s3, loc)) {
          throw new UsageError(`--to: ${req.external} ${UNRECORDED_LOCATION_PROBLEM}`);
        }
      },
      ...(beforeWrite ? { beforeWrite } : {}),
    });
  } catch (err) {
    throw usageErrorOf(err, loc, "--to");
  }
}

async function holdsObjects(s3: S3Client, loc: { bucket: string; prefix: string }) {
  const page = await s3.send(
    new ListObjectsV2Command({
      Bucket: loc.bucket,
      Prefix: loc.prefix === "" ? "" : `${loc.prefix}/`,
      MaxKeys: 1,
    }),
  );
  return (page.Contents ?? []).length > 0;
}

/** The backup's end: complete when every listed object was saved or absent, else failed. */
export async function finishBackupRecord(
  s3: S3Client,
  req: RecordedCopyRequest,
  started: VersionedBackupRecord,
  out: MarkCopyResult,
  reason?: string,
): Promise<BackupRecord> {
  const loc = checkExternalLocation(req.storageNamespace, req.external, "--to");
  const counts: BackupCounts = {
    objects: out.objects,
    saved: out.copied + out.present,
    absent: out.absent,
    failed: out.failed.length,
  };
  const record = finishedRecord(started.record, counts, new Date(), reason);
  await updateBackupRecord(new S3ObjectStore(s3), locationUri(loc), record, started.etag);
  return record;
}

/**
 * A restore's check of the location's record, before the mark is retired: another mark's
 * backup, or one that did not complete (unless accepted), is refused. Undefined: the location
 * has no record (a backup made before records, or a copy made by hand).
 */
export async function checkRestoreRecord(
  s3: S3Client,
  req: RecordedCopyRequest,
  acceptIncomplete: boolean,
): Promise<BackupRecord | undefined> {
  const loc = checkExternalLocation(req.storageNamespace, req.external, "--from");
  const record = await readBackupRecord(s3, loc, "--from");
  if (!record) return undefined;
  const problem = restoreRecordProblem(record, ownerOf(req), acceptIncomplete);
  if (problem) throw new UsageError(`--from: ${req.external} ${problem}`);
  return record;
}

/**
 * A restore from a location without a record, before the mark is retired: one of the mark's
 * objects must be there (the first found ends the search), else the location is refused.
 */
export async function checkRecordlessLocation(s3: S3Client, req: MarkCopyRequest): Promise<void> {
  const loc = checkExternalLocation(req.storageNamespace, req.external, "--from");
  const exists = async (bucket: string, key: string) => {
    try {
      await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (err) {
      const code = errorCode(err);
      if (code === "NotFound" || code === "NoSuchKey") return false;
      throw err;
    }
  };
  const places = { namespace: splitNamespace(req.storageNamespace), location: loc };
  const lines = markedKeys(s3, req.storageNamespace, req.markId);
  const out = await probeBackupLocation(exists, lines, places);
  if (!out.found) {
    const hint = out.probed > 0 ? " (is it the location the backup was written to?)" : "";
    throw new UsageError(
      `--from: ${notFoundProblem(out, req.external)}: nothing restored and the mark not retired${hint}`,
    );
  }
}

/** SFN client: SDK environment first, then the embedded environment's endpoints file. */
function cliSfnClient(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): SFNClient {
  if (env.AWS_ENDPOINT_URL_SFN || env.AWS_ENDPOINT_URL) return createSfnClient();
  return createSfnClient(localClientOptions("stepfunctions", cwd) ?? {});
}

/**
 * The same copy through the GC copy workflow (GcWorkflow.copyStateMachine): a distributed
 * map over the mark's parts, each child a runCopyBatch; a restore's plan step retires the
 * mark before the map. Waits for the execution's end.
 */
export async function copyMarkedObjectsViaWorkflow(
  stateMachineArn: string,
  req: MarkCopyRequest & { repository: string; acceptIncompleteBackup?: boolean },
  pollMs = Number(process.env.LAKEPORT_POLL_MS ?? 2000),
  onPoll?: (d: { status: string; startDate?: Date }) => void,
): Promise<WorkflowCopyResult> {
  checkExternalLocation(
    req.storageNamespace,
    req.external,
    req.direction === "backup" ? "--to" : "--from",
  );
  const sfn = cliSfnClient();
  const name = copyExecutionName(req.direction, req.markId, Date.now());
  const started = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn,
      name,
      input: JSON.stringify({
        repository: req.repository,
        markId: req.markId,
        storageNamespace: req.storageNamespace,
        direction: req.direction,
        location: req.external,
        ...(req.acceptIncompleteBackup ? { acceptIncompleteBackup: true } : {}),
      }),
    }),
  );
  const executionArn = started.executionArn!;
  for (;;) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status === "SUCCEEDED") {
      const out = JSON.parse(d.output ?? "{}") as {
        plan?: { parts?: number; recordFound?: boolean };
        end?: WorkflowCopyResult["end"];
      };
      return {
        executionArn,
        parts: out.plan?.parts ?? 0,
        ...(out.end ? { end: out.end } : {}),
        ...(out.plan?.recordFound !== undefined ? { recordFound: out.plan.recordFound } : {}),
      };
    }
    if (d.status !== "RUNNING") {
      throw new CopyWorkflowFailed(
        `gc ${req.direction}: execution ${executionArn} ended ${d.status}${d.error ? ` (${d.error}: ${causeMessage(d.cause)})` : ""}`,
      );
    }
    onPoll?.({ status: String(d.status), ...(d.startDate ? { startDate: d.startDate } : {}) });
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** A copy workflow's end (`end`: its totals, from a deployment whose workflow sums them). */
export interface WorkflowCopyResult {
  executionArn: string;
  parts: number;
  end?: { objects: number; copied: number; copiedBytes: number; present: number; absent: number };
  /** A restore: whether the location held a backup record (undefined: an older deployment). */
  recordFound?: boolean;
}

/** A failed Lambda step's cause is its error as JSON (with a stack trace): its message. */
function causeMessage(cause: string | undefined): string {
  try {
    const parsed = JSON.parse(cause ?? "") as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === "string") return parsed.errorMessage;
  } catch {
    // Not JSON: a state's own cause, shown as it is.
  }
  return cause ?? "";
}

export class CopyWorkflowFailed extends Error {
  override readonly name = "CopyWorkflowFailed";
}

/**
 * A copy execution's name (at most 80 characters): direction and time first, then as much of
 * the mark id as fits. With the time last, a long mark id cut it short, and two copies of one
 * mark minutes apart got the same name (ExecutionAlreadyExists, or the first one's result).
 */
export function copyExecutionName(direction: string, markId: string, nowMs: number): string {
  return `${direction}-${nowMs}-${markId}`.slice(0, 80);
}
