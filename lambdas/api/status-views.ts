// Response bodies built from stored records (snake_case for GC, as lakeFS names them).

import type { StartExportResult } from "../export/app/start-export";
import type { ExportConfig } from "../export/domain/export-config";
import { configVersionOf, exportedConfigVersionOf } from "../export/domain/export-config";
import type { ExportState } from "../export/domain/export-state";
import type { ExportProgress } from "../export/domain/progress";
import {
  DEFAULT_MAX_MARK_AGE_HOURS,
  namespaceRefusal,
  sweepRefusal,
} from "../gc/domain/mark-lifecycle";
import type { GcMark, GcRun } from "../gc/domain/run-records";
import type { ExecutionDescription, WorkflowStarter } from "../shared/workflow-starter";

export function exportConfigView(c: ExportConfig) {
  return {
    exportPath: c.exportPath,
    ...(c.exportStatusPath ? { exportStatusPath: c.exportStatusPath } : {}),
    lastKeysInPrefixRegexp: c.lastKeysInPrefixRegexp,
    isContinuous: c.isContinuous,
  };
}

/**
 * A start's result as the API answers it: the commit is `toCommit` of a started export and
 * `currentRef` of one already up to date.
 */
export function startResultView(r: StartExportResult) {
  if (r.status === "started") {
    const { exportId, executionArn, fromCommit, repaired, mode } = r;
    return {
      status: r.status,
      exportId,
      executionArn,
      fromCommit,
      toCommit: r.commitId,
      repaired,
      mode,
    };
  }
  if (r.status === "up-to-date") return { status: r.status, currentRef: r.commitId };
  return r;
}

export function exportStatusView(
  repository: string,
  branch: string,
  s: ExportState | undefined,
  execution: ExecutionDescription | null,
  config?: ExportConfig,
  progress?: ExportProgress,
) {
  return {
    repository,
    branch,
    state: s?.state ?? "never-exported",
    currentRef: s?.commitId ?? null,
    lastExportedCommit: s?.lastExportedCommit ?? null,
    errorMessage: s?.errorMessage ?? null,
    settlesAt: s?.settlesAt ?? null,
    exportId: s?.exportId ?? null,
    pendingHead: s?.pendingHead ?? null,
    updatedAt: s?.updatedAt ?? null,
    startedAt: s?.startedAt ?? null,
    configVersion: config ? configVersionOf(config) : null,
    exportedConfigVersion: exportedConfigVersionOf(s) ?? null,
    mode: s?.mode ?? null,
    execution,
    progress: progress
      ? {
          planDone: progress.planDone,
          planned: progress.planned,
          done: progress.done,
          final: progress.final === true,
          updatedAt: progress.updatedAt,
        }
      : null,
  };
}

export function gcRunView(run: GcRun, execution?: ExecutionDescription | null) {
  return {
    repository: run.repository,
    run_id: run.runId,
    mark_id: run.markId,
    mode: run.mode,
    status: run.status,
    counts: run.counts ?? {},
    started_at: run.startedAt,
    ended_at: run.endedAt ?? null,
    execution_arn: run.executionArn ?? null,
    error_message: run.errorMessage ?? null,
    storage_namespace: run.storageNamespace ?? null,
    ...(execution !== undefined ? { execution } : {}),
  };
}

/** A mark as the API shows it: what it is, its sweep, and whether it can be swept now. */
export function gcMarkView(
  mark: GcMark,
  now: Date,
  maxMarkAgeHours?: number,
  /** The repository's storage namespace now: a mark made in another is not sweepable. */
  storageNamespace?: string,
) {
  const refusal =
    sweepRefusal(
      mark,
      Math.floor(now.getTime() / 1000),
      maxMarkAgeHours ?? DEFAULT_MAX_MARK_AGE_HOURS,
    ) ?? (storageNamespace === undefined ? undefined : namespaceRefusal(mark, storageNamespace));
  return {
    repository: mark.repository,
    mark_id: mark.markId,
    run_id: mark.runId,
    status: mark.status,
    marked_at: mark.markedAt ?? null,
    mark_time: mark.markNow !== undefined ? new Date(mark.markNow * 1000).toISOString() : null,
    partitions: mark.partitions ?? null,
    storage_namespace: mark.storageNamespace ?? null,
    sweep_run_id: mark.sweepRunId ?? null,
    sweep_status: mark.sweepStatus ?? null,
    swept_at: mark.sweptAt ?? null,
    retired_at: mark.retiredAt ?? null,
    retired_reason: mark.retiredReason ?? null,
    sweepable: refusal === undefined,
    ...(refusal ? { not_sweepable_because: refusal } : {}),
  };
}

/** Progress is best effort: a status read must not fail because DescribeExecution did. */
export async function describeQuietly(
  workflows: WorkflowStarter,
  executionArn: string | undefined,
): Promise<ExecutionDescription | null> {
  if (!executionArn) return null;
  try {
    return await workflows.describe(executionArn);
  } catch (err) {
    return {
      executionArn,
      status: "RUNNING",
      error: "DescribeFailed",
      cause: (err as Error).message,
      mapRuns: [],
    };
  }
}
