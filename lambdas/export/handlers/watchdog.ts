// The execution-ended handler: Step Functions status changes of export executions (an
// EventBridge rule); a failed export's reason is logged at ERROR with its exportId.

import { lambdaHandler } from "../../shared/lambda-handler";
import { logger } from "../../shared/logger";
import { handleExecutionStatusChange, outcomeOfEndedExecution } from "../app/finish-export";
import { withCommitId } from "../domain/workflow-input";
import { startDepsFromEnv } from "./deps";

interface StatusChangeEvent {
  detail?: unknown;
}

/** The export an execution status change is about, as far as the event says. */
function keysOfStatusChange(event: StatusChangeEvent) {
  const d = (event?.detail ?? {}) as { name?: string; input?: string | null };
  let input: { repository?: string; branch?: string } = {};
  try {
    input = (withCommitId(JSON.parse(d.input ?? "{}")) ?? {}) as typeof input;
  } catch {
    // not JSON: the name is all there is
  }
  return { repository: input.repository, branch: input.branch, exportId: d.name };
}

export const handler = lambdaHandler({
  name: "export execution ended",
  keys: keysOfStatusChange,
  run: async (event: StatusChangeEvent) => {
    const out = await handleExecutionStatusChange(await startDepsFromEnv(), event);
    if (out.action === "recorded" && out.outcome === "failed") {
      const ended = outcomeOfEndedExecution(event.detail as { status: string });
      logger.error("export failed", {
        reason: ended.status === "failed" ? ended.errorMessage : undefined,
      });
    }
    return out;
  },
});
