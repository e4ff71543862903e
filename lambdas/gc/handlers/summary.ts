// The GC workflow's last step: a failed run is logged at ERROR with its reason, so the run
// can be found in the logs by its runId.

import { lambdaHandler } from "../../shared/lambda-handler";
import { logger } from "../../shared/logger";
import { powertoolsMetrics } from "../../shared/powertools-metrics";
import { runSummaryStep, type SummaryStepEvent } from "../app/summary";
import { gcDepsFromEnv, gcKeysOf, runInputOf } from "./deps";

export const handler = lambdaHandler({
  name: "GC summary step",
  keys: gcKeysOf,
  run: async (event: SummaryStepEvent) => {
    const { error, ...rest } = event;
    const out = await runSummaryStep(
      { ...gcDepsFromEnv(), metrics: powertoolsMetrics() },
      {
        ...runInputOf(rest),
        ...(error ? { error } : {}),
      },
    );
    if (!out.success) logger.error("GC run failed", { reason: out.errorMessage });
    return out;
  },
});
