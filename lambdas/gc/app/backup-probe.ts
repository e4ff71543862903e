// A restore from a location without a backup record (a backup made before records, a copy
// made by hand) cannot say which mark the location holds. A wrong one (the backup's parent
// folder, another mark's backup) would restore nothing, yet the restore retires the mark first.
// So before retiring, the restore looks for one of the mark's objects in the location,
// stopping at the first found: a location holding none of them is refused, changing nothing.
import type { CopyOperation } from "../../shared/s3-copy/types";
import { type MarkCopyPlaces, markCopyOperation } from "../domain/copy-address";

export type ProbeOutcome =
  /** One of the mark's objects is in the location. */
  | { found: true }
  /**
   * None of the `probed` objects is (`complete`: every listed object was probed); `refused`
   * lines are no object a restore may copy (InvalidAddress), so they were not probed.
   */
  | { found: false; probed: number; complete: boolean; refused: number };

/** What a location none of whose probed objects holds is refused with (the callers add why). */
export function notFoundProblem(
  out: Extract<ProbeOutcome, { found: false }>,
  location: string,
): string {
  if (out.probed === 0 && out.refused > 0) {
    return `the mark lists no object a restore may copy under ${location} (its ${out.refused} line(s) are refused as InvalidAddress)`;
  }
  return `none of the mark's ${out.probed} object(s) is under ${location}`;
}

/**
 * Looks for the mark's listed objects in a restore's location, `concurrency` at a time, until
 * one exists or `limit` were probed (unbounded when absent).
 */
export async function probeBackupLocation(
  exists: (bucket: string, key: string) => Promise<boolean>,
  lines: AsyncIterable<string>,
  places: Omit<MarkCopyPlaces, "direction">,
  opts: { concurrency?: number; limit?: number } = {},
): Promise<ProbeOutcome> {
  const concurrency = opts.concurrency ?? 16;
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  let probed = 0;
  let refused = 0;
  let batch: CopyOperation[] = [];
  const anyIn = async (ops: CopyOperation[]) =>
    (await Promise.all(ops.map((op) => exists(op.sourceBucket, op.sourceKey)))).some(Boolean);
  for await (const line of lines) {
    if (line.length === 0) continue;
    const op = markCopyOperation(line, { ...places, direction: "restore" });
    if ("code" in op) {
      refused++; // refused by the copy itself, named there
      continue;
    }
    // An object past the limit is left unprobed: only then is the outcome incomplete.
    if (probed >= limit) return { found: false, probed, complete: false, refused };
    batch.push(op);
    if (batch.length < concurrency && probed + batch.length < limit) continue;
    probed += batch.length;
    if (await anyIn(batch)) return { found: true };
    batch = [];
  }
  probed += batch.length;
  if (batch.length > 0 && (await anyIn(batch))) return { found: true };
  return { found: false, probed, complete: true, refused };
}
