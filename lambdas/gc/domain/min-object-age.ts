// lakeFS's own GC never deletes an object modified in the last day (its Spark client lists the
// namespace and keeps every object whose last-modified time is after its cutoff, 24 hours by
// default). Lakeport marks what expired commits reference, so an object is usually far older
// than that; it is not with retention 0 (a commit's parent expires 3 hours after the commit)
// or with backdated commits (lakeFS's commit API takes a `date`), and there the mark would
// delete an object written minutes ago that lakeFS keeps for a day. So an expired entry created
// within the minimum age is not marked. Pure: the clock is a parameter.
import { RETENTION_SLACK_SECONDS } from "./retention";

/** lakeFS's GC default minimum age of an object it deletes. */
export const DEFAULT_MIN_OBJECT_AGE_SECONDS = 24 * 3_600;

/**
 * Whether an expired entry of lakeFS modification time `mtime` (Unix seconds, truncated; the
 * entry's creation, when its object was written) is too young to mark at `now`. The window
 * has the retention windows' slack (lakeFS's clock, not the Lambda's). 0 turns it off.
 */
export function tooYoungToMark(mtime: number, now: number, minAgeSeconds: number): boolean {
  if (minAgeSeconds === 0) return false;
  return mtime >= now - minAgeSeconds - RETENTION_SLACK_SECONDS;
}
