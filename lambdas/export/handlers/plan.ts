import { optionalInteger } from "../../shared/env";
import { lambdaHandler } from "../../shared/lambda-handler";
import { runPlanStep } from "../app/plan-step";
import type { ExportWorkflowState } from "../domain/workflow-state";
import {
  exportKeysOf,
  exportObjectStore,
  lakeFsClient,
  PLAN_TIME_MARGIN_MS,
  progressStore,
  s3Client,
  workBucket,
} from "./deps";

export const handler = lambdaHandler({
  name: "export plan step",
  keys: exportKeysOf,
  run: async (event: ExportWorkflowState, context) => {
    const remaining = context?.getRemainingTimeInMillis;
    return runPlanStep(
      {
        store: exportObjectStore(),
        lakefs: await lakeFsClient(),
        workBucket: workBucket(),
        s3: s3Client(),
        progress: progressStore(),
      },
      event,
      {
        shouldContinue: () => !remaining || remaining() > PLAN_TIME_MARGIN_MS,
        shardsPerManifestGroup: optionalInteger("MANIFEST_SHARDS_PER_GROUP"),
        copyMapConcurrency: optionalInteger("COPY_MAP_CONCURRENCY"),
        firstSegmentShards: optionalInteger("PLAN_FIRST_SEGMENT_SHARDS"),
        ...(context?.awsRequestId ? { attempt: context.awsRequestId } : {}),
        ...(remaining ? { deadlineMs: Date.now() + remaining() } : {}),
      },
    );
  },
  summary: (out) => ({ done: out.done, counts: out.counts }),
});
