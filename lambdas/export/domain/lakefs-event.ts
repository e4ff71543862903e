// The bus event of a lakeFS commit, merge, revert or cherry-pick: the webhook receiver (lambdas/api) puts lakeFS's
// payload on the Lakeport bus as the detail, with source "lakeport.lakefs" and the lakeFS event
// type as detail type; a rule (infra/constructs/export.ts) sends it to the trigger, which
// starts the branch's export.
import { z } from "zod";
import type { StartTrigger } from "./export-state";

export const LAKEFS_EVENT_SOURCE = "lakeport.lakefs";
/**
 * The lakeFS hooks that export: the detail types of the bus events. A revert and a cherry-pick
 * make a commit on the branch but fire post-revert and post-cherry-pick, not post-commit.
 */
export const LAKEFS_EVENT_TYPES = [
  "post-commit",
  "post-merge",
  "post-revert",
  "post-cherry-pick",
] as const;

/** The fields of lakeFS's payload the trigger reads. */
const LakeFsEventDetailSchema = z.looseObject({
  event_type: z.enum(LAKEFS_EVENT_TYPES),
  repository_id: z.string().min(1),
  branch_id: z.string().min(1),
  commit_id: z.string().min(1),
});

/** The start request of a bus event; throws (with the field named) on a malformed detail. */
export function startRequestFromEvent(event: { source?: string; detail?: unknown }): {
  repository: string;
  branch: string;
  trigger: StartTrigger;
} {
  if (event.source !== LAKEFS_EVENT_SOURCE) {
    throw new Error(`unexpected event source ${JSON.stringify(event.source)}`);
  }
  const parsed = LakeFsEventDetailSchema.safeParse(event.detail);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`event detail ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  // The head is read again from lakeFS at start: the newest head wins over the event's commit.
  return { repository: parsed.data.repository_id, branch: parsed.data.branch_id, trigger: "event" };
}
