// EventBridge takes events up to 256 KB. lakeFS's webhook payload carries the commit's message
// and metadata, which users fill freely: a payload too large for the bus is published with the
// fields that name the commit only (all the export trigger reads), and says what it left out,
// instead of failing the delivery (lakeFS would retry it, and the commit would not be exported).

/** Room left under EventBridge's 256 KB for the source, detail type and envelope. */
export const MAX_DETAIL_BYTES = 200 * 1024;

/** lakeFS's fields that name the event and its commit (small, whatever the commit holds). */
const KEPT_FIELDS = [
  "event_type",
  "event_time",
  "action_name",
  "hook_id",
  "repository_id",
  "branch_id",
  "source_ref",
  "commit_id",
  "committer",
] as const;

/** The bus event's detail for a lakeFS payload: the payload itself when it fits. */
export function busEventDetail(payload: Record<string, unknown>): Record<string, unknown> {
  if (Buffer.byteLength(JSON.stringify(payload)) <= MAX_DETAIL_BYTES) return payload;
  const kept: Record<string, unknown> = {};
  for (const name of KEPT_FIELDS) if (payload[name] !== undefined) kept[name] = payload[name];
  const omitted = Object.keys(payload).filter((name) => !(name in kept));
  return { ...kept, lakeport_omitted_fields: omitted };
}
