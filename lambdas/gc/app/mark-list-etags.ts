// The mark step records the ETag of each text list it writes beside the partition's counts in
// the work bucket. A list in the namespace with another ETag was edited since (anyone with
// write access to the namespace may): the sweep refuses it (revalidate.ts), and so does a
// backup, which would copy what the edited list says instead of what the sweep deletes.
import { mapConcurrently } from "../../shared/concurrency";
import type { GcStepDeps } from "../ports";
import type { WorkKeys } from "./common";

/** A text list of the mark as listed in the namespace, with its ETag. */
export interface ListedMarkPart {
  key: string;
  part: number;
  etag?: string;
}

/**
 * The first list whose ETag differs from the one the mark step recorded, or undefined. A mark
 * written before marks recorded the ETag, or a store listing none, is not checked.
 */
export async function firstEditedList(
  deps: Pick<GcStepDeps, "s3" | "workBucket">,
  markWork: WorkKeys,
  parts: readonly ListedMarkPart[],
): Promise<string | undefined> {
  const unquoted = (etag: string) => etag.replace(/"/g, "");
  for await (const changed of mapConcurrently(parts, 16, async (p) => {
    const counts = await deps.s3.getText(deps.workBucket, markWork.markCounts(p.part));
    const written = counts ? (JSON.parse(counts) as { text_etag?: unknown }).text_etag : undefined;
    if (typeof written !== "string" || p.etag === undefined) return undefined;
    return unquoted(written) === unquoted(p.etag) ? undefined : p.key;
  })) {
    if (changed !== undefined) return changed;
  }
  return undefined;
}
