// Watchdog: a Step Functions "Execution Status Change" event (FAILED, TIMED_OUT, ABORTED) of an
// export execution. If the branch is still in-progress with that export (the execution name is
// the export id), it becomes export-failed with the reason: a branch never stays in-progress
// without a live execution.
import { z } from "zod";
import type { FinishExportResult } from "../start/finish-export";
import { finishExport } from "../start/finish-export";
import type { StartExportDeps } from "../start/start-export";
import { ExportWorkflowInputSchema } from "../workflow-input";

const DetailSchema = z.looseObject({
  executionArn: z.string(),
  name: z.string(),
  status: z.string(),
  input: z.string().nullable().optional(),
  error: z.string().nullable().optional(),
  cause: z.string().nullable().optional(),
});

export const FAILED_EXECUTION_STATUSES = ["FAILED", "TIMED_OUT", "ABORTED"] as const;

export type WatchdogResult =
  | { action: "ignored"; reason: string }
  | { action: "checked"; result: FinishExportResult };

export async function handleExecutionStatusChange(
  deps: StartExportDeps,
  event: { detail?: unknown },
): Promise<WatchdogResult> {
  const parsed = DetailSchema.safeParse(event.detail);
  if (!parsed.success) return { action: "ignored", reason: "not an execution status change" };
  const d = parsed.data;
  if (!(FAILED_EXECUTION_STATUSES as readonly string[]).includes(d.status)) {
    return { action: "ignored", reason: `status ${d.status}` };
  }
  let input: z.infer<typeof ExportWorkflowInputSchema>;
  try {
    input = ExportWorkflowInputSchema.parse(JSON.parse(d.input ?? "null"));
  } catch {
    return { action: "ignored", reason: "execution input is not an export workflow input" };
  }
  if (input.exportId !== d.name) return { action: "ignored", reason: "name is not the export id" };
  const detail = [d.error, d.cause].filter(Boolean).join(": ").slice(0, 800);
  // Conditional: applies only while the branch is in-progress with this export.
  const result = await finishExport(deps, {
    repository: input.repository,
    branch: input.branch,
    exportId: input.exportId,
    toCommit: input.toCommit,
    outcome: {
      status: "failed",
      errorMessage: `export execution ${d.status}${detail ? `: ${detail}` : ""}`,
    },
  });
  return { action: "checked", result };
}
