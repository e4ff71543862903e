// GC backup and restore as a workflow: the plan lists the mark's text parts into the work
// bucket, a distributed map copies each part's objects with the export copy engine
// (runCopyBatch: server-side copies, multipart above 5 GiB, throttling retried, failures per
// object). Backup copies namespace -> location, restore location -> namespace. A restore's
// plan retires the mark once its checks passed, before the map copies anything back. The plan
// checks the location's backup record (copy-record.ts) and writes a backup's in-progress; each
// map child leaves its parts' counts in the work bucket; the end step (copy-end.ts) sums them
// and finishes the record, or fails a restore short of its backup.
import type { S3Client } from "@aws-sdk/client-s3";
import { NotFoundError } from "../../shared/errors";
import { normalizeS3Location, writableLocationProblem } from "../../shared/s3-naming";
import { parseS3Uri } from "../../shared/s3-uri";
import type { ExportPaths } from "../domain/backup-location-claims";
import {
  type BackupRecord,
  BackupRecordError,
  startedRecord,
  UNRECORDED_LOCATION_PROBLEM,
} from "../domain/backup-record";
import { validateMarkId } from "../domain/ids";
import {
  duplicateTextPart,
  duplicateTextPartProblem,
  gcPaths,
  markPartsProblem,
  textPartNumber,
} from "../domain/paths";
import type { GcMark } from "../domain/run-records";
import { encodeJsonLines } from "../domain/shards";
import type { GcMarkRetirer, GcStepDeps } from "../ports";
import { backupLocationProblem, type RepositoryLister } from "./backup-location-check";
import {
  type BackupLocationClaims,
  claimBackupLocationOutsideExports,
} from "./backup-location-claim";
import { notFoundProblem, probeBackupLocation } from "./backup-probe";
import { gcWorkKeys, namespaceObjects } from "./common";
import {
  addPartCopyCounts,
  copyMarkPart,
  emptyPartCopyCounts,
  type PartCopyCounts,
} from "./copy-part";
import {
  backupOwner,
  checkBackupLocation,
  checkNotSwept,
  checkRestoreRecord,
  claimBackupLocation,
  readBackupRecord,
} from "./copy-record";
import { firstEditedList, type ListedMarkPart } from "./mark-list-etags";

export interface CopyMarkInput {
  repository: string;
  /** Names the work-bucket folder of this copy (e.g. the execution name). */
  copyId: string;
  markId: string;
  storageNamespace: string;
  direction: "backup" | "restore";
  /** s3://bucket/prefix outside the namespace. */
  location: string;
  /**
   * A restore: restore from a backup whose record says it did not complete (in-progress or
   * failed), bringing back what it holds. Refused without it.
   */
  acceptIncompleteBackup?: boolean;
}

/** What the plan step returns (the state's `$.plan`). */
export interface CopyPlan {
  /** JSON Lines of the mark's text parts in the work bucket: the map's items. */
  partsKey: string;
  parts: number;
  /** A restore: the mark, retired by the plan. */
  retired?: RetiredMark;
  /** A backup: the last sweep run of the mark at plan time (null: never swept). */
  sweepRunId?: string | null;
  /** A backup: when its record (written in-progress by the plan) started. */
  recordStartedAt?: string;
  /** A backup: the ETag of that record, which the end's write is conditional on. */
  recordEtag?: string;
  /** A restore: whether the location holds a backup record (none: a backup made before records). */
  recordFound?: boolean;
  /** A restore: the location's record, when found. */
  record?: BackupRecord;
}

export function checkLocationOutside(storageNamespace: string, location: string): void {
  const loc = parseS3Uri(location, "location");
  // As the CLI checks it: a `..` segment is the namespace itself where it is resolved.
  const problem = writableLocationProblem(location);
  if (problem) throw new Error(`location: ${problem}`);
  const ns = namespaceObjects(storageNamespace);
  const ext = loc.prefix === "" ? "" : `${loc.prefix}/`;
  if (loc.bucket === ns.bucket && (ext.startsWith(ns.keyPrefix) || ns.keyPrefix.startsWith(ext))) {
    throw new Error(`location: ${location} overlaps the storage namespace ${storageNamespace}`);
  }
}

/**
 * A backup is never written to the work bucket: the steps may write there (their work folder),
 * and its objects expire after days, so a backup there completed and was gone when its restore
 * was needed. (A restore may read one there, while it lasts.)
 */
function checkBackupOutsideWorkBucket(location: string, workBucket: string): void {
  if (parseS3Uri(location, "location").bucket === workBucket) {
    throw new Error(
      `location: ${location} is in Lakeport's work bucket, whose objects expire after days: back up to a bucket of its own: nothing copied`,
    );
  }
}

/** What the plan step needs: S3, the work bucket, and (a restore) the mark's record. */
export interface CopyPlanDeps extends Pick<GcStepDeps, "s3" | "workBucket" | "now"> {
  /** A backup's location is checked against every repository's namespace. */
  lakefs: RepositoryLister;
  /** ... claimed (keys.gcBackupLocation), and checked against every branch's export paths. */
  backupLocations: BackupLocationClaims;
  exportPaths: () => AsyncIterable<ExportPaths[]>;
  marks: GcMarkRetirer;
}

/** A restore's mark is retired when the plan ends: when and why (the first retire's). */
export interface RetiredMark {
  retiredAt: string;
  retiredReason: string;
}

/** A live run sweeps the mark: restoring now would have that sweep delete restored objects. */
export class MarkBeingSweptError extends Error {
  override readonly name = "MarkBeingSweptError";
  constructor(
    readonly markId: string,
    readonly sweepRunId: string,
  ) {
    super(
      `mark id "${markId}" is being swept by GC run ${sweepRunId}: nothing restored and the mark is not retired; restore once that run has ended`,
    );
  }
}

/** A sweep of the mark ended too recently: one of its Lambdas may still delete (restore-after-sweep.ts). */
export class MarkSweepSettlingError extends Error {
  override readonly name = "MarkSweepSettlingError";
  constructor(why: string) {
    super(`${why}: nothing restored and the mark is not retired`);
  }
}

/**
 * A backup claims its location before its first write, so that no export path is set around
 * it later (a full export would delete it), and is refused under one set meanwhile.
 */
async function claimLocation(deps: CopyPlanDeps, input: CopyMarkInput): Promise<void> {
  const out = await claimBackupLocationOutsideExports(
    { claims: deps.backupLocations, exportPaths: deps.exportPaths, now: deps.now },
    {
      repository: input.repository,
      location: normalizeS3Location(input.location),
      markId: input.markId,
    },
  );
  if ("problem" in out) throw new Error(`location: ${out.problem}: nothing copied`);
}

export async function runCopyPlanStep(deps: CopyPlanDeps, input: CopyMarkInput): Promise<CopyPlan> {
  // A direct start (console, another tool) may leave them out: named, before anything is read.
  for (const field of ["repository", "storageNamespace"] as const) {
    const value: unknown = input[field];
    if (typeof value !== "string" || value === "") {
      throw new Error(`${field}: must be a non-empty string (got ${JSON.stringify(value)})`);
    }
  }
  validateMarkId(input.markId);
  // The map copies the other way for anything but "backup": only a checked restore may.
  if (input.direction !== "backup" && input.direction !== "restore") {
    throw new Error(
      `direction: must be "backup" or "restore" (got ${JSON.stringify(input.direction)})`,
    );
  }
  const accept = input.acceptIncompleteBackup;
  if (accept !== undefined && accept !== null && typeof accept !== "boolean") {
    throw new Error(`acceptIncompleteBackup: must be a boolean (got ${JSON.stringify(accept)})`);
  }
  checkLocationOutside(input.storageNamespace, input.location);
  if (input.direction === "backup") {
    checkBackupOutsideWorkBucket(input.location, deps.workBucket);
    const overlap = await backupLocationProblem(deps.lakefs, input.location);
    if (overlap) throw new Error(`location: ${overlap}: nothing copied`);
  }
  const mark = await checkMarkOfNamespace(deps, input);
  if (input.direction === "backup") checkNotSwept(mark);
  const parts = await markParts(deps, input);
  if (input.direction === "backup") await checkListsAsMarked(deps, input, mark, parts);
  if (input.direction === "restore") await checkBackupExists(deps, input.location);
  const owner = backupOwner(input);
  const record = await readBackupRecord(deps.s3, input.location);
  const claimChecks = {
    checkRecord: (existing: BackupRecord | undefined) =>
      checkBackupLocation(existing, owner, input.location),
    checkEmpty: () => checkLocationEmpty(deps, input.location),
  };
  if (input.direction === "backup") {
    // Before anything is written; checked again as the record is claimed below.
    claimChecks.checkRecord(record);
    if (!record) await claimChecks.checkEmpty();
  } else {
    checkRestoreRecord(record, owner, input.location, accept === true);
    if (!record) await checkRecordlessLocation(deps, input, parts);
  }
  if (input.direction === "backup") await claimLocation(deps, input);
  const key = `${gcWorkKeys(input.repository, input.copyId).root}copy-parts.jsonl`;
  await deps.s3.put(deps.workBucket, key, encodeJsonLines(parts));
  const plan = { partsKey: key, parts: parts.length };
  if (input.direction === "backup") {
    // Checked and written in one conditional step: a rival backup cannot slip in between.
    const { record: started, etag } = await claimBackupLocation(
      deps.s3,
      input.location,
      startedRecord(owner, deps.now()),
      claimChecks,
    );
    return {
      ...plan,
      sweepRunId: mark.sweepRunId ?? null,
      recordStartedAt: started.startedAt,
      recordEtag: etag,
    };
  }
  // Last: a wrong input (refused above) leaves the mark as it was.
  const retired = await retireForRestore(deps, input);
  return { ...plan, retired, recordFound: record !== undefined, ...(record ? { record } : {}) };
}

/**
 * The mark must be this repository's, made in this namespace: a direct start naming another
 * namespace would copy the wrong objects and (a restore) retire a mark for nothing.
 */
async function checkMarkOfNamespace(
  deps: Pick<CopyPlanDeps, "marks">,
  input: CopyMarkInput,
): Promise<GcMark> {
  const mark = await deps.marks.getMark(input.repository, input.markId);
  if (!mark) {
    throw new NotFoundError(
      `mark id "${input.markId}" not found in "${input.repository}": nothing copied`,
    );
  }
  if (mark.status !== "succeeded") {
    // As the CLI: a running mark has written part of its lists, a failed one is never swept.
    throw new Error(
      `mark id "${input.markId}" is from a ${mark.status} mark run (${mark.runId}): back up or restore a successful mark: nothing copied`,
    );
  }
  const trim = (ns: string) => ns.replace(/\/+$/, "");
  if (mark.storageNamespace && trim(mark.storageNamespace) !== trim(input.storageNamespace)) {
    throw new Error(
      `storageNamespace: ${input.storageNamespace} is not the namespace of mark "${input.markId}" (${mark.storageNamespace}): nothing copied`,
    );
  }
  return mark;
}

/** The mark's text parts in the namespace; a mark without any is refused. */
async function markParts(
  deps: Pick<GcStepDeps, "s3">,
  input: CopyMarkInput,
): Promise<ListedMarkPart[]> {
  const ns = namespaceObjects(input.storageNamespace);
  const parts: ListedMarkPart[] = [];
  for await (const o of deps.s3.list(
    ns.bucket,
    ns.key(gcPaths.addressesTextPrefix(input.markId)),
  )) {
    const part = textPartNumber(o.key);
    if (part !== undefined) parts.push({ key: o.key, part, ...(o.etag ? { etag: o.etag } : {}) });
  }
  if (parts.length === 0) {
    throw new Error(`mark id "${input.markId}": no address lists in ${input.storageNamespace}`);
  }
  const dup = duplicateTextPart(parts);
  if (dup) throw new Error(`${duplicateTextPartProblem(input.markId, dup)}: nothing copied`);
  return parts;
}

/**
 * A backup reads exactly what the sweep deletes: the list of every partition (one missing
 * completed the backup without its objects, deleted once the list was back), each as the mark
 * step wrote it (one edited since would be copied as edited; the map reads it at this ETag).
 */
async function checkListsAsMarked(
  deps: Pick<GcStepDeps, "s3" | "workBucket">,
  input: CopyMarkInput,
  mark: GcMark,
  parts: ListedMarkPart[],
): Promise<void> {
  if (mark.partitions !== undefined) {
    const problem = markPartsProblem(input.markId, parts, mark.partitions);
    if (problem) throw new Error(`${problem}: nothing copied`);
  }
  const edited = await firstEditedList(deps, gcWorkKeys(input.repository, mark.runId), parts);
  if (edited !== undefined) {
    throw new Error(
      `mark id "${input.markId}": ${edited} was changed since the mark wrote it (its ETag differs), so it is not what a sweep of the mark deletes (which refuses it too): nothing copied`,
    );
  }
}

/**
 * Restored objects are in use again: a later sweep of the mark would delete them, so the mark
 * is retired before the map copies any back, whoever started the workflow. Refused while a
 * live run sweeps the mark; a mark already retired keeps its first time and reason.
 */
async function retireForRestore(
  deps: Pick<CopyPlanDeps, "marks" | "now">,
  input: CopyMarkInput,
): Promise<RetiredMark> {
  const now = deps.now();
  const out = await deps.marks.retireMark(
    input.repository,
    input.markId,
    `restored from ${input.location}`,
    { iso: now.toISOString(), seconds: Math.floor(now.getTime() / 1000) },
  );
  if (!out) {
    throw new NotFoundError(
      `mark id "${input.markId}" not found in "${input.repository}": a restore retires its mark, so it needs the mark's record; nothing restored`,
    );
  }
  if ("sweeping" in out) throw new MarkBeingSweptError(input.markId, out.sweeping);
  if ("settling" in out) throw new MarkSweepSettlingError(out.settling);
  const { retiredAt, retiredReason } = out.retired;
  return { retiredAt: retiredAt ?? now.toISOString(), retiredReason: retiredReason ?? "" };
}

/**
 * A restore counts objects missing from the backup as absent (gone before the backup), so a
 * location that holds nothing at all (a wrong one) is refused rather than "restored".
 */
async function checkBackupExists(deps: Pick<GcStepDeps, "s3">, location: string): Promise<void> {
  const loc = parseS3Uri(location, "location");
  for await (const _ of deps.s3.list(loc.bucket, loc.prefix === "" ? "" : `${loc.prefix}/`)) {
    return;
  }
  throw new Error(`location: no object under ${location}: nothing to restore from`);
}

/** Objects of the mark probed in a recordless location before a restore proceeds anyway. */
const RECORDLESS_PROBE_LIMIT = 10_000;

/**
 * A restore from a location without a record: one of the mark's first objects must be there,
 * else nothing is retired or restored (see backup-probe.ts). Past the probe limit, the copies
 * decide (a Lambda has minutes, not hours, to probe).
 */
async function checkRecordlessLocation(
  deps: Pick<GcStepDeps, "s3">,
  input: CopyMarkInput,
  parts: { key: string }[],
): Promise<void> {
  const ns = namespaceObjects(input.storageNamespace);
  const exists = async (bucket: string, key: string) => {
    for await (const o of deps.s3.list(bucket, key)) return o.key === key;
    return false;
  };
  async function* lines() {
    for (const { key } of parts) {
      const body = await deps.s3.lines(ns.bucket, key);
      if (body) yield* body;
    }
  }
  const places = { namespace: ns, location: parseS3Uri(input.location, "location") };
  const out = await probeBackupLocation(exists, lines(), places, {
    limit: RECORDLESS_PROBE_LIMIT,
  });
  if (!out.found && out.complete) {
    throw new Error(
      `location: ${notFoundProblem(out, input.location)} (which has no backup record): nothing restored and the mark is not retired`,
    );
  }
}

/** A backup into a location without a record: only an empty one (see backup-record.ts). */
async function checkLocationEmpty(deps: Pick<GcStepDeps, "s3">, location: string): Promise<void> {
  const loc = parseS3Uri(location, "location");
  for await (const _ of deps.s3.list(loc.bucket, loc.prefix === "" ? "" : `${loc.prefix}/`)) {
    throw new BackupRecordError(
      `location: ${location} ${UNRECORDED_LOCATION_PROBLEM}: nothing copied`,
    );
  }
}

export interface CopyPartsEvent {
  /** A backup's parts carry the ETag the plan checked: a list edited since is not copied. */
  Items: ListedMarkPart[];
  BatchInput: Pick<
    CopyMarkInput,
    "repository" | "copyId" | "storageNamespace" | "direction" | "location"
  >;
}

const sameEtag = (a: string, b: string) => a.replace(/"/g, "") === b.replace(/"/g, "");

/** What a map child copied of one part (or of its batch), as the end step sums it. */
export type CopyCounts = PartCopyCounts;
export const emptyCopyCounts = emptyPartCopyCounts;
export const addCopyCounts = addPartCopyCounts;

/** Where the map children leave their parts' counts: the copy's work folder. */
export function copyResultsPrefix(repository: string, copyId: string): string {
  return `${gcWorkKeys(repository, copyId).root}copy-results/`;
}

export function copyResultKey(repository: string, copyId: string, part: number): string {
  return `${copyResultsPrefix(repository, copyId)}part-${String(part).padStart(5, "0")}.json`;
}

/**
 * Copies the objects listed in the batch's parts. Each part's counts go to the work bucket
 * (copyResultKey) as soon as it is copied, failures included; the end step sums them. A
 * failed object fails the child (and the workflow) after that, naming the objects.
 */
export async function runCopyPartsStep(
  deps: Pick<GcStepDeps, "s3" | "workBucket">,
  s3: S3Client,
  event: CopyPartsEvent,
): Promise<CopyCounts> {
  const { repository, copyId, storageNamespace, direction, location } = event.BatchInput;
  checkLocationOutside(storageNamespace, location);
  const ns = namespaceObjects(storageNamespace);
  const places = { direction, namespace: ns, location: parseS3Uri(location, "location") };
  const total = emptyCopyCounts();
  const failures: string[] = [];
  for (const { key, part, etag } of event.Items ?? []) {
    const read = await deps.s3.getVersioned(ns.bucket, key);
    if (read === undefined) throw new Error(`copy: marked list ${key} does not exist`);
    if (direction === "backup" && etag !== undefined && !sameEtag(read.etag, etag)) {
      throw new Error(
        `copy: marked list ${key} was changed since the plan checked it (its ETag is no longer ${etag}): not copied`,
      );
    }
    const text = read.text;
    const out = await copyMarkPart(deps.s3, s3, { number: part, lines: text.split("\n") }, places);
    await deps.s3.put(
      deps.workBucket,
      copyResultKey(repository, copyId, part),
      JSON.stringify(out.counts),
      "application/json",
    );
    addCopyCounts(total, out.counts);
    for (const f of out.failures.slice(0, 5)) failures.push(`${f.path} (${f.code}: ${f.message})`);
  }
  if (total.failed > 0) {
    // Fails this map child (and so the copy workflow), naming the objects.
    const err = new Error(
      `${direction}: ${total.failed} object(s) not copied: ${failures.join("; ")}`,
    );
    err.name = "GcCopyFailed";
    throw err;
  }
  return total;
}
