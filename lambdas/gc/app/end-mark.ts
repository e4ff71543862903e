// After the mark map: the mark is complete, so it may be swept from now on (by this run's
// sweep phase, or by a later sweep-only run). Recorded here rather than at the end of the run
// so that a failed sweep leaves a mark that can still be swept again (resumed).

import type { GcWorkflowInput } from "../domain/workflow-input";
import type { GcStepDeps } from "../ports";

export interface EndMarkEvent extends GcWorkflowInput {
  plan: { partitions: number };
}

export async function runEndMarkStep(
  deps: Pick<GcStepDeps, "runs" | "lease" | "now">,
  event: EndMarkEvent,
): Promise<{ partitions: number }> {
  await deps.lease.renew(event.repository, event.runId);
  await deps.runs.endMark(event.repository, event.markId, event.runId, {
    partitions: event.plan.partitions,
    markedAt: deps.now().toISOString(),
  });
  return { partitions: event.plan.partitions };
}
