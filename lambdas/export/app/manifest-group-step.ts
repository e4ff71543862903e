// Manifest groups of a full export (domain/manifest-groups.ts): a map child writes its group's
// manifest parts and CSV twins into the status bucket, then the group's descriptor into the
// work bucket; the status step reads the descriptors in group order (groupStretches) and writes
// a missing group's parts itself. The parts are only listed by an index once the export
// succeeded: a failed export leaves them unlisted beside its status files.
import { mapConcurrently } from "../../shared/concurrency";
import { logger } from "../../shared/logger";
import { parseS3Uri } from "../../shared/s3-uri";
import {
  type ManifestAbout,
  type ManifestStretch,
  manifestEntriesOfTasks,
  writeManifest,
} from "../domain/manifest";
import {
  descriptorOfGroup,
  type ManifestGroup,
  type ManifestGroupDescriptor,
  parseManifestGroup,
} from "../domain/manifest-groups";
import { type StatusKeys, statusKeys } from "../domain/status";
import { type ExportTask, parseTaskShard } from "../domain/tasks";
import { exportWorkKeys } from "../domain/work-layout";
import type { ExportWorkflowInput } from "../domain/workflow-input";
import { type ExportWorkflowState, workflowInputOf } from "../domain/workflow-state";
import type { ExportObjectStore } from "../ports";
import { batchManifestWriter } from "./batch-manifest-writer";
import { asWriter } from "./export-writers";
import { nonEmptyLines } from "./shard-files";

/** Task shards (up to 1 MiB each) held at once. */
const SHARD_READS_IN_FLIGHT = 4;
/** Descriptors (small) read at once. */
const DESCRIPTOR_READS_IN_FLIGHT = 16;

/** What the index records about this export's manifest, and where its parts go. */
export function manifestAboutOf(input: ExportWorkflowInput, sk: StatusKeys): ManifestAbout {
  return {
    bucket: parseS3Uri(input.exportPath, "exportPath").bucket,
    exportPath: input.exportPath,
    repository: input.repository,
    branch: input.branch,
    commitId: input.commitId,
    partKey: sk.manifestPart,
  };
}

/** The tasks of shards `first` to `last`, in order (a few shards read ahead). */
export async function* tasksOfShards(
  store: ExportObjectStore,
  workBucket: string,
  exportId: string,
  first: number,
  last: number,
): AsyncGenerator<ExportTask> {
  const keys = exportWorkKeys(exportId);
  const indexes = Array.from({ length: last - first + 1 }, (_, i) => first + i);
  const bodies = mapConcurrently(indexes, SHARD_READS_IN_FLIGHT, async (i) => {
    const body = await store.getText(workBucket, keys.taskShard(i));
    if (body === undefined) throw new Error(`task shard ${keys.taskShard(i)} is missing`);
    return body;
  });
  for await (const body of bodies) yield* parseTaskShard(body);
}

/** A map child's batch: its groups, and the execution's state (the workflow input). */
export interface ManifestGroupEvent {
  Items: unknown[];
  BatchInput: { state: ExportWorkflowState };
}

export interface ManifestGroupDeps {
  store: ExportObjectStore;
  workBucket: string;
  now: () => Date;
}

export async function runManifestGroupStep(
  deps: ManifestGroupDeps,
  event: ManifestGroupEvent,
): Promise<{ groups: number; parts: number; entries: number; late?: true }> {
  const groups = (event.Items ?? []).map(parseManifestGroup);
  const input = workflowInputOf(event.BatchInput?.state);
  const out = { groups: 0, parts: 0, entries: 0 };
  // A registered writer of the status path: a late attempt (retried by Step Functions after a
  // service error, starting after the export ended) writes no part over a later export's.
  const ran = await asWriter(deps, input.exportId, "manifest", async () => {
    for (const group of groups) {
      const written = await writeGroup(deps, input, group);
      out.groups++;
      out.parts += written.parts;
      out.entries += written.entries;
    }
    return out;
  });
  if (ran) return ran;
  logger.warn("manifest group started after its export ended: nothing written", {
    exportId: input.exportId,
  });
  return { ...out, late: true };
}

async function writeGroup(
  deps: ManifestGroupDeps,
  input: ExportWorkflowInput,
  group: ManifestGroup,
): Promise<{ parts: number; entries: number }> {
  if (!input.exportStatusPath) {
    throw new RangeError("exportStatusPath: a manifest group needs the export's status path");
  }
  const status = parseS3Uri(input.exportStatusPath, "exportStatusPath");
  const sk = statusKeys(status.prefix, input.repository, input.branch, input.commitId);
  const about = manifestAboutOf(input, sk);
  // The sink writes each part with its CSV twin; the Batch Operations manifest.json listing
  // them all is the status step's.
  const { sink } = batchManifestWriter(
    deps.store,
    status.bucket,
    sk.batchOperationsManifest,
    about.bucket,
    deps.now,
  );
  const tasks = tasksOfShards(deps.store, deps.workBucket, input.exportId, group.first, group.last);
  const index = await writeManifest(manifestEntriesOfTasks(tasks), sink, about);
  const descriptor: ManifestGroupDescriptor = { version: 1, ...group, parts: index.parts };
  // Last: a descriptor vouches for parts that are all written.
  await deps.store.put(
    deps.workBucket,
    exportWorkKeys(input.exportId).manifestGroup(group.group),
    JSON.stringify(descriptor),
  );
  return { parts: index.parts.length, entries: index.entries };
}

/** The groups the plan wrote, in order. */
export async function manifestGroupsOfExport(
  store: ExportObjectStore,
  workBucket: string,
  exportId: string,
): Promise<ManifestGroup[]> {
  const key = exportWorkKeys(exportId).manifestGroups;
  const body = await store.getText(workBucket, key);
  if (body === undefined) throw new Error(`manifest groups ${key} are missing`);
  return nonEmptyLines(body).map((line) => parseManifestGroup(JSON.parse(line)));
}

/**
 * The full export's manifest as stretches, group by group: the parts a map child wrote, or,
 * where it left no descriptor, the group's entries from its task shards (written by `sink`'s
 * caller as new parts).
 */
export async function* groupStretches(
  store: ExportObjectStore,
  workBucket: string,
  exportId: string,
  groups: readonly ManifestGroup[],
): AsyncGenerator<ManifestStretch> {
  const keys = exportWorkKeys(exportId);
  const texts = mapConcurrently(groups, DESCRIPTOR_READS_IN_FLIGHT, (g) =>
    store.getText(workBucket, keys.manifestGroup(g.group)),
  );
  let i = 0;
  for await (const text of texts) {
    const g = groups[i++]!;
    const descriptor = descriptorOfGroup(text, g);
    if (descriptor) yield { parts: descriptor.parts };
    else {
      const tasks = tasksOfShards(store, workBucket, exportId, g.first, g.last);
      yield { entries: manifestEntriesOfTasks(tasks) };
    }
  }
}
