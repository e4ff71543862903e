// Execution-ended handler ("watchdog"): a Step Functions "Execution Status Change" event of an
// export execution (the execution name is the export id).
// - FAILED, TIMED_OUT, ABORTED: if the branch is still in-progress with that export, it becomes
//   export-failed with the reason: a branch never stays in-progress without a live execution.
// - SUCCEEDED with `finish.followUp` in the output: the head moved during the export, so the
//   next export starts now, from the newest head, after this execution has stopped.
import { z } from "zod";
import { NotFoundError } from "../../shared/state/errors";
import type { FinishExportResult } from "../start/finish-export";
import { finishExport } from "../start/finish-export";
import { type StartExportDeps, type StartExportResult, startExport } from "../start/start-export";
import { ExportWorkflowInputSchema } from "../workflow-input";

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

export type WatchdogResult =
  | { action: "ignored"; reason: string }
  | { action: "checked"; result: FinishExportResult }
  | { action: "follow-up"; result: StartExportResult | { status: "not-configured" } };

export async function handleExecutionStatusChange(
  deps: StartExportDeps,
  event: { detail?: unknown },
): Promise<WatchdogResult> {
  const parsed = DetailSchema.safeParse(event.detail);
  if (!parsed.success) return { action: "ignored", reason: "not an execution status change" };
  const d = parsed.data;
  if (d.status === "SUCCEEDED") return followUpAfterSuccess(deps, d);
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

async function followUpAfterSuccess(
  deps: StartExportDeps,
  d: z.infer<typeof DetailSchema>,
): Promise<WatchdogResult> {
  let out: {
    repository?: string;
    branch?: string;
    exportId?: string;
    finish?: { followUp?: boolean };
  };
  try {
    out = JSON.parse(d.output ?? "null") ?? {};
  } catch {
    return { action: "ignored", reason: "execution output is not JSON" };
  }
  if (out.exportId !== d.name || !out.repository || !out.branch) {
    return { action: "ignored", reason: "not an export execution" };
  }
  if (out.finish?.followUp !== true) return { action: "ignored", reason: "no follow-up asked" };
  try {
    // "run": the pending head was asked for by an event or a person while the export ran.
    const result = await startExport(deps, {
      repository: out.repository,
      branch: out.branch,
      trigger: "run",
    });
    return { action: "follow-up", result };
  } catch (err) {
    if (err instanceof NotFoundError)
      return { action: "follow-up", result: { status: "not-configured" } };
    throw err;
  }
}
