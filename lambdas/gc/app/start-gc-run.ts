// The "start a GC run" use case: mark and sweep, mark only (optional mark id), or sweep only
// (the mark id of an earlier successful mark). One run per repository at a time: the start
// takes the repository's lease together with the run record; a second start is refused with
// 409 naming the running run, and a scheduled start records a skip instead.
import { ConflictError, NotFoundError, UpstreamError, ValidationError } from "../../shared/errors";
import { getRepositoryOrThrow } from "../../shared/lakefs/refs";
import type { LakeFsApi } from "../../shared/lakefs/types";
import type { WorkflowStarter } from "../../shared/workflow-starter";
import { gcExecutionName, newRunId, validateMarkId } from "../domain/ids";
import { DEFAULT_GC_LEASE_SECONDS } from "../domain/lease";
import {
  DEFAULT_MAX_MARK_AGE_HOURS,
  namespaceRefusal,
  sweepRefusal,
} from "../domain/mark-lifecycle";
import type { GcMark, GcRun } from "../domain/run-records";
import { type GcMode, type GcWorkflowInput, GcWorkflowInputSchema } from "../domain/workflow-input";
import type { GcLakeFs, GcStateStore } from "../ports";
import { checkNamespaceOwned, SharedNamespaceError } from "./namespace-owner";

export interface StartGcRunDeps {
  gc: GcStateStore;
  lakefs: Pick<LakeFsApi, "getRepository"> & Pick<GcLakeFs, "listRepositories">;
  workflows: WorkflowStarter;
  gcStateMachineArn: string;
  now: () => Date;
  /** How long the lease lasts unless renewed (default 30 minutes). */
  leaseSeconds?: number;
  /** The maxMarkAgeHours setting (default 24). */
  maxMarkAgeHours?: number;
}

export interface StartGcRunRequest {
  repository: string;
  mode: GcMode;
  markId?: string;
  /** Started by a schedule: a busy repository records a skipped run instead of a 409. */
  scheduled?: boolean;
}

export async function startGcRun(deps: StartGcRunDeps, req: StartGcRunRequest): Promise<GcRun> {
  const { repository, mode } = req;
  if (req.markId !== undefined) validateMarkId(req.markId);
  if (mode === "sweep-only" && !req.markId) {
    throw new ValidationError("mark_id: required for a sweep-only run");
  }
  if (mode === "mark-and-sweep" && req.markId) {
    throw new ValidationError("mark_id: only for mark-only or sweep-only runs");
  }
  const repo = await getRepositoryOrThrow(deps.lakefs, repository);
  try {
    await checkNamespaceOwned(deps.lakefs, repository, repo.storage_namespace);
  } catch (err) {
    if (err instanceof SharedNamespaceError) throw new ConflictError(err.message);
    throw err;
  }
  const rules = await deps.gc.getRules(repository);
  if (!rules) {
    throw new NotFoundError(`no GC rules for repository "${repository}": set them first`);
  }
  const now = deps.now();
  const nowSeconds = Math.floor(now.getTime() / 1000);
  let mark: GcMark | undefined;
  if (mode === "sweep-only") {
    mark = await deps.gc.getMark(repository, req.markId!);
    if (!mark) throw new NotFoundError(`mark id "${req.markId}" not found in "${repository}"`);
    const refusal = sweepRefusal(
      mark,
      nowSeconds,
      deps.maxMarkAgeHours ?? DEFAULT_MAX_MARK_AGE_HOURS,
    );
    if (refusal) throw new ConflictError(refusal);
    const elsewhere = namespaceRefusal(mark, repo.storage_namespace);
    if (elsewhere) throw new ConflictError(elsewhere);
  }
  const runId = newRunId(now);
  const markId = req.markId ?? runId;
  const run: GcRun = {
    repository,
    runId,
    mode,
    markId,
    status: "running",
    counts: {},
    startedAt: now.toISOString(),
    storageNamespace: repo.storage_namespace,
  };
  const created = await deps.gc.createRun(run, {
    nowSeconds,
    leaseSeconds: deps.leaseSeconds ?? DEFAULT_GC_LEASE_SECONDS,
    ...(mode === "sweep-only"
      ? { sweepsMark: true }
      : { mark: { markNow: nowSeconds, rules, storageNamespace: repo.storage_namespace } }),
  });
  if (!created.created) {
    if (created.reason === "lease") {
      const holder = created.holder?.runId ?? "(unknown)";
      const message = `GC run ${holder} is running on repository "${repository}": one GC run per repository at a time`;
      if (req.scheduled) {
        const skipped: GcRun = { ...run, status: "skipped", errorMessage: `skipped: ${message}` };
        await deps.gc.recordSkippedRun(skipped);
        return skipped;
      }
      throw new ConflictError(message);
    }
    if (created.reason === "mark-id-taken") {
      throw new ConflictError(`mark id "${markId}" is already used in "${repository}"`);
    }
    if (created.reason === "mark-not-sweepable") {
      // Changed between the check above and the start: say what it is now.
      const now2 = await deps.gc.getMark(repository, markId);
      throw new ConflictError(
        (now2 &&
          sweepRefusal(now2, nowSeconds, deps.maxMarkAgeHours ?? DEFAULT_MAX_MARK_AGE_HOURS)) ??
          `mark id "${markId}" cannot be swept now`,
      );
    }
    throw new ConflictError(`GC run ${runId} already exists in "${repository}"`);
  }

  const input: GcWorkflowInput = GcWorkflowInputSchema.parse({
    repository,
    runId,
    markId,
    doMark: mode !== "sweep-only",
    doSweep: mode !== "mark-only",
    storageNamespace: repo.storage_namespace,
    rules,
    now: nowSeconds,
    markRunId: mark?.runId ?? runId,
    markNow: mark?.markNow ?? nowSeconds,
    markRules: mark?.rules ?? rules,
  });
  try {
    const executionArn = await deps.workflows.start(
      deps.gcStateMachineArn,
      gcExecutionName(repository, runId),
      input,
    );
    await deps.gc.recordExecution(repository, runId, executionArn);
    return { ...run, executionArn };
  } catch (err) {
    const reason = (err as Error).message || String(err);
    await deps.gc.completeRun(
      repository,
      runId,
      { status: "failed", errorMessage: `could not start the GC workflow: ${reason}` },
      deps.now().toISOString(),
    );
    throw new UpstreamError(`could not start the GC workflow: ${reason}`);
  }
}
