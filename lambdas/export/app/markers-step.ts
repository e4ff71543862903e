// Markers step: `_lakefs_success` objects, bottom-up, only where nothing under the directory
// failed. Shards without a result (crashed copy batch) count as failed under every selected
// directory of their copies and deletes (a keep needs no operation). Summaries are merged k-way (tree rounds of MERGE_FAN_IN when there
// are many), split into depth levels, and each level is done before the next one up: markers
// of directories holding a copied or kept object are written; a directory with only deletes
// under it is looked up in the commit (one listing of one object) and gets its marker written
// if anything is left under it, deleted if not. A failed marker write or delete withholds the
// markers of its ancestors, and removes those an earlier export wrote. A marker key longer
// than S3's 1 024 bytes is such a failure, named, without a request (S3 answers
// KeyTooLongError; the embedded S3 would store it).
import type { S3Client } from "@aws-sdk/client-s3";
import { forEachConcurrently } from "../../shared/concurrency";
import type { LakeFsApi } from "../../shared/lakefs/types";
import { logger } from "../../shared/logger";
import { deleteObjects, writeEmptyObjects } from "../../shared/s3-copy";
import { parseS3Uri } from "../../shared/s3-uri";
import {
  ancestorsOfFailedMarkers,
  compileDirectorySelector,
  type DirectorySelector,
  encodeMarkerSummaryLine,
  hasExportedObjectUnder,
  type MarkerLevelPart,
  type MarkerSummaryEntry,
  markerKey,
  mergeMarkerSummaries,
  parseMarkerSummaryLine,
  partitionMarkerLevels,
  ShardMarkerSummaryBuilder,
} from "../domain/markers";
import type { OperationError } from "../domain/status";
import { parseTaskShard } from "../domain/tasks";
import { exportWorkKeys } from "../domain/work-layout";
import type { ExportWorkflowState, MarkersStepOutput } from "../domain/workflow-state";
import { workflowInputOf } from "../domain/workflow-state";
import type { ExportObjectStore } from "../ports";
import { MAX_KEY_BYTES, operationsOfTasks } from "./export-operations";
import { asWriter } from "./export-writers";
import {
  completedShards,
  MissingTaskShardError,
  missingShards,
  nonEmptyLines,
} from "./shard-files";

export interface MarkersStepDeps {
  store: ExportObjectStore;
  s3: S3Client;
  /** Asked whether a directory an export emptied still has objects in the commit. */
  lakefs: Pick<LakeFsApi, "listObjectsPage">;
  workBucket: string;
}

export const MERGE_FAN_IN = 64;
/** lakeFS lookups in flight for directories that may have been emptied. */
const CHECK_CONCURRENCY = 8;
const RUN_PART_LINES = 100_000;
const MAX_SAMPLES = 20;

/**
 * The markers of the export, written as a registered writer of its path: a late attempt (one
 * Step Functions retried after a service error, starting after the export ended) writes none.
 */
export async function runMarkersStep(
  deps: MarkersStepDeps,
  state: ExportWorkflowState,
): Promise<MarkersStepOutput> {
  const { exportId, lastKeysInPrefixRegexp } = workflowInputOf(state);
  // Without marker directories the step writes nothing to the export path.
  if (lastKeysInPrefixRegexp.length === 0) return placeMarkers(deps, state);
  const done = await asWriter(deps, exportId, "markers", () => placeMarkers(deps, state));
  if (done) return done;
  logger.warn("markers step started after its export ended: nothing written", { exportId });
  return { markers: 0, removed: 0, withheld: 0, failed: 0, errorSamples: [], late: true };
}

async function placeMarkers(
  deps: MarkersStepDeps,
  state: ExportWorkflowState,
): Promise<MarkersStepOutput> {
  const input = workflowInputOf(state);
  const { store, workBucket } = deps;
  const none: MarkersStepOutput = {
    markers: 0,
    removed: 0,
    withheld: 0,
    failed: 0,
    errorSamples: [],
  };
  if (input.lastKeysInPrefixRegexp.length === 0) return none;
  const planned = state.plan?.counts.shards ?? 0;
  const unreported = missingShards(
    planned,
    await completedShards(store, workBucket, input.exportId),
  );
  const selector = compileDirectorySelector(input.lastKeysInPrefixRegexp);
  const keys = exportWorkKeys(input.exportId);
  const { bucket, prefix } = parseS3Uri(input.exportPath, "exportPath");

  await summariseUnreportedShards(deps, input.exportId, unreported, bucket, selector);

  // Each source is a list of part keys read one after the other.
  let sources: string[][] = [];
  for await (const key of store.listKeys(workBucket, keys.markerSummariesPrefix)) {
    sources.push([key]);
  }
  if (sources.length === 0) return none;
  for (let round = 1; sources.length > MERGE_FAN_IN; round++) {
    const next: string[][] = [];
    for (let run = 0; run * MERGE_FAN_IN < sources.length; run++) {
      const group = sources.slice(run * MERGE_FAN_IN, (run + 1) * MERGE_FAN_IN);
      next.push(await writeRun(deps, group, (part) => keys.markerMergeRunPart(round, run, part)));
    }
    sources = next;
  }

  const index = await partitionMarkerLevels(
    mergeMarkerSummaries(sources.map((parts) => readSummary(store, workBucket, parts))),
    {
      write: (depth, part, dirs) =>
        store.put(workBucket, keys.markerLevelPart(depth, part), JSON.stringify(dirs)),
    },
  );
  await store.put(workBucket, keys.markerIndex, JSON.stringify(index));

  const failedDirs: string[] = [];
  const errorSamples: OperationError[] = [];
  let written = 0;
  let removed = 0;
  let blockedCount = 0;
  const recordFailures = (failures: { key: string; code: string; message: string }[]) => {
    for (const f of failures) {
      const dir = f.key.slice(prefix === "" ? 0 : prefix.length + 1, -"_lakefs_success".length);
      failedDirs.push(dir);
      if (errorSamples.length < MAX_SAMPLES) {
        errorSamples.push({ path: `${dir}_lakefs_success`, code: f.code, message: f.message });
      }
    }
  };
  for (const level of index.levels) {
    const blocked = ancestorsOfFailedMarkers(failedDirs);
    for (let part = 0; part < level.parts; part++) {
      const body = await store.getText(workBucket, keys.markerLevelPart(level.depth, part));
      const parsed = JSON.parse(body ?? "{}") as Partial<MarkerLevelPart>;
      const toWrite = (parsed.dirs ?? []).filter((d) => !blocked.has(d));
      const toCheck = (parsed.check ?? []).filter((d) => !blocked.has(d));
      const unmarked = [...(parsed.dirs ?? []), ...(parsed.check ?? [])].filter((d) =>
        blocked.has(d),
      );
      blockedCount += unmarked.length;
      // A directory with only deletes under it keeps its marker if the commit still has
      // objects there, and loses it if not.
      const emptied: string[] = [];
      await forEachConcurrently(toCheck, CHECK_CONCURRENCY, async (dir) => {
        if (await hasExportedObjectUnder(deps.lakefs, input.repository, input.commitId, dir)) {
          toWrite.push(dir);
        } else {
          emptied.push(dir);
        }
      });
      const out = await writeMarkers(
        deps.s3,
        bucket,
        toWrite.map((dir) => markerKey(prefix, dir)),
      );
      written += out.written;
      recordFailures(out.failed);
      const gone = await deleteMarkers(deps.s3, bucket, prefix, emptied);
      removed += gone.deleted;
      recordFailures(gone.failed);
      // Above a marker that could not be written or removed, an earlier export's marker would
      // say that those below have theirs: it goes (a copy or delete under it retracted it
      // already, kept objects alone did not).
      recordFailures((await deleteMarkers(deps.s3, bucket, prefix, unmarked)).failed);
    }
  }
  return {
    markers: written,
    removed,
    withheld: index.withheld + blockedCount,
    failed: failedDirs.length,
    errorSamples,
  };
}

/**
 * Summaries of the shards whose copy batch never reported: every selected directory of their
 * copies and deletes is failed. A keep task needs no operation (its object is exported as it is
 * in the commit): it did not fail unless the batch would have refused it (a committed marker),
 * as the status step counts it.
 */
async function summariseUnreportedShards(
  deps: MarkersStepDeps,
  exportId: string,
  unreported: number[],
  bucket: string,
  selector: DirectorySelector,
): Promise<void> {
  const { store, workBucket } = deps;
  const keys = exportWorkKeys(exportId);
  for (const i of unreported) {
    const body = await store.getText(workBucket, keys.taskShard(i));
    // Its directories are unknown: any marker could cover an object never copied.
    if (body === undefined) {
      throw new MissingTaskShardError(
        `task shard ${keys.taskShard(i)} is missing, so which directories it held is unknown: no marker is written`,
      );
    }
    const tasks = parseTaskShard(body);
    const refused = new Set(operationsOfTasks(tasks, bucket, selector).invalid.map((f) => f.path));
    const builder = new ShardMarkerSummaryBuilder(selector);
    for (const t of tasks) {
      builder.add(t.path, t.op !== "keep" || refused.has(t.path), t.op !== "delete");
    }
    const lines = builder.entries().map(encodeMarkerSummaryLine);
    if (lines.length) await store.put(workBucket, keys.markerSummary(i), `${lines.join("\n")}\n`);
  }
}

const isTooLong = (key: string) => Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES;

/** Deletes the markers of `dirs` (a key S3 cannot hold needs no delete). */
async function deleteMarkers(s3: S3Client, bucket: string, prefix: string, dirs: string[]) {
  if (dirs.length === 0) return { deleted: 0, failed: [] };
  const keys = dirs.map((dir) => markerKey(prefix, dir)).filter((k) => !isTooLong(k));
  return deleteObjects(s3, bucket, keys);
}

/** Empty marker objects; a key longer than S3 allows is a failure naming it, not sent. */
async function writeMarkers(
  s3: S3Client,
  bucket: string,
  keys: string[],
): Promise<{ written: number; failed: { key: string; code: string; message: string }[] }> {
  const tooLong = keys.filter(isTooLong).map((key) => ({
    key,
    code: "KeyTooLong",
    message: `under the export prefix the marker's key is ${Buffer.byteLength(key, "utf8")} bytes; S3 keys are at most ${MAX_KEY_BYTES}`,
  }));
  const out = await writeEmptyObjects(
    s3,
    bucket,
    keys.filter((k) => !isTooLong(k)),
  );
  return { written: out.written, failed: [...tooLong, ...out.failed] };
}

async function* readSummary(
  store: ExportObjectStore,
  bucket: string,
  parts: string[],
): AsyncGenerator<MarkerSummaryEntry> {
  for (const key of parts) {
    const body = await store.getText(bucket, key);
    for (const line of nonEmptyLines(body ?? "")) yield parseMarkerSummaryLine(line);
  }
}

/** Merges a group of sources into one run written in parts; returns the part keys. */
async function writeRun(
  deps: MarkersStepDeps,
  group: string[][],
  partKey: (part: number) => string,
): Promise<string[]> {
  const parts: string[] = [];
  let lines: string[] = [];
  const flush = async () => {
    if (lines.length === 0) return;
    const key = partKey(parts.length);
    await deps.store.put(deps.workBucket, key, `${lines.join("\n")}\n`);
    parts.push(key);
    lines = [];
  };
  const merged = mergeMarkerSummaries(
    group.map((p) => readSummary(deps.store, deps.workBucket, p)),
  );
  for await (const entry of merged) {
    lines.push(encodeMarkerSummaryLine(entry));
    if (lines.length >= RUN_PART_LINES) await flush();
  }
  await flush();
  return parts;
}
