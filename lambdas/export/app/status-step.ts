// Status step: totals of the shard results (a shard without a result counts each of its tasks
// as failed, one whose tasks are gone counts as one failure), marker failures and a caught fatal error decide the status. When exportStatusPath
// is set it writes, in this order: the manifest (successful exports only; a full export's from
// its tasks, an incremental export's merged from the previous export's manifest when it exists
// and can be read whole, else from the listing of the commit), the JSON status document, and the status line LAST
// (only while no later attempt of the step has started: status-attempt.ts).
// The manifest is JSON Lines (with each object's s3:// URI) plus the same objects as S3 Batch
// Operations CSV files, one per part. Runs on the failure path too. An incremental export reads
// and writes only the parts its changes fall in.
import { mapConcurrently } from "../../shared/concurrency";
import type { LakeFsApi } from "../../shared/lakefs/types";
import { logger } from "../../shared/logger";
import type { MetricsPort } from "../../shared/run-metrics";
import { parseS3Uri } from "../../shared/s3-uri";
import { exportMetrics } from "../domain/export-metrics";
import { type ExportMode, exportModeOf } from "../domain/export-state";
import {
  type ManifestAbout,
  type ManifestEntry,
  type ManifestIndex,
  type ManifestPart,
  type ManifestSink,
  MissingManifestPartError,
  manifestEntriesFromListing,
  manifestEntriesOfTasks,
  mergeableManifestIndex,
  mergeManifest,
  parseManifestLine,
  supportsPartReuse,
  writeManifest,
  writeManifestOfStretches,
  writeMergedManifest,
} from "../domain/manifest";
import { compileDirectorySelector } from "../domain/markers";
import type { CopiedCounts } from "../domain/progress";
import {
  addShardResult,
  type ExportTotals,
  emptyTotals,
  failureSummary,
  parseShardResult,
} from "../domain/results";
import {
  buildStatusDocument,
  decideExportStatus,
  formatStatusLine,
  isCommitDescription,
  type OperationError,
  type StatusCommit,
  type StatusDocumentInput,
  type StatusKeys,
  statusKeys,
} from "../domain/status";
import { type ExportTask, parseTaskShard } from "../domain/tasks";
import { exportWorkKeys } from "../domain/work-layout";
import type { ExportWorkflowState, StatusStepOutput } from "../domain/workflow-state";
import { reasonOfCaughtError, workflowInputOf } from "../domain/workflow-state";
import type { ExportObjectStore, ExportProgressStore, ExportStateStore } from "../ports";
import { batchManifestWriter } from "./batch-manifest-writer";
import { operationsOfTasks } from "./export-operations";
import { closeWriters } from "./export-writers";
import {
  groupStretches,
  manifestAboutOf,
  manifestGroupsOfExport,
  tasksOfShards,
} from "./manifest-group-step";
import { completedShards, missingShards, nonEmptyLines } from "./shard-files";
import { claimStatusAttempt, type StatusAttempt } from "./status-attempt";

export interface StatusStepDeps {
  store: ExportObjectStore;
  lakefs: Pick<LakeFsApi, "getCommit" | "listObjects">;
  workBucket: string;
  now: () => Date;
  /** Where the export's counts, failures and lag are published (none when absent). */
  metrics?: MetricsPort;
  /** Where the final counts replace the running ones (none: not recorded). */
  progress?: ExportProgressStore;
  /**
   * The branch's export state: a run that is no longer the branch's latest export (a Step
   * Functions redrive of an older execution) may have mixed its commit into a newer export, so
   * it never writes a success line (none: not checked).
   */
  exports?: Pick<ExportStateStore, "getState">;
}

/** Shard results (small) read at once; task shards (up to 1 MiB each) held at once. */
const RESULT_READS_IN_FLIGHT = 16;
const SHARD_READS_IN_FLIGHT = 4;

export async function runStatusStep(
  deps: StatusStepDeps,
  state: ExportWorkflowState,
): Promise<StatusStepOutput> {
  const input = workflowInputOf(state);
  // Taken first: Step Functions starts a retry only after the earlier attempt's call failed.
  const attempt = input.exportStatusPath
    ? await claimStatusAttempt(deps, input.exportId)
    : undefined;
  const obsoleteAtStart = await obsoleteRunReason(deps, input);
  const fatalError =
    (state.error ? reasonOfCaughtError(state.error) : undefined) ?? obsoleteAtStart;

  // No writer of the export path starts after this; those still running are waited for.
  const writers = await closeWriters(deps, input.exportId);
  // Every shard a plan call wrote was handed to a copy map, done or not (plan-segments.ts).
  const planned = state.plan?.counts.shards ?? 0;
  const { totals: shardTotals, completed, missing } = await totalsOfShards(deps, input, planned);
  let totals = shardTotals;
  const markers = state.markers ?? {
    markers: 0,
    removed: 0,
    withheld: 0,
    failed: 0,
    errorSamples: [],
  };
  totals = { ...totals, failed: totals.failed + markers.failed };
  const errors = [...totals.errorSamples, ...markers.errorSamples];
  const fatal = fatalError ?? markersHeldBack(markers.withheld, totals.failed);
  const decision = decideExportStatus({
    failedOperations: totals.failed,
    ...(fatal ? { fatalError: fatal } : {}),
    repaired: input.repaired,
  });
  const errorMessage =
    fatal ??
    failureSummary({ ...totals, errorSamples: errors }) ??
    (markers.failed > 0 ? `${markers.failed} success markers could not be written` : undefined);
  const out: StatusStepOutput = {
    status: decision.status,
    signalledErrors: decision.signalledErrors,
    ...(errorMessage ? { errorMessage } : {}),
    // A failed export's repair waits for them (a shard of keep tasks only copies nothing).
    ...((missing > 0 || writers.running > 0) && decision.status === "export-failed"
      ? { copiesMayRun: true as const }
      : {}),
    // A success waits for them before its execution ends.
    ...(writers.until !== undefined && decision.status !== "export-failed"
      ? { writersRunUntil: writers.until }
      : {}),
  };
  if (writers.running > 0) {
    logger.warn("writers of the export path still running", { ...writers });
  }
  await recordFinalQuietly(deps, input.exportId, {
    shards: completed.size,
    copied: totals.copied,
    deleted: totals.deleted,
    copiedBytes: totals.copiedBytes,
    failed: totals.failed,
  });
  const commit =
    input.exportStatusPath || deps.metrics
      ? await commitInfo(deps, input.repository, input.commitId)
      : undefined;
  const publishRunMetrics = () =>
    publishExportMetrics(deps, input, totals, decision.signalledErrors, commit);
  if (!input.exportStatusPath || !attempt) {
    publishRunMetrics();
    return out;
  }

  const status = parseS3Uri(input.exportStatusPath, "exportStatusPath");
  const sk = statusKeys(status.prefix, input.repository, input.branch, input.commitId);
  // Checked again before the commit's status files are overwritten: an attempt of this step
  // that runs on after a retried one ended the export (a Lambda service error) must not write
  // over a newer export of the same commit (a configuration change, `export run`), nor over a
  // later attempt of this step, whose answer the execution ends with.
  const stillLatest = async () => {
    if (!(await attempt.holds())) {
      logger.warn("status step superseded by a later attempt: no status file written");
      return false;
    }
    if (obsoleteAtStart) return true;
    const reason = await obsoleteRunReason(deps, input);
    if (reason) logger.warn("status step superseded: no status file written", { reason });
    return reason === undefined;
  };
  const guard = { stillLatest, attempt };
  const manifests =
    decision.status !== "export-failed"
      ? await naming(`writing the manifest s3://${status.bucket}/${sk.manifestIndex}`, () =>
          writeManifests(deps, input, plannedWork(state, input, planned), status, sk, guard),
        )
      : (await stillLatest())
        ? undefined
        : "superseded";
  // The attempt that ended the export published its metrics.
  if (manifests === "superseded") return out;
  const doc = statusDocumentOf(deps, state, input, {
    commit,
    totals,
    markers,
    fatalError: fatal,
    errors,
    ...(manifests ? { sk } : {}),
  });
  const line = formatStatusLine(decision.status, decision.signalledErrors);
  const written =
    (await attempt.write(
      status.bucket,
      sk.statusDocument,
      JSON.stringify(doc, null, 2),
      "application/json",
    )) && (await attempt.write(status.bucket, sk.statusLine, line, "text/plain"));
  if (written) publishRunMetrics();
  return out;
}

/** The status document of this run; `sk` when its manifests were written. */
function statusDocumentOf(
  deps: StatusStepDeps,
  state: ExportWorkflowState,
  input: ReturnType<typeof workflowInputOf>,
  run: {
    commit: StatusDocumentInput["commit"] | undefined;
    totals: ExportTotals;
    markers: { markers: number; removed?: number };
    fatalError: string | undefined;
    errors: StatusDocumentInput["errors"];
    sk?: StatusKeys;
  },
) {
  return buildStatusDocument({
    repository: input.repository,
    branch: input.branch,
    exportId: input.exportId,
    fromCommit: input.fromCommit,
    mode: state.plan?.mode ?? exportModeOf(input),
    ...(input.configVersion !== undefined ? { configVersion: input.configVersion } : {}),
    commit: run.commit ?? { id: input.commitId, unavailable: "the commit was not read" },
    repaired: input.repaired,
    startedAt: new Date(state.meta?.startedAt ?? deps.now().toISOString()),
    finishedAt: deps.now(),
    counts: {
      copied: run.totals.copied,
      deleted: run.totals.deleted,
      failed: run.totals.failed,
      markers: run.markers.markers,
      markersRemoved: run.markers.removed ?? 0,
      copiedBytes: run.totals.copiedBytes,
    },
    ...(run.fatalError ? { fatalError: run.fatalError } : {}),
    errors: run.errors,
    ...(run.sk
      ? {
          manifestKey: run.sk.manifestIndex,
          batchOperationsManifestKey: run.sk.batchOperationsManifest,
        }
      : {}),
  } satisfies StatusDocumentInput);
}

/**
 * Markers held back for a failure no result shows: a shard had not reported when the markers
 * step ran (an attempt still copying) and reported without failures since. Its directories have
 * no marker (or a stale one), so the path is not what a success line promises.
 */
function markersHeldBack(withheld: number, failed: number): string | undefined {
  if (withheld === 0 || failed > 0) return undefined;
  return `the success markers of ${withheld} directories were held back for shards that had not reported when the markers step ran; run export repair`;
}

/**
 * Why this run may not report success: the branch's latest export is another one (only a
 * re-run of an older execution, a Step Functions redrive after the branch moved on, gets
 * here, and its copies went over whatever the newer export wrote), or it is this one but such
 * a re-run ended while this one ran (its `interference`): the path may then hold the older
 * run's copies, and the branch records this export failed whatever it reports.
 */
async function obsoleteRunReason(
  deps: StatusStepDeps,
  input: { repository: string; branch: string; exportId: string },
): Promise<string | undefined> {
  if (!deps.exports) return undefined;
  const current = await deps.exports.getState(input.repository, input.branch);
  if (!current) return undefined;
  if (current.exportId === input.exportId) return current.interference;
  return `export ${input.exportId} ran again after the branch's export moved on to ${current.exportId} (a redrive of an older execution): the export path may mix commits; run export repair`;
}

/** Totals of the shard results; a planned shard without a result counts each task as failed. */
async function totalsOfShards(
  deps: StatusStepDeps,
  input: { exportId: string; exportPath: string; lastKeysInPrefixRegexp: string[] },
  planned: number,
): Promise<{ totals: ExportTotals; completed: Set<number>; missing: number }> {
  const { store, workBucket } = deps;
  const { exportId } = input;
  const keys = exportWorkKeys(exportId);
  let totals = emptyTotals();
  const completed = await completedShards(store, workBucket, exportId);
  const results = mapConcurrently(completed, RESULT_READS_IN_FLIGHT, (i) =>
    store.getText(workBucket, keys.shardResult(i)),
  );
  for await (const body of results) {
    if (body !== undefined) totals = addShardResult(totals, parseShardResult(body));
  }
  const missing = missingShards(planned, completed);
  const missingTasks = mapConcurrently(missing, SHARD_READS_IN_FLIGHT, (i) =>
    store.getText(workBucket, keys.taskShard(i)),
  );
  let m = 0;
  for await (const body of missingTasks) {
    const i = missing[m++] as number;
    // Keep tasks have no operation that could have failed, unless the batch would have refused
    // them (a committed marker). A shard whose tasks are gone held unknown operations: one
    // failure, never none.
    const failed =
      body === undefined
        ? [
            {
              path: keys.taskShard(i),
              code: "TaskShardMissing",
              message: `task shard ${keys.taskShard(i)} is missing: its operations are unknown`,
            },
          ]
        : failuresOfUnreportedShard(parseTaskShard(body), i, input);
    totals = addShardResult(totals, {
      version: 1,
      shard: i,
      copied: 0,
      deleted: 0,
      copiedBytes: 0,
      failed,
    });
  }
  return { totals, completed, missing: missing.length };
}

/** The failures of a shard whose copy batch never reported: every copy and delete, and the
 * keep tasks its batch would have refused. */
function failuresOfUnreportedShard(
  tasks: ExportTask[],
  shard: number,
  input: { exportPath: string; lastKeysInPrefixRegexp: string[] },
): OperationError[] {
  const bucket = parseS3Uri(input.exportPath, "exportPath").bucket;
  const selector = compileDirectorySelector(input.lastKeysInPrefixRegexp);
  const refused = operationsOfTasks(
    tasks.filter((t) => t.op === "keep"),
    bucket,
    selector,
  ).invalid;
  return [
    ...tasks
      .filter((t) => t.op !== "keep")
      .map((t) => ({
        path: t.path,
        code: "CopyBatchFailed",
        message: `the copy batch of shard ${shard} did not complete`,
      })),
    ...refused,
  ];
}

/** The export's metrics, once its status is written (see domain/export-metrics.ts). */
function publishExportMetrics(
  deps: StatusStepDeps,
  input: { repository: string; branch: string },
  totals: ExportTotals,
  signalledErrors: number,
  commit: StatusCommit | undefined,
): void {
  deps.metrics?.publish(
    { repository: input.repository, branch: input.branch },
    exportMetrics({
      totals,
      signalledErrors,
      commitCreatedSeconds: commit && isCommitDescription(commit) ? commit.creation_date : 0,
      statusWrittenAt: deps.now(),
    }),
  );
}

async function commitInfo(
  deps: StatusStepDeps,
  repository: string,
  commitId: string,
): Promise<StatusCommit> {
  try {
    const c = await deps.lakefs.getCommit(repository, commitId);
    return {
      id: commitId,
      message: c.message,
      committer: c.committer,
      creation_date: c.creation_date,
      ...(c.metadata ? { metadata: c.metadata } : {}),
    };
  } catch (error) {
    // The status must still be written (e.g. on the failure path when lakeFS is down); the
    // document says the commit is unknown rather than describe an empty one.
    logger.warn("the exported commit could not be read from lakeFS", {
      error: (error as Error).message,
    });
    return {
      id: commitId,
      unavailable: `lakeFS could not be read: ${(error as Error).message}`,
    };
  }
}

/** What the plan made: its task shards, manifest groups, and the mode it planned in. */
interface PlannedWork {
  shards: number;
  manifestGroups: number;
  mode: ExportMode;
}

function plannedWork(
  state: ExportWorkflowState,
  input: ReturnType<typeof workflowInputOf>,
  shards: number,
): PlannedWork {
  const mode = state.plan?.mode ?? exportModeOf(input);
  return { shards, manifestGroups: state.plan?.manifestGroups ?? 0, mode };
}

/**
 * The JSON Lines manifest (parts, then the index) and, from the same stream of entries, the
 * S3 Batch Operations CSV manifest, completed before the index is written.
 */
async function writeManifests(
  deps: StatusStepDeps,
  input: ReturnType<typeof workflowInputOf>,
  plan: PlannedWork,
  status: { bucket: string; prefix: string },
  sk: StatusKeys,
  guard: { stillLatest: () => Promise<boolean>; attempt: StatusAttempt },
): Promise<ManifestIndex | "superseded"> {
  const exportLocation = parseS3Uri(input.exportPath, "exportPath");
  const about = manifestAboutOf(input, sk);
  const write = async (listCommit: boolean) => {
    // A fresh Batch Operations writer per attempt: it lists every CSV file it was given.
    const batch = batchManifestWriter(
      deps.store,
      status.bucket,
      sk.batchOperationsManifest,
      exportLocation.bucket,
      deps.now,
    );
    const written = await writeExportManifest(
      deps,
      input,
      plan,
      exportLocation.prefix,
      status,
      about,
      batch.sink,
      listCommit,
    );
    return { written, batch };
  };
  let done: Awaited<ReturnType<typeof write>>;
  try {
    done = await write(false);
  } catch (err) {
    // The previous manifest only saves requests: one whose parts are gone is not merged (every
    // later export would fail on it, repairs included), the commit is listed instead.
    if (!(err instanceof MissingManifestPartError)) throw err;
    logger.warn("previous manifest unreadable: listing the commit", { error: err.message });
    done = await write(true);
  }
  // The parts are content-named (a part of the same content is the same object); what follows
  // overwrites the commit's files, which a newer export of the same commit may own by now.
  if (!(await guard.stillLatest())) return "superseded";
  await done.batch.close();
  const index = { ...done.written, batchOperationsManifest: sk.batchOperationsManifest };
  const body = JSON.stringify(index);
  const written = await guard.attempt.write(
    status.bucket,
    sk.manifestIndex,
    body,
    "application/json",
  );
  return written ? index : "superseded";
}

/**
 * `work`, its error's message prefixed with what was being done (its name, which Step Functions
 * reports as the error, kept): S3's "Access Denied" alone reads as a refusal of the export path.
 */
async function naming<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof Error) err.message = `${what}: ${err.message}`;
    throw err;
  }
}

/**
 * The manifest of this export. Full: from its tasks. Incremental, with the previous export's
 * manifest of the same export path: merged with this export's tasks, reusing the parts no task
 * touches (version 3 and later) or rewriting all (before); without it: from the listing of
 * the commit.
 */
async function writeExportManifest(
  deps: StatusStepDeps,
  input: ReturnType<typeof workflowInputOf>,
  plan: PlannedWork,
  exportPrefix: string,
  status: { bucket: string; prefix: string },
  about: ManifestAbout,
  sink: ManifestSink,
  listCommit: boolean,
): Promise<ManifestIndex> {
  const { store, workBucket } = deps;
  const tasks = () => tasksOfShards(store, workBucket, input.exportId, 0, plan.shards - 1);
  // A full export's copy and keep tasks are every exported object of the commit, in path
  // order (its plan listed them): no second listing of the commit. Its groups' parts were
  // written side by side before this step (manifest-group-step.ts), as were those of an
  // incremental export from a commit that exported nothing (the plan made groups only then).
  if (plan.manifestGroups > 0) {
    const groups = await manifestGroupsOfExport(store, workBucket, input.exportId);
    const stretches = groupStretches(store, workBucket, input.exportId, groups);
    return writeManifestOfStretches(stretches, sink, about);
  }
  if (plan.mode !== "incremental") {
    return writeManifest(manifestEntriesOfTasks(tasks()), sink, about);
  }
  if (input.fromCommit && !listCommit) {
    const prev = statusKeys(status.prefix, input.repository, input.branch, input.fromCommit);
    const index = mergeableManifestIndex(
      await deps.store.getText(status.bucket, prev.manifestIndex),
      input.exportPath,
    );
    if (index !== undefined) {
      if (supportsPartReuse(index, about.bucket)) {
        return writeMergedManifest(
          index,
          (part) => partLines(deps.store, status.bucket, part),
          tasks(),
          sink,
          about,
        );
      }
      return writeManifest(
        mergeManifest(manifestLines(deps.store, status.bucket, index), tasks()),
        sink,
        about,
      );
    }
  }
  return writeManifest(
    manifestEntriesFromListing(deps.lakefs, input.repository, input.commitId, exportPrefix),
    sink,
    about,
  );
}

async function* partLines(
  store: ExportObjectStore,
  bucket: string,
  part: ManifestPart,
): AsyncGenerator<ManifestEntry> {
  const body = await store.getText(bucket, part.key);
  if (body === undefined) throw new MissingManifestPartError(part.key);
  for (const line of nonEmptyLines(body)) yield parseManifestLine(line);
}

async function* manifestLines(
  store: ExportObjectStore,
  bucket: string,
  index: ManifestIndex,
): AsyncGenerator<ManifestEntry> {
  for (const part of index.parts) yield* partLines(store, bucket, part);
}

export type { ExportTotals };

/** The counts the CLI shows at the end are the status document's, not the running sums (which
 * count a retried copy batch twice). Best effort: the status never fails on them. */
async function recordFinalQuietly(deps: StatusStepDeps, exportId: string, counts: CopiedCounts) {
  if (!deps.progress) return;
  try {
    await deps.progress.recordFinal(exportId, counts, deps.now());
  } catch (err) {
    logger.warn("export final counts not recorded", { error: (err as Error).message });
  }
}
