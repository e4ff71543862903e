// Plan step: planExport with the work bucket as shard sink, resumable. The state machine calls
// it again while `done` is false (the cursor travels in `$.plan`), copying the shards a call
// wrote (its segment, plan-segments.ts) while the next call lists; each call writes the index
// (`{"shard": i}` per line) of its segment that the distributed map's ItemReader reads. Incremental exports
// read what earlier failed exports touched from their task shards; full exports list the
// export path. With marker expressions, the markers above what each shard changes are retracted
// (domain/marker-retraction.ts) by the call, as a registered writer of the export path.

import { randomUUID } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { logger } from "../../shared/logger";
import { parseS3Uri } from "../../shared/s3-uri";
import { shardsPerCopyBatch } from "../domain/copy-batches";
import { type ExportMode, exportModeOf } from "../domain/export-state";
import { manifestGroupsOf } from "../domain/manifest-groups";
import type { PlanCounts, PlannerLakeFs, PlanResult, ShardLimits } from "../domain/plan";
import { planExport } from "../domain/plan";
import { planCallNumber } from "../domain/plan-call";
import { firstSegmentShards } from "../domain/plan-segments";
import { statusKeys } from "../domain/status";
import { exportWorkKeys } from "../domain/work-layout";
import type { ExportWorkflowInput } from "../domain/workflow-input";
import type { ExportWorkflowState, PlanStepOutput } from "../domain/workflow-state";
import { workflowInputOf } from "../domain/workflow-state";
import type { ExportObjectStore, ExportProgressStore } from "../ports";
import { ExportPathObjects } from "./export-path-listing";
import { markerRetractor, type PlanMarkerRetractor } from "./marker-retractor";
import { runClaimedPlanCall } from "./plan-call-claim";
import { previousManifestOf } from "./previous-manifest";
import { TouchedPathsOfExports } from "./touched-paths";

export interface PlanStepDeps {
  store: ExportObjectStore;
  lakefs: PlannerLakeFs;
  workBucket: string;
  /** Deletes retracted markers (needed when the export has marker expressions). */
  s3?: S3Client;
  /** Where the plan's counts are shown while the export runs (none: not recorded). */
  progress?: ExportProgressStore;
  now?: () => Date;
}

export function shardIndexKey(exportId: string): string {
  return `${exportWorkKeys(exportId).prefix}plan/shards.jsonl`;
}

export interface PlanStepOptions {
  shouldContinue?: () => boolean;
  limits?: ShardLimits;
  /** Task shards per manifest group (SHARDS_PER_MANIFEST_GROUP unless given). */
  shardsPerManifestGroup?: number;
  /** Children the copy map runs at once (the deployment's maxConcurrency); default 50. */
  copyMapConcurrency?: number;
  /** The first call's shards at most (plan-segments.ts firstSegmentShards unless given). */
  firstSegmentShards?: number;
  /** This invocation's id (the claim's owner, plan-call.ts); a random one unless given. */
  attempt?: string;
  /** Epoch ms this invocation ends by (its Lambda deadline); 15 minutes from now unless given. */
  deadlineMs?: number;
}

/**
 * One plan call, made by one attempt only (plan-call.ts): a retried attempt answers as the
 * attempt that made it. Index lines written per PUT are bounded by the shard count
 * (100 000 shards ~ 1.5 MB).
 */
export async function runPlanStep(
  deps: PlanStepDeps,
  state: ExportWorkflowState,
  opts: PlanStepOptions = {},
): Promise<PlanStepOutput> {
  const input = workflowInputOf(state);
  const call = planCallNumber(state.plan);
  return runClaimedPlanCall(
    { store: deps.store, workBucket: deps.workBucket },
    {
      key: exportWorkKeys(input.exportId).planCall(call),
      attempt: opts.attempt ?? randomUUID(),
      deadlineMs: opts.deadlineMs ?? Date.now() + 15 * 60_000,
    },
    async () => ({ ...(await planCall(deps, state, opts)), call }),
  );
}

async function planCall(
  deps: PlanStepDeps,
  state: ExportWorkflowState,
  opts: PlanStepOptions,
): Promise<PlanStepOutput> {
  const input = workflowInputOf(state);
  const keys = exportWorkKeys(input.exportId);
  const exportPath = parseS3Uri(input.exportPath, "exportPath");
  const exportPrefix = exportPath.prefix;
  const resume = state.plan && !state.plan.done ? state.plan.cursor : undefined;
  // Before anything of this export reaches the export path: an earlier export of the same
  // commit (a configuration change, repair --full, a hard reset back to it) left its status
  // line, which would go on saying success while this export changes the path.
  if (!resume) await retractStatusOfCommit(deps, input);
  // A resumed plan keeps the mode its first call chose.
  const mode = resume
    ? (state.plan?.mode ?? exportModeOf(input))
    : await plannedModeOf(deps, input);
  const switched = mode !== exportModeOf(input) ? { mode } : {};
  const copyMapConcurrency = opts.copyMapConcurrency ?? 50;
  // This call's segment: the shards from `first` on. The first call stops after a few.
  const first = resume ? resume.counts.shards : 0;
  const segmentLimit = resume
    ? Number.POSITIVE_INFINITY
    : (opts.firstSegmentShards ?? firstSegmentShards(copyMapConcurrency));
  let written = 0;
  const shouldContinue = opts.shouldContinue ?? (() => true);
  const retractor = markerRetractor(deps, input);
  const writeResult = planResultWriter(deps, input.exportId, retractor !== undefined);
  const markers = countedBeforeRetracting(writeResult, retractor);
  const result = await planExport(
    deps.lakefs,
    {
      write: (i, lines) => {
        written++;
        return deps.store.put(deps.workBucket, keys.taskShard(i), `${lines.join("\n")}\n`);
      },
    },
    {
      repository: input.repository,
      fromCommit: input.fromCommit,
      commitId: input.commitId,
      mode,
      exportPrefix,
      ...(mode === "incremental"
        ? {
            touched: new TouchedPathsOfExports(
              deps.store,
              deps.workBucket,
              input.reconcileExports ?? [],
            ),
          }
        : { exported: new ExportPathObjects(deps.store, exportPath.bucket, exportPrefix) }),
      ...(input.storageNamespace ? { storageNamespace: input.storageNamespace } : {}),
      ...(resume ? { resume } : {}),
    },
    {
      shouldContinue: () => written < segmentLimit && shouldContinue(),
      limits: opts.limits,
      ...(markers ? { markers } : {}),
    },
  ).finally(() => markers?.end());
  const segment = await writeSegment(deps, input.exportId, result, first, {
    copyMapConcurrency,
    writeResult,
  });
  if (!result.done) {
    await recordPlanQuietly(deps, input.exportId, result.counts, false);
    return { done: false, cursor: result.cursor, counts: result.counts, ...segment, ...switched };
  }
  // A full export's manifest is written by groups of shards side by side (manifest-groups.ts),
  // and so is that of an incremental export from a commit that exported nothing (its tasks
  // are the whole commit too); another incremental export's touches only the parts its
  // changes fall in.
  const groups =
    input.exportStatusPath && (mode !== "incremental" || result.fromExportsNothing)
      ? manifestGroupsOf(result.counts.shards, opts.shardsPerManifestGroup)
      : [];
  if (groups.length > 0) {
    const body = `${groups.map((g) => JSON.stringify(g)).join("\n")}\n`;
    await deps.store.put(deps.workBucket, keys.manifestGroups, body);
  }
  await recordPlanQuietly(deps, input.exportId, result.counts, true);
  return {
    done: true,
    cursor: result.cursor,
    counts: result.counts,
    ...segment,
    ...switched,
    ...(groups.length > 0
      ? { manifestGroups: groups.length, manifestGroupsKey: keys.manifestGroups }
      : {}),
  };
}

/**
 * This call's shards (`first` on) as an index for a copy map, then the plan result with the
 * counts so far: written before the shards are handed to a copy map, it tells a later export
 * which shards a failed one may have copied (touched-paths.ts). The last call's index is
 * shardIndexKey; an earlier call's, its segment's key.
 */
async function writeSegment(
  deps: PlanStepDeps,
  exportId: string,
  result: PlanResult,
  first: number,
  to: { copyMapConcurrency: number; writeResult: PlanResultWriter },
): Promise<Pick<PlanStepOutput, "segmentShards" | "indexKey" | "shardsPerBatch">> {
  const keys = exportWorkKeys(exportId);
  const segmentShards = result.counts.shards - first;
  let indexed: Pick<PlanStepOutput, "indexKey" | "shardsPerBatch"> = {};
  if (result.done || segmentShards > 0) {
    const indexKey = result.done ? shardIndexKey(exportId) : keys.planSegment(first);
    const lines: string[] = [];
    for (let i = first; i < result.counts.shards; i++) lines.push(JSON.stringify({ shard: i }));
    await deps.store.put(deps.workBucket, indexKey, lines.length ? `${lines.join("\n")}\n` : "");
    indexed = {
      indexKey,
      shardsPerBatch: shardsPerCopyBatch(
        Math.max(segmentShards, 1),
        to.copyMapConcurrency,
        result.cursor.maxShardCopyBytes,
      ),
    };
  }
  await to.writeResult(result);
  return { segmentShards, ...indexed };
}

/**
 * The retractor, writing the plan result with the shards written so far before each of its
 * deletes: the next export reads back what a failed one touched from the shards its plan
 * result counts (touched-paths.ts). A call that fails after retracting (a later marker
 * refused, a write of its segment failing, its Lambda's end) would else leave the markers of
 * shards no plan result counts for no export to write again.
 */
function countedBeforeRetracting(
  writeResult: PlanResultWriter,
  retractor: PlanMarkerRetractor | undefined,
): PlanMarkerRetractor | undefined {
  if (!retractor) return undefined;
  let counted = -1;
  return {
    ...retractor,
    async retract(dirs, written) {
      if (written.counts.shards > counted) {
        await writeResult({ done: false, cursor: written, counts: written.counts });
        counted = written.counts.shards;
      }
      await retractor.retract(dirs, written);
    },
  };
}

/** Writes the plan result (work-layout.ts planResult) for one attempt of a plan call. */
type PlanResultWriter = (result: PlanResult) => Promise<void>;

/**
 * With marker retraction, never a result counting fewer shards than the one already written.
 * An attempt that takes a call over (Step Functions sends it again after a Lambda service
 * error, the earlier attempt having ended or passed its deadline) plans it from its first
 * shard, and may fail or stop before the shards whose markers the earlier attempt retracted:
 * written over, the result would no longer count them, and the next export, reading a failed
 * one's paths from the shards its result counts, would never write those markers again. The
 * earlier attempt's shards stay in the work bucket, and the later one's cover the same paths
 * (a failed full export is reconciled by listing, not by its shards).
 */
function planResultWriter(
  deps: PlanStepDeps,
  exportId: string,
  retracting: boolean,
): PlanResultWriter {
  const key = exportWorkKeys(exportId).planResult;
  let counted: number | undefined = retracting ? undefined : 0;
  return async (result) => {
    counted ??= shardsCountedIn(await deps.store.getText(deps.workBucket, key));
    if (result.counts.shards < counted) return;
    await deps.store.put(deps.workBucket, key, JSON.stringify(result));
    counted = result.counts.shards;
  };
}

function shardsCountedIn(planResult: string | undefined): number {
  if (planResult === undefined) return 0;
  return (JSON.parse(planResult) as { counts?: { shards?: number } }).counts?.shards ?? 0;
}

/**
 * How this export is planned. An incremental export with status files merges its manifest with
 * the previous export's (status-step.ts). Without a mergeable one (its index or a part of it
 * deleted or expired, or an index of another export path) its manifest would be a listing of
 * the whole commit in the status step, one Lambda of 15 minutes: it is planned as full-compare
 * instead. The plan then lists the commit against the export path (resumable, copying only
 * what differs), and manifest groups write the manifest beside the copies.
 */
export async function plannedModeOf(
  deps: Pick<PlanStepDeps, "store">,
  input: ExportWorkflowInput,
): Promise<ExportMode> {
  const mode = exportModeOf(input);
  if (mode !== "incremental" || !input.exportStatusPath || !input.fromCommit) return mode;
  const status = parseS3Uri(input.exportStatusPath, "exportStatusPath");
  const prev = statusKeys(status.prefix, input.repository, input.branch, input.fromCommit);
  const previous = await previousManifestOf(
    deps.store,
    status.bucket,
    prev.manifestIndex,
    input.exportPath,
  );
  if (previous.mergeable) return mode;
  logger.warn("previous manifest cannot be merged: planned as full-compare", {
    exportId: input.exportId,
    previousManifest: `s3://${status.bucket}/${prev.manifestIndex}`,
    reason: previous.reason,
  });
  return "full-compare";
}

/**
 * Removes the commit's status line and document, if an earlier export of the commit wrote
 * them: from here on the export path is this export's to change, and a success line of the
 * earlier export would promise a path this export may leave half-written (its own status step
 * writes the commit's files again at its end, unless it cannot run: an aborted or timed-out
 * execution, a status step failing twice). No line says nothing; a stale one says success.
 */
async function retractStatusOfCommit(
  deps: Pick<PlanStepDeps, "store">,
  input: ExportWorkflowInput,
): Promise<void> {
  if (!input.exportStatusPath) return;
  const status = parseS3Uri(input.exportStatusPath, "exportStatusPath");
  const sk = statusKeys(status.prefix, input.repository, input.branch, input.commitId);
  // The line first: a document without its line promises nothing.
  await deps.store.delete(status.bucket, sk.statusLine);
  await deps.store.delete(status.bucket, sk.statusDocument);
}

/** Progress is for people watching: failing to record it never fails the plan. */
async function recordPlanQuietly(
  deps: PlanStepDeps,
  exportId: string,
  counts: PlanCounts,
  planDone: boolean,
): Promise<void> {
  if (!deps.progress) return;
  try {
    await deps.progress.recordPlan(exportId, counts, planDone, (deps.now ?? (() => new Date()))());
  } catch (err) {
    logger.warn("export progress not recorded", { error: (err as Error).message });
  }
}
