// The wait after a successful export whose writers may still run (the status step found an
// earlier attempt of a copy batch, or of the markers step, started and not ended): asked every
// few seconds which still run, so that the execution ends, and the branch's next export starts,
// only once none does (lambdas/export/domain/writers.ts).
import { lambdaHandler } from "../../shared/lambda-handler";
import { runningWriters } from "../app/export-writers";
import type { ExportWorkflowState } from "../domain/workflow-state";
import { workflowInputOf } from "../domain/workflow-state";
import { exportKeysOf, exportObjectStore, workBucket } from "./deps";

export const handler = lambdaHandler({
  name: "export writers check",
  keys: exportKeysOf,
  run: async (event: ExportWorkflowState) =>
    runningWriters(
      { store: exportObjectStore(), workBucket: workBucket() },
      workflowInputOf(event).exportId,
    ),
});
