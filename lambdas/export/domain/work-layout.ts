// Layout of one export's intermediate files in the work bucket (WORK_BUCKET). Everything of
// an export lives under `exports/<exportId>/`, so a lifecycle rule (or one prefix delete)
// cleans it up. Indexes are zero-padded to 6 digits so S3 listings return them in order.
//
//   exports/<id>/plan/cursor.json                         PlanCursor of an interrupted plan
//   exports/<id>/plan/result.json                         PlanResult (counts, shard count)
//   exports/<id>/plan/calls/call-000001.json            PlanCallRecord: who plans call 1, and
//                                                         its answer (plan-call.ts)
//   exports/<id>/plan/segment-000004.jsonl                {"shard": i} per shard of a plan call
//                                                         that was not the last (plan-segments.ts)
//   exports/<id>/tasks/shard-000000.jsonl                 ExportTask per line, path order
//   exports/<id>/results/shard-000000.json                ShardResult of the copy batch
//   exports/<id>/markers/summary/shard-000000.jsonl       MarkerSummaryEntry per line, sorted
//   exports/<id>/markers/merge/r01/run-000000/part-000000.jsonl   merged runs (tree merge)
//   exports/<id>/markers/levels/depth-0003/part-000000.json       {"dirs": [...]} of one level
//   exports/<id>/markers/index.json                       MarkerLevelIndex
//   exports/<id>/markers/failed/depth-0003.json           failed marker writes of a level
//   exports/<id>/plan/manifest-groups.jsonl               ManifestGroup per line (full exports)
//   exports/<id>/manifest/group-000000.json               ManifestGroupDescriptor of a group
//   exports/<id>/writers/<writer id>.started|.ended       a writer's records (writers.ts)
//   exports/<id>/writers-closed.json                      the export ended: writers stop
//   exports/<id>/status-attempt.json                      the status step attempt that writes
//                                                         the status files (status-attempt.ts)

import { EXECUTION_NAME_PATTERN } from "../../shared/workflow-starter";

const pad = (n: number, width = 6) => String(n).padStart(width, "0");

/** The work bucket prefix of every export's files (the export functions' grants). */
export const EXPORT_WORK_ROOT = "exports/";

export function exportWorkPrefix(exportId: string): string {
  if (!EXECUTION_NAME_PATTERN.test(exportId)) {
    throw new RangeError(`exportId: ${JSON.stringify(exportId)} must be 1-80 of [A-Za-z0-9_-]`);
  }
  return `${EXPORT_WORK_ROOT}${exportId}/`;
}

export function exportWorkKeys(exportId: string) {
  const base = exportWorkPrefix(exportId);
  return {
    prefix: base,
    planCursor: `${base}plan/cursor.json`,
    planResult: `${base}plan/result.json`,
    planCall: (call: number) => `${base}plan/calls/call-${pad(call)}.json`,
    planSegment: (first: number) => `${base}plan/segment-${pad(first)}.jsonl`,
    tasksPrefix: `${base}tasks/`,
    taskShard: (i: number) => `${base}tasks/shard-${pad(i)}.jsonl`,
    resultsPrefix: `${base}results/`,
    shardResult: (i: number) => `${base}results/shard-${pad(i)}.json`,
    markerSummariesPrefix: `${base}markers/summary/`,
    markerSummary: (i: number) => `${base}markers/summary/shard-${pad(i)}.jsonl`,
    markerMergeRunPrefix: (round: number, run: number) =>
      `${base}markers/merge/r${pad(round, 2)}/run-${pad(run)}/`,
    markerMergeRunPart: (round: number, run: number, part: number) =>
      `${base}markers/merge/r${pad(round, 2)}/run-${pad(run)}/part-${pad(part)}.jsonl`,
    markerLevelsPrefix: (depth: number) => `${base}markers/levels/depth-${pad(depth, 4)}/`,
    markerLevelPart: (depth: number, part: number) =>
      `${base}markers/levels/depth-${pad(depth, 4)}/part-${pad(part)}.json`,
    markerIndex: `${base}markers/index.json`,
    failedMarkers: (depth: number) => `${base}markers/failed/depth-${pad(depth, 4)}.json`,
    manifestGroups: `${base}plan/manifest-groups.jsonl`,
    manifestGroup: (g: number) => `${base}manifest/group-${pad(g)}.json`,
    writersPrefix: `${base}writers/`,
    writersClosed: `${base}writers-closed.json`,
    statusClaim: `${base}status-attempt.json`,
  };
}

/** Shard index from a task shard key (for a distributed map reading the tasks prefix). */
export function shardIndexOfKey(key: string): number {
  const m = /shard-(\d+)\.jsonl?$/.exec(key);
  if (!m) throw new RangeError(`not a shard key: ${key}`);
  return Number(m[1]);
}
