// Execution-ended handler ("watchdog"): a Step Functions "Execution Status Change" event of an
// export execution (the execution name is the export id). It records the export's outcome on
// the branch: the execution has stopped, so a follow-up export it starts (a newer head asked
// for meanwhile) never overlaps it. While the state says in-progress every start is queued.
// - SUCCEEDED: the status step said exported-successfully or export-repaired: done, succeeded.
// - FAILED in the ExportFailed state: done, failed, with the state's cause as the reason.
// - any other FAILED, TIMED_OUT, ABORTED: done, failed, with the execution's error.
// The update is conditional (same export id, still in-progress), so a repeated event or one
// for an older export changes nothing.
import { z } from "zod";
import type { ExportOutcome } from "../domain/transitions";
import { ExportWorkflowInputSchema } from "../domain/workflow-input";
import type { FinishExportResult } from "./finish-export";
import { finishExport } from "./finish-export";
import { EXPORT_FAILED_ERROR } from "./finish-step";
import type { StartExportDeps } from "./start-export";

const DetailSchema = z.looseObject({
  executionArn: z.string(),
  name: z.string(),
  status: z.string(),
  input: z.string().nullable().optional(),
  output: z.string().nullable().optional(),
  error: z.string().nullable().optional(),
  cause: z.string().nullable().optional(),
});

export const FAILED_EXECUTION_STATUSES = ["FAILED", "TIMED_OUT", "ABORTED"] as const;
const ENDED_STATUSES: readonly string[] = ["SUCCEEDED", ...FAILED_EXECUTION_STATUSES];

export type WatchdogResult =
  | { action: "ignored"; reason: string }
  | { action: "recorded"; outcome: ExportOutcome["status"]; result: FinishExportResult };

/** The outcome an ended execution stands for. */
export function outcomeOfEndedExecution(d: {
  status: string;
  error?: string | null;
  cause?: string | null;
}): ExportOutcome {
  if (d.status === "SUCCEEDED") return { status: "succeeded" };
  if (d.status === "FAILED" && d.error === EXPORT_FAILED_ERROR) {
    return { status: "failed", errorMessage: (d.cause || "export failed").slice(0, 1000) };
  }
  const detail = [d.error, d.cause].filter(Boolean).join(": ").slice(0, 800);
  return {
    status: "failed",
    errorMessage: `export execution ${d.status}${detail ? `: ${detail}` : ""}`,
  };
}

export async function handleExecutionStatusChange(
  deps: StartExportDeps,
  event: { detail?: unknown },
): Promise<WatchdogResult> {
  const parsed = DetailSchema.safeParse(event.detail);
  if (!parsed.success) return { action: "ignored", reason: "not an execution status change" };
  const d = parsed.data;
  if (!ENDED_STATUSES.includes(d.status)) {
    return { action: "ignored", reason: `status ${d.status}` };
  }
  let input: z.infer<typeof ExportWorkflowInputSchema>;
  try {
    input = ExportWorkflowInputSchema.parse(JSON.parse(d.input ?? "null"));
  } catch {
    return { action: "ignored", reason: "execution input is not an export workflow input" };
  }
  if (input.exportId !== d.name) return { action: "ignored", reason: "name is not the export id" };
  const outcome = outcomeOfEndedExecution(d);
  // Conditional: applies only while the branch is in-progress with this export.
  const result = await finishExport(deps, {
    repository: input.repository,
    branch: input.branch,
    exportId: input.exportId,
    toCommit: input.toCommit,
    outcome,
  });
  return { action: "recorded", outcome: outcome.status, result };
}
