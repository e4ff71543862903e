// EventBridge target for lakeFS post-commit/post-merge/post-revert/post-cherry-pick events: the compare-and-set start of a
// continuous export (startExport with trigger "event" refuses branches that are not continuous).
import { NotFoundError } from "../../shared/errors";
import { lambdaHandler } from "../../shared/lambda-handler";
import { startExport } from "../app/start-export";
import { startRequestFromEvent } from "../domain/lakefs-event";
import { startDepsFromEnv } from "./deps";

interface BusEvent {
  source?: string;
  detail?: unknown;
}

export const handler = lambdaHandler({
  name: "export trigger",
  keys: (event: BusEvent) => {
    const d = (event?.detail ?? {}) as { repository_id?: string; branch_id?: string };
    return { repository: d.repository_id, branch: d.branch_id };
  },
  run: async (event: BusEvent) => {
    const request = startRequestFromEvent(event);
    try {
      return await startExport(await startDepsFromEnv(), request);
    } catch (err) {
      // No export configured for this branch (or it was deleted): nothing to do.
      if (err instanceof NotFoundError) return { status: "not-configured" as const };
      throw err;
    }
  },
});
