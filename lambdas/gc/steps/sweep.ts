// Sweep. The plan step lists the mark's text parts (addresses.text/mark_id=) into the work
// bucket for the sweep map; each child deletes the keys of its parts with DeleteObjects
// (1 000 keys a request, throttling retried, a key already gone counts as deleted, so a
// sweep run again after an interruption finishes) and writes what it deleted as Parquet
// under _lakefs/logs/gc/deleted_objects/dt=. Keys that could not be deleted are counted and
// sampled for the summary, which then fails the run: per-key errors are never ignored.
import { forEachConcurrently } from "../../shared/concurrency";
import { gcPaths } from "../domain/paths";
import { encodeDeletedObjectsLog } from "../domain/reports";
import { encodeJsonLines } from "../domain/shards";
import { DELETE_BATCH_SIZE, deleteBatches } from "../domain/sweep";
import type { GcStepDeps, KeyDeleteFailure } from "../ports";
import type { GcWorkflowInput } from "../workflow-input";
import { gcWorkKeys, namespaceObjects, runDate } from "./common";

export interface SweepPlanResult {
  partsKey: string;
  parts: number;
}

const PART_RE = /part-(\d{5})\.txt$/;

export async function runSweepPlanStep(
  deps: GcStepDeps,
  input: GcWorkflowInput,
): Promise<SweepPlanResult> {
  const ns = namespaceObjects(input.storageNamespace);
  const prefix = ns.key(gcPaths.addressesTextPrefix(input.markId));
  const parts: { key: string; part: number }[] = [];
  for await (const o of deps.s3.list(ns.bucket, prefix)) {
    const m = PART_RE.exec(o.key);
    if (m) parts.push({ key: o.key, part: Number(m[1]) });
  }
  const work = gcWorkKeys(input.repository, input.runId);
  await deps.s3.put(deps.workBucket, work.sweepParts, encodeJsonLines(parts));
  return { partsKey: work.sweepParts, parts: parts.length };
}

export interface SweepBatchContext {
  repository: string;
  runId: string;
  storageNamespace: string;
  now: number;
}

export interface SweepStepEvent {
  Items: { key: string; part: number }[];
  BatchInput: SweepBatchContext;
}

/** Failures kept per part in the counts file (the rest are only counted). */
const FAILURE_SAMPLE = 20;

export async function runSweepStep(
  deps: GcStepDeps,
  event: SweepStepEvent,
  opts: { concurrency?: number } = {},
): Promise<{ deleted: number; failed: number }> {
  const ctx = event.BatchInput;
  if (!ctx) throw new Error("sweep step: BatchInput (repository, runId, ...) is missing");
  const ns = namespaceObjects(ctx.storageNamespace);
  const work = gcWorkKeys(ctx.repository, ctx.runId);
  let deleted = 0;
  let failedTotal = 0;
  for (const { key, part } of event.Items ?? []) {
    const text = await deps.s3.getText(ns.bucket, key);
    if (text === undefined) throw new Error(`sweep step: marked list ${key} does not exist`);
    const keys = text.split("\n").filter((k) => k.length > 0);
    const failed: KeyDeleteFailure[] = [];
    await forEachConcurrently(
      deleteBatches(keys, DELETE_BATCH_SIZE),
      opts.concurrency ?? 8,
      async (batch) => {
        const out = await deps.s3.deleteKeys(
          ns.bucket,
          batch.map((k) => ns.key(k)),
        );
        for (const f of out.failed) {
          failed.push({ ...f, key: f.key.slice(ns.keyPrefix.length) });
        }
      },
    );
    const failedKeys = new Set(failed.map((f) => f.key));
    const gone = keys.filter((k) => !failedKeys.has(k));
    await deps.s3.put(
      ns.bucket,
      ns.key(gcPaths.deletedObjectsPart(runDate(ctx.now), part)),
      encodeDeletedObjectsLog(gone),
    );
    await deps.s3.put(
      deps.workBucket,
      work.sweepCounts(part),
      JSON.stringify({
        deleted_objects: gone.length,
        delete_errors: failed.length,
        failures: failed.slice(0, FAILURE_SAMPLE),
      }),
    );
    deleted += gone.length;
    failedTotal += failed.length;
  }
  return { deleted, failed: failedTotal };
}
