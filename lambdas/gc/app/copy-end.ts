// The copy workflow's last step, once every map child succeeded: sums the parts' counts the
// children left in the work bucket (a planned part without its result is an error), then
// - a backup: a sweep of the mark that began since the plan deleted objects the backup counted
//   as absent: its record says failed (naming that sweep) and the workflow fails; otherwise
//   the record says complete, with its counts;
// - a restore from a complete backup: fewer of the mark's objects found than the backup saved
//   (the location lost some since) fails the workflow, naming how many are missing.
// Returns the totals: the execution's `$.end`.
import { NotFoundError } from "../../shared/errors";
import {
  type BackupCounts,
  type BackupState,
  finishedRecord,
  restoreShortfall,
  startedRecord,
} from "../domain/backup-record";
import type { GcObjectStore, GcStepDeps } from "../ports";
import {
  addCopyCounts,
  type CopyCounts,
  type CopyMarkInput,
  type CopyPlan,
  type CopyPlanDeps,
  copyResultKey,
  emptyCopyCounts,
} from "./copy-mark";
import { backupOwner, updateBackupRecord } from "./copy-record";

export interface CopyEndInput extends CopyMarkInput {
  plan: CopyPlan;
  /**
   * Set when the copy map failed (its caught error): a backup's record then says failed, with
   * the counts of the parts that finished, so it never stays "in progress".
   */
  failure?: { Error?: string; Cause?: string };
}

export interface CopyEndDeps extends Pick<GcStepDeps, "s3" | "workBucket" | "now"> {
  marks: Pick<CopyPlanDeps["marks"], "getMark">;
}

/** What the execution's output carries at `$.end`. */
export interface CopyTotals extends CopyCounts {
  direction: "backup" | "restore";
  parts: number;
  /** A backup: the state of the record it wrote (complete). */
  recordState?: BackupState;
  /** A restore: whether the location held a backup record (checked against it when complete). */
  recordFound?: boolean;
}

/** A sweep of the mark began during its backup: the backup misses what it deleted. */
export class BackupIncompleteError extends Error {
  override readonly name = "BackupIncompleteError";
}

/** A restore found fewer of the mark's objects in the location than its backup saved. */
export class RestoreShortfallError extends Error {
  override readonly name = "RestoreShortfallError";
}

export async function runCopyEndStep(deps: CopyEndDeps, input: CopyEndInput): Promise<CopyTotals> {
  if (input.failure) return endFailedCopy(deps, input, input.failure);
  const counts = await sumCopyResults(deps, input);
  const parts = input.plan.parts;
  if (input.direction === "backup") {
    await endBackup(deps, input, counts);
    return { direction: "backup", parts, ...counts, recordState: "complete" };
  }
  const record = input.plan.record;
  const shortfall = record ? restoreShortfall(record, counts) : undefined;
  if (shortfall) {
    throw new RestoreShortfallError(
      `restore of mark "${input.markId}" from ${input.location}: ${shortfall}: counted as absent, not restored`,
    );
  }
  return { direction: "restore", parts, ...counts, recordFound: record !== undefined };
}

/** The record at the backup's end: complete, or failed when a sweep of the mark began since. */
async function endBackup(deps: CopyEndDeps, input: CopyEndInput, counts: CopyCounts) {
  const { plan } = input;
  if (!plan.recordStartedAt) {
    throw new Error("plan.recordStartedAt: missing (a backup's plan writes its record)");
  }
  const started = startedRecord(backupOwner(input), new Date(plan.recordStartedAt));
  const backupCounts: BackupCounts = {
    objects: counts.objects,
    saved: counts.copied + counts.present,
    absent: counts.absent,
    failed: counts.failed,
  };
  const mark = await deps.marks.getMark(input.repository, input.markId);
  if (!mark) {
    throw new NotFoundError(`mark id "${input.markId}" not found in "${input.repository}"`);
  }
  const sweep = mark.sweepRunId ?? null;
  const reason =
    sweep !== (plan.sweepRunId ?? null)
      ? `sweep run ${sweep} of mark "${input.markId}" began during the backup: objects it deleted are missing from the backup (counted as absent); back a mark up before its sweep`
      : undefined;
  const record = finishedRecord(started, backupCounts, deps.now(), reason);
  await updateBackupRecord(deps.s3, input.location, record, plan.recordEtag);
  if (record.state !== "complete") {
    throw new BackupIncompleteError(
      `backup of mark "${input.markId}" to ${input.location}: ${record.reason}`,
    );
  }
}

/**
 * After the copy map failed: a backup's record says failed, with why and the counts of the
 * parts that finished (a restore has no record to write). The workflow fails after it.
 */
async function endFailedCopy(
  deps: CopyEndDeps,
  input: CopyEndInput,
  failure: NonNullable<CopyEndInput["failure"]>,
): Promise<CopyTotals> {
  const counts = await sumCopyResults(deps, input, { partial: true });
  const base = { direction: input.direction, parts: input.plan.parts, ...counts };
  if (input.direction !== "backup" || !input.plan.recordStartedAt) return base;
  const started = startedRecord(backupOwner(input), new Date(input.plan.recordStartedAt));
  const failedObjects = counts.failed > 0 ? `${counts.failed} object(s) not backed up; ` : "";
  const reason = `${failedObjects}the copy failed (${failure.Error ?? "error"}: ${causeMessage(failure.Cause)})`;
  const record = finishedRecord(
    started,
    {
      objects: counts.objects,
      saved: counts.copied + counts.present,
      absent: counts.absent,
      failed: counts.failed,
    },
    deps.now(),
    reason,
  );
  await updateBackupRecord(deps.s3, input.location, record, input.plan.recordEtag);
  return { ...base, recordState: record.state };
}

/** A Lambda error's cause is its error as JSON: its message (bounded, for the record). */
function causeMessage(cause: string | undefined): string {
  let text = cause ?? "";
  try {
    const parsed = JSON.parse(text) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === "string") text = parsed.errorMessage;
  } catch {
    // A state's own cause: as it is.
  }
  return text.length > 500 ? `${text.slice(0, 500)}...` : text;
}

/**
 * The parts' counts the map children wrote, summed; every planned part must have its own
 * (`partial`: after a failed map, the parts that have one).
 */
async function sumCopyResults(
  deps: Pick<CopyEndDeps, "s3" | "workBucket">,
  input: CopyEndInput,
  opts: { partial?: boolean } = {},
): Promise<CopyCounts> {
  const parts = await plannedParts(deps.s3, deps.workBucket, input.plan.partsKey);
  const total = emptyCopyCounts();
  const results = await mapLimit(parts, 16, async (part) => {
    const key = copyResultKey(input.repository, input.copyId, part);
    const text = await deps.s3.getText(deps.workBucket, key);
    if (text === undefined) {
      if (opts.partial) return emptyCopyCounts();
      throw new Error(
        `copy: part ${part} of mark "${input.markId}" has no result (${key}): its copy did not run`,
      );
    }
    // A result without the newer fields (written by an earlier version) counts them as none.
    return { ...emptyCopyCounts(), ...(JSON.parse(text) as Partial<CopyCounts>) };
  });
  for (const r of results) addCopyCounts(total, r);
  return total;
}

async function plannedParts(
  s3: Pick<GcObjectStore, "getText">,
  bucket: string,
  partsKey: string,
): Promise<number[]> {
  const text = await s3.getText(bucket, partsKey);
  if (text === undefined) throw new Error(`copy: the plan's parts (${partsKey}) do not exist`);
  return text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => (JSON.parse(l) as { part: number }).part);
}

async function mapLimit<T, R>(items: T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
