// Last step, on success and on failure (the state machine's Catch): adds up the counts the
// other steps left in the work bucket, writes the run summary JSON into the namespace and
// ends the run record (GcStore.completeRun: the mark record follows, and the repository's
// lease is released whatever the outcome).
import { mapConcurrently } from "../../shared/concurrency";
import { gcMetrics } from "../domain/gc-metrics";
import { gcPaths } from "../domain/paths";
import { encodeRunSummary, type GcRunSummary } from "../domain/reports";
import type { GcRunCounts } from "../domain/run-records";
import type { GcMode, GcWorkflowInput } from "../domain/workflow-input";
import type { GcStepDeps } from "../ports";
import { markCommitsKeys } from "./commits";
import { addCounts, gcWorkKeys, putInNamespace, runDate } from "./common";

export interface SummaryStepEvent extends GcWorkflowInput {
  /** Set by the state machine's Catch: {Error, Cause}. */
  error?: { Error?: string; Cause?: string };
}

export interface SummaryStepResult {
  success: boolean;
  errorMessage?: string;
  counts: Record<string, number>;
}

export function modeOf(input: Pick<GcWorkflowInput, "doMark" | "doSweep">): GcMode {
  return input.doMark && input.doSweep
    ? "mark-and-sweep"
    : input.doMark
      ? "mark-only"
      : "sweep-only";
}

/** Lambda errors arrive as Cause = JSON {errorType, errorMessage}; others as plain text. */
export function describeFailure(error: { Error?: string; Cause?: string }): string {
  let cause = error.Cause ?? "";
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string; errorType?: string };
    if (parsed && typeof parsed.errorMessage === "string") cause = parsed.errorMessage;
  } catch {
    // plain text cause
  }
  return `${error.Error ?? "Error"}${cause ? `: ${cause}` : ""}`.slice(0, 2000);
}

export async function runSummaryStep(
  deps: GcStepDeps,
  event: SummaryStepEvent,
): Promise<SummaryStepResult> {
  const work = gcWorkKeys(event.repository, event.runId);
  const counts: Record<string, number> = {};
  const sampleFailures: string[] = [];
  /** Why sweep parts stopped (the map's failure says only that a child failed). */
  const stopReasons = new Set<string>();
  if (event.doMark) {
    const { commitsCounts } = await markCommitsKeys(deps, work);
    const commits = await deps.s3.getText(deps.workBucket, commitsCounts);
    if (commits) addCounts(counts, JSON.parse(commits));
    await addAll(deps, work.addressesCountsPrefix(), counts);
    await addAll(deps, `${work.root}mark/`, counts);
  }
  if (event.doSweep) {
    const revalidation = await deps.s3.getText(deps.workBucket, work.revalidationCounts);
    if (revalidation) addCounts(counts, JSON.parse(revalidation));
    await addAll(deps, `${work.root}sweep/`, counts, (parsed) => {
      for (const f of (parsed.failures ?? []) as { key: string; code: string }[]) {
        if (sampleFailures.length < 5) sampleFailures.push(`${f.key} (${f.code})`);
      }
      if (typeof parsed.stopped_because === "string") stopReasons.add(parsed.stopped_because);
    });
  }
  const deleteErrors = counts.delete_errors ?? 0;
  const errorMessage = event.error
    ? [
        ...[...stopReasons].slice(0, 2).map((r) => `sweep stopped: ${r}`),
        describeFailure(event.error),
      ].join("; ")
    : deleteErrors > 0
      ? `${deleteErrors} marked object(s) could not be deleted, e.g. ${sampleFailures.join(", ")}`
      : undefined;
  const success = errorMessage === undefined;

  const run = await deps.runs.getRun(event.repository, event.runId);
  const endedAt = deps.now().toISOString();
  const summary: GcRunSummary = {
    run_id: event.runId,
    mark_id: event.markId,
    mode: modeOf(event),
    start_time: run?.startedAt ?? runDate(event.now).toISOString(),
    end_time: endedAt,
    counts: Object.fromEntries(
      Object.entries(counts).filter(([, v]) => Number.isInteger(v) && v >= 0),
    ),
    success,
    ...(errorMessage ? { error_message: errorMessage } : {}),
  };
  let summaryError: string | undefined;
  try {
    await putInNamespace(
      deps.s3,
      event.storageNamespace,
      gcPaths.summary(event.runId),
      encodeRunSummary(summary),
      "application/json",
    );
  } catch (err) {
    // The run record must still end; say why the summary file is missing.
    summaryError = `could not write the run summary: ${(err as Error).message}`;
  }
  const recordCounts: GcRunCounts = {
    ...(counts.commits_considered !== undefined
      ? { commitsConsidered: counts.commits_considered }
      : {}),
    ...(counts.expired_commits !== undefined ? { expiredCommits: counts.expired_commits } : {}),
    ...(counts.marked_addresses !== undefined ? { markedAddresses: counts.marked_addresses } : {}),
    ...(counts.deleted_objects !== undefined ? { deletedObjects: counts.deleted_objects } : {}),
    ...(event.doSweep
      ? { failedDeletes: deleteErrors, sparedObjects: counts.spared_objects ?? 0 }
      : {}),
    ...(counts.skipped_answered_earlier
      ? { skippedAnsweredEarlier: counts.skipped_answered_earlier }
      : {}),
  };
  const message = [errorMessage, summaryError].filter(Boolean).join("; ");
  await deps.runs.completeRun(
    event.repository,
    event.runId,
    {
      status: success && !summaryError ? "succeeded" : "failed",
      counts: recordCounts,
      ...(message ? { errorMessage: message } : {}),
    },
    endedAt,
  );
  deps.metrics?.publish(
    { repository: event.repository },
    gcMetrics({
      doMark: event.doMark,
      doSweep: event.doSweep,
      counts,
      startedAt: new Date(summary.start_time),
      endedAt: new Date(endedAt),
    }),
  );
  return {
    success: success && !summaryError,
    ...(message ? { errorMessage: message } : {}),
    counts,
  };
}

/** Adds up the JSON count files under `prefix` (read a few dozen at a time). */
async function addAll(
  deps: GcStepDeps,
  prefix: string,
  counts: Record<string, number>,
  each?: (parsed: Record<string, unknown>) => void,
) {
  async function* countFiles() {
    for await (const o of deps.s3.list(deps.workBucket, prefix)) {
      if (o.key.endsWith(".json")) yield o.key;
    }
  }
  for await (const text of mapConcurrently(countFiles(), 32, (key) =>
    deps.s3.getText(deps.workBucket, key),
  )) {
    if (!text) continue;
    const parsed = JSON.parse(text) as Record<string, unknown>;
    addCounts(counts, parsed);
    each?.(parsed);
  }
}
