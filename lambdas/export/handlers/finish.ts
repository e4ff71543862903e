// The workflow's Finish step: a failed export is logged at ERROR with its reason, so the
// export can be found in the logs by its exportId.

import { lambdaHandler } from "../../shared/lambda-handler";
import { logger } from "../../shared/logger";
import { runFinishStep } from "../app/finish-export";
import type { ExportWorkflowState } from "../domain/workflow-state";
import { exportKeysOf } from "./deps";

export const handler = lambdaHandler({
  name: "export finish step",
  keys: exportKeysOf,
  run: async (event: ExportWorkflowState) => {
    const out = runFinishStep(event);
    if (out.outcome === "failed") logger.error("export failed", { reason: out.errorMessage });
    return out;
  },
});
