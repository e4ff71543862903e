// For the EventBridge-triggered starter Lambda: the bus event the webhook receiver published
// (source "lakeport.lakefs", detail = lakeFS's payload) -> a startExport request.
import { z } from "zod";
import type { StartExportRequest } from "../app/start-export";

export const LAKEFS_EVENT_SOURCE = "lakeport.lakefs";

const DetailSchema = z.looseObject({
  event_type: z.enum(["post-commit", "post-merge"]),
  repository_id: z.string().min(1),
  branch_id: z.string().min(1),
  commit_id: z.string().min(1),
});

/** The start request of a bus event; throws (with the field named) on a malformed detail. */
export function startRequestFromEvent(event: {
  source?: string;
  detail?: unknown;
}): StartExportRequest {
  if (event.source !== LAKEFS_EVENT_SOURCE) {
    throw new Error(`unexpected event source ${JSON.stringify(event.source)}`);
  }
  const parsed = DetailSchema.safeParse(event.detail);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`event detail ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  // The head is read again from lakeFS at start: the newest head wins over the event's commit.
  return { repository: parsed.data.repository_id, branch: parsed.data.branch_id, trigger: "event" };
}
