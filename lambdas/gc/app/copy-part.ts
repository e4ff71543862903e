// One part of a mark's list backed up or restored: the copy workflow's map children and the
// CLI's copies from this machine both go through here, part by part. A backup leaves the part's
// absent keys in the location; a restore reads them back to tell absent objects from lost ones
// (backup-absent.ts).
import type { S3Client } from "@aws-sdk/client-s3";
import { type CopyBatchResult, runCopyBatch } from "../../shared/s3-copy";
import type { CopyOperation, OperationFailure } from "../../shared/s3-copy/types";
import {
  absentListKey,
  encodeAbsentList,
  parseAbsentList,
  partShortfall,
} from "../domain/backup-absent";
import { isAbsentSource } from "../domain/copy-absent";
import { type MarkCopyPlaces, markCopyOperation } from "../domain/copy-address";
import type { GcObjectStore } from "../ports";
import { heldAtDestination } from "./copy-held";

/** What the copy of one part (or of several, summed) did. */
export interface PartCopyCounts {
  objects: number;
  copied: number;
  copiedBytes: number;
  /** Already at the destination (see copy-held.ts). */
  present: number;
  /** At neither place: swept before the backup, or (a restore) lost from the location. */
  absent: number;
  failed: number;
  /** A restore's absent objects the backup saved: lost from the location since. */
  lost: number;
  /** A restore's parts whose absent list the location does not hold. */
  absentListsMissing: number;
  /** Some lost keys, to name them. */
  lostExamples: string[];
}

export interface PartCopyOutcome {
  counts: PartCopyCounts;
  /** Lines refused and objects not copied, each named. */
  failures: OperationFailure[];
}

const LOST_EXAMPLES = 5;

export async function copyMarkPart(
  store: Pick<GcObjectStore, "put" | "getText">,
  s3: S3Client,
  part: { number: number; lines: readonly string[] },
  places: MarkCopyPlaces,
  opts: { concurrency?: number; onProgress?: (soFar: Readonly<CopyBatchResult>) => void } = {},
): Promise<PartCopyOutcome> {
  const ops: CopyOperation[] = [];
  const refused: OperationFailure[] = [];
  for (const line of part.lines) {
    if (line.length === 0) continue;
    const op = markCopyOperation(line, places);
    if ("code" in op) refused.push(op);
    else ops.push(op);
  }
  const out = await runCopyBatch(s3, ops, {
    concurrency: opts.concurrency ?? 32,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  const copyFailed = out.failed.filter((f) => !isAbsentSource(f));
  const byId = new Map(ops.map((o) => [o.id, o]));
  const absentOps = out.failed.filter(isAbsentSource).flatMap((f) => byId.get(f.path) ?? []);
  const held = new Set(await heldAtDestination(s3, absentOps));
  const missing = absentOps.filter((op) => !held.has(op)).map((op) => op.id);
  const shortfall = await absentListStep(store, part.number, places, missing);
  return {
    counts: {
      objects: ops.length + refused.length,
      copied: out.copied,
      copiedBytes: out.copiedBytes,
      present: out.present + held.size,
      absent: missing.length,
      failed: refused.length + copyFailed.length,
      lost: shortfall.lost.length,
      absentListsMissing: shortfall.listMissing ? 1 : 0,
      lostExamples: shortfall.lost.slice(0, LOST_EXAMPLES),
    },
    failures: [...refused, ...copyFailed],
  };
}

/** A backup writes the part's absent list; a restore compares its missing keys with it. */
async function absentListStep(
  store: Pick<GcObjectStore, "put" | "getText">,
  part: number,
  places: MarkCopyPlaces,
  missing: string[],
): Promise<{ lost: string[]; listMissing: boolean }> {
  const key = absentListKey(places.location.prefix, part);
  if (places.direction === "backup") {
    await store.put(places.location.bucket, key, encodeAbsentList(missing), "text/plain");
    return { lost: [], listMissing: false };
  }
  const text = await store.getText(places.location.bucket, key);
  return partShortfall(missing, text === undefined ? undefined : parseAbsentList(text));
}

export const emptyPartCopyCounts = (): PartCopyCounts => ({
  objects: 0,
  copied: 0,
  copiedBytes: 0,
  present: 0,
  absent: 0,
  failed: 0,
  lost: 0,
  absentListsMissing: 0,
  lostExamples: [],
});

export function addPartCopyCounts(into: PartCopyCounts, add: PartCopyCounts): void {
  into.objects += add.objects;
  into.copied += add.copied;
  into.copiedBytes += add.copiedBytes;
  into.present += add.present;
  into.absent += add.absent;
  into.failed += add.failed;
  into.lost += add.lost;
  into.absentListsMissing += add.absentListsMissing;
  if (into.lostExamples.length < LOST_EXAMPLES) {
    into.lostExamples.push(...add.lostExamples.slice(0, LOST_EXAMPLES - into.lostExamples.length));
  }
}
