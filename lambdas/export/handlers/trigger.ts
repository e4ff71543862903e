// EventBridge target for lakeFS post-commit/post-merge events: the compare-and-set start of a
// continuous export (startExport with trigger "event" refuses branches that are not continuous).
import { NotFoundError } from "../../shared/errors";
import { startExport } from "../app/start-export";
import { startRequestFromEvent } from "../domain/lakefs-event";
import { startDepsFromEnv } from "./deps";

export const handler = async (event: { source?: string; detail?: unknown }) => {
  const request = startRequestFromEvent(event);
  try {
    const result = await startExport(await startDepsFromEnv(), request);
    console.log(JSON.stringify({ request, result }));
    return result;
  } catch (err) {
    // No export configured for this branch (or it was deleted): nothing to do.
    if (err instanceof NotFoundError) return { status: "not-configured" };
    throw err;
  }
};
