// Target of a GC schedule (EventBridge Scheduler, GcWorkflow.addSchedule): starts a run of
// the scheduled repository exactly as the API does (startGcRun: rules, mark ids, records).
import { SfnWorkflowStarter } from "../../export/start/sfn-workflow-starter";
import { createLakeFsClientFromEnv } from "../../lakefs/factory";
import { createDynamoDbClient, createSfnClient } from "../../shared/aws/clients";
import { createStateStores } from "../../shared/state";
import { startGcRun } from "../runs/start-gc-run";
import { GC_MODES, type GcMode } from "../workflow-input";

export interface ScheduledGcEvent {
  repository: string;
  /** Default mark-and-sweep; mark-only suits a schedule followed by a manual review. */
  mode?: GcMode;
}

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}

export const handler = async (event: ScheduledGcEvent) => {
  if (!event || typeof event.repository !== "string" || event.repository === "") {
    throw new Error("scheduled GC: repository is required in the schedule's input");
  }
  const mode = event.mode ?? "mark-and-sweep";
  if (!GC_MODES.includes(mode) || mode === "sweep-only") {
    throw new Error(`scheduled GC: mode must be mark-and-sweep or mark-only (got "${mode}")`);
  }
  const run = await startGcRun(
    {
      gc: createStateStores(createDynamoDbClient(), required("TABLE_NAME")).gc,
      lakefs: await createLakeFsClientFromEnv(),
      workflows: new SfnWorkflowStarter(createSfnClient()),
      gcStateMachineArn: required("GC_STATE_MACHINE_ARN"),
      now: () => new Date(),
    },
    { repository: event.repository, mode },
  );
  return { runId: run.runId, markId: run.markId, executionArn: run.executionArn };
};
