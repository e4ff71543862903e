// The "start a GC run" use case: mark and sweep, mark only (optional mark id), or sweep only
// (the mark id of an earlier successful mark).
import { createHash } from "node:crypto";
import { getRepositoryOrThrow } from "../../export/start/lakefs-refs";
import type { WorkflowStarter } from "../../export/start/workflow-starter";
import type { LakeFsApi } from "../../lakefs/types";
import {
  ConflictError,
  NotFoundError,
  UpstreamError,
  ValidationError,
} from "../../shared/state/errors";
import type { GcRun, GcStore } from "../../shared/state/gc-store";
import { type GcMode, type GcWorkflowInput, GcWorkflowInputSchema } from "../workflow-input";
import { MARK_ID_PATTERN, newGcRunId } from "./run-id";

export interface StartGcRunDeps {
  gc: GcStore;
  lakefs: Pick<LakeFsApi, "getRepository">;
  workflows: WorkflowStarter;
  gcStateMachineArn: string;
  now: () => Date;
}

export interface StartGcRunRequest {
  repository: string;
  mode: GcMode;
  markId?: string;
}

export async function startGcRun(deps: StartGcRunDeps, req: StartGcRunRequest): Promise<GcRun> {
  const { repository, mode } = req;
  if (req.markId !== undefined && !MARK_ID_PATTERN.test(req.markId)) {
    throw new ValidationError("mark_id: 1 to 64 characters of A-Z a-z 0-9 - _");
  }
  if (mode === "sweep-only" && !req.markId) {
    throw new ValidationError("mark_id: required for a sweep-only run");
  }
  if (mode === "mark-and-sweep" && req.markId) {
    throw new ValidationError("mark_id: only for mark-only or sweep-only runs");
  }
  const repo = await getRepositoryOrThrow(deps.lakefs, repository);
  const rules = await deps.gc.getRules(repository);
  if (!rules) {
    throw new NotFoundError(`no GC rules for repository "${repository}": set them first`);
  }
  if (mode === "sweep-only") {
    const mark = await deps.gc.getMark(repository, req.markId!);
    if (!mark) throw new NotFoundError(`mark id "${req.markId}" not found in "${repository}"`);
    if (mark.status !== "succeeded") {
      throw new ConflictError(
        `mark id "${req.markId}" is from a ${mark.status} mark run (${mark.runId}): sweep needs a successful mark`,
      );
    }
  }
  const now = deps.now();
  const runId = newGcRunId(now);
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
  const created = await deps.gc.createRun(run, mode !== "sweep-only");
  if (!created) throw new ConflictError(`mark id "${markId}" is already used in "${repository}"`);

  const input: GcWorkflowInput = GcWorkflowInputSchema.parse({
    repository,
    runId,
    markId,
    doMark: mode !== "sweep-only",
    doSweep: mode !== "mark-only",
    storageNamespace: repo.storage_namespace,
    rules,
    now: Math.floor(now.getTime() / 1000),
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

/** Execution names are per state machine: qualify the run id with the repository. */
export function gcExecutionName(repository: string, runId: string): string {
  const digest = createHash("sha256").update(repository).digest("hex").slice(0, 8);
  return `${repository.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 40)}-${digest}-${runId}`;
}
