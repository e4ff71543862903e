// The export workflow's finish step: "done" on the export state, then - after a success with a
// newer head asked for meanwhile - the next export at once, from the newest head.
import { NotFoundError } from "../../shared/state/errors";
import type { ExportOutcome } from "../state/transitions";
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
  | { applied: false; reason: string }
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
  if (!done.applied) return done;
  if (!done.followUp) return { applied: true, followUp: null };
  // "run": the pending head was asked for explicitly (events only queue for continuous
  // branches), so it is exported whether or not the branch is continuous.
  try {
    const followUp = await startExport(deps, {
      repository: req.repository,
      branch: req.branch,
      trigger: "run",
    });
    return { applied: true, followUp };
  } catch (err) {
    // The configuration (or the branch) was deleted meanwhile: nothing more to export.
    if (err instanceof NotFoundError) return { applied: true, followUp: null };
    throw err;
  }
}
