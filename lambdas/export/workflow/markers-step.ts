// Markers step: `_lakefs_success` objects, bottom-up, only where nothing under the directory
// failed. Shards without a result (crashed copy batch) count as failed under every selected
// directory of their tasks. Summaries are merged k-way (tree rounds of MERGE_FAN_IN when there
// are many), split into depth levels, and each level is written before the next one up; a
// failed marker write withholds the markers of its ancestors.
import type { S3Client } from "@aws-sdk/client-s3";
import { parseS3Uri } from "../../shared/s3-uri";
import { writeEmptyObjects } from "../copy";
import {
  ancestorsOfFailedMarkers,
  compileDirectorySelector,
  encodeMarkerSummaryLine,
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
import type { ExportObjectStore } from "../ports";
import { completedShards, missingShards, nonEmptyLines } from "./shard-files";
import type { ExportWorkflowState, MarkersStepOutput } from "./state";
import { workflowInputOf } from "./state";

export interface MarkersStepDeps {
  store: ExportObjectStore;
  s3: S3Client;
  workBucket: string;
}

export const MERGE_FAN_IN = 64;
const RUN_PART_LINES = 100_000;
const MAX_SAMPLES = 20;

export async function runMarkersStep(
  deps: MarkersStepDeps,
  state: ExportWorkflowState,
): Promise<MarkersStepOutput> {
  const input = workflowInputOf(state);
  const none: MarkersStepOutput = { markers: 0, withheld: 0, failed: 0, errorSamples: [] };
  if (input.lastKeysInPrefixRegexp.length === 0) return none;
  const selector = compileDirectorySelector(input.lastKeysInPrefixRegexp);
  const keys = exportWorkKeys(input.exportId);
  const { store, workBucket } = deps;
  const { bucket, prefix } = parseS3Uri(input.exportPath, "exportPath");

  // Shards that did not complete: every selected directory of their tasks is failed.
  const planned = state.plan?.counts.shards ?? 0;
  const completed = await completedShards(store, workBucket, input.exportId);
  for (const i of missingShards(planned, completed)) {
    const body = await store.getText(workBucket, keys.taskShard(i));
    if (body === undefined) continue;
    const builder = new ShardMarkerSummaryBuilder(selector);
    for (const t of parseTaskShard(body)) builder.add(t.path, true);
    const lines = builder.entries().map(encodeMarkerSummaryLine);
    if (lines.length) await store.put(workBucket, keys.markerSummary(i), `${lines.join("\n")}\n`);
  }

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
        store.put(workBucket, keys.markerLevelPart(depth, part), JSON.stringify({ dirs })),
    },
  );
  await store.put(workBucket, keys.markerIndex, JSON.stringify(index));

  const failedDirs: string[] = [];
  const errorSamples: OperationError[] = [];
  let written = 0;
  for (const level of index.levels) {
    const blocked = ancestorsOfFailedMarkers(failedDirs);
    for (let part = 0; part < level.parts; part++) {
      const body = await store.getText(workBucket, keys.markerLevelPart(level.depth, part));
      const dirs = (JSON.parse(body ?? '{"dirs":[]}') as { dirs: string[] }).dirs;
      const byKey = new Map<string, string>();
      for (const dir of dirs) if (!blocked.has(dir)) byKey.set(markerKey(prefix, dir), dir);
      const out = await writeEmptyObjects(deps.s3, bucket, byKey.keys());
      written += out.written;
      for (const f of out.failed) {
        const dir = byKey.get(f.key) ?? f.key;
        failedDirs.push(dir);
        if (errorSamples.length < MAX_SAMPLES) {
          errorSamples.push({ path: `${dir}_lakefs_success`, code: f.code, message: f.message });
        }
      }
    }
  }
  return {
    markers: written,
    withheld: index.withheld + (index.markers - written - failedDirs.length),
    failed: failedDirs.length,
    errorSamples,
  };
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
