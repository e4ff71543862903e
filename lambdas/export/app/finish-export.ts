// "done" on the export state once the export's execution has ended (the execution-ended
// handler), then - after a success with a start asked for meanwhile - the next export at once,
// from the newest head. A repeated delivery finds the outcome recorded and only starts the
// follow-up if no start has taken it yet.
import { NotFoundError } from "../../shared/errors";
import type { ExportOutcome } from "../domain/transitions";
import { type StartExportDeps, type StartExportResult, startExport } from "./start-export";

export interface FinishExportRequest {
  repository: string;
  branch: string;
  exportId: string;
  /** The workflow input's toCommit. */
  toCommit: string;
  outcome: ExportOutcome;
}

export type FinishExportResult =
  | { applied: false; reason: string; followUp?: StartExportResult | null }
  | { applied: true; followUp: StartExportResult | null };

export async function finishExport(
  deps: StartExportDeps,
  req: FinishExportRequest,
): Promise<FinishExportResult> {
  const done = await deps.exports.completeExport(
    {
      repository: req.repository,
      branch: req.branch,
      exportId: req.exportId,
      currentRef: req.toCommit,
      outcome: req.outcome,
    },
    deps.now().toISOString(),
  );
  if (!done.applied) {
    // Recorded by an earlier delivery, which may have stopped before the follow-up started.
    const s = await deps.exports.getState(req.repository, req.branch);
    const succeeded = s?.state === "exported-successfully" || s?.state === "export-repaired";
    if (s?.exportId === req.exportId && succeeded && s.pendingHead !== undefined) {
      return { ...done, followUp: await followUp(deps, req) };
    }
    return done;
  }
  if (!done.followUp) return { applied: true, followUp: null };
  return { applied: true, followUp: await followUp(deps, req) };
}

async function followUp(
  deps: StartExportDeps,
  req: FinishExportRequest,
): Promise<StartExportResult | null> {
  // "run": the pending head was asked for explicitly (events only queue for continuous
  // branches), so it is exported whether or not the branch is continuous.
  try {
    return await startExport(deps, {
      repository: req.repository,
      branch: req.branch,
      trigger: "run",
    });
  } catch (err) {
    // The configuration (or the branch) was deleted meanwhile: nothing more to export.
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}
