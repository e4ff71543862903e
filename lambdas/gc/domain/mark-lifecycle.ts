// When a mark may still be swept. A mark describes the repository at one moment: swept once
// it is used up, restored it describes objects that are back in use, and old it describes a
// repository that has moved on. Pure: the record and the clock are parameters.

/** The default of the maxMarkAgeHours setting. */
export const DEFAULT_MAX_MARK_AGE_HOURS = 24;
/** A week: the mark's working data in the work bucket expires after 7 days. */
export const MAX_MARK_AGE_HOURS_LIMIT = 168;

export interface MarkLifecycle {
  markId: string;
  runId: string;
  status: string;
  /** Epoch seconds: the retention "now" of the mark. */
  markNow?: number;
  sweepRunId?: string;
  sweepStatus?: string;
  sweptAt?: string;
  retiredAt?: string;
  retiredReason?: string;
  /** The storage namespace the mark was made in (absent on marks of older versions). */
  storageNamespace?: string;
}

/**
 * Why `mark` cannot be swept by a new run at `nowSeconds`, or undefined when it can. An
 * interrupted sweep (failed, or never recorded as ended) can be resumed.
 */
export function sweepRefusal(
  mark: MarkLifecycle,
  nowSeconds: number,
  maxMarkAgeHours: number,
): string | undefined {
  const id = `mark id "${mark.markId}"`;
  if (mark.status !== "succeeded") {
    return `${id} is from a ${mark.status} mark run (${mark.runId}): sweep needs a successful mark`;
  }
  if (mark.sweepStatus === "succeeded") {
    return `${id} was already swept by run ${mark.sweepRunId}${mark.sweptAt ? ` at ${mark.sweptAt}` : ""}: a mark is swept at most once; start a new mark`;
  }
  if (mark.retiredAt) {
    return `${id} was retired at ${mark.retiredAt}${mark.retiredReason ? ` (${mark.retiredReason})` : ""}: its objects may be in use again, so it can no longer be swept; start a new mark`;
  }
  if (mark.markNow === undefined) {
    return `${id} was taken by an older version of Lakeport without its time: start a new mark`;
  }
  const ageHours = (nowSeconds - mark.markNow) / 3600;
  if (ageHours > maxMarkAgeHours) {
    return `${id} is ${Math.floor(ageHours)} hours old, older than maxMarkAgeHours (${maxMarkAgeHours}): the repository has moved on since; start a new mark`;
  }
  return undefined;
}

/** maxMarkAgeHours from a setting or environment value; undefined gives the default. */
export function parseMaxMarkAgeHours(value: string | number | undefined, field: string): number {
  if (value === undefined || value === "") return DEFAULT_MAX_MARK_AGE_HOURS;
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_MARK_AGE_HOURS_LIMIT) {
    throw new RangeError(
      `${field}: must be a whole number of hours from 1 to ${MAX_MARK_AGE_HOURS_LIMIT} (got ${JSON.stringify(value)})`,
    );
  }
  return n;
}

/**
 * Why `mark` cannot be swept in `storageNamespace`, the repository's namespace now: its lists
 * name keys of the namespace it was made in, against that namespace's commits. A repository
 * created again on another namespace (a copy of the old one holds the lists too) is refused.
 */
export function namespaceRefusal(
  mark: MarkLifecycle,
  storageNamespace: string,
): string | undefined {
  const trim = (ns: string) => ns.replace(/\/+$/, "");
  if (!mark.storageNamespace || trim(mark.storageNamespace) === trim(storageNamespace)) {
    return undefined;
  }
  return `mark id "${mark.markId}" was made in storage namespace ${mark.storageNamespace}, not ${storageNamespace} (the repository's now): a mark is swept only where it was made; nothing is deleted; start a new mark`;
}
