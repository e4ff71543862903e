// Scheduled (EventBridge rule, every few minutes): finds exports stuck in progress, records
// the unrecoverable ones as export-failed, starts the follow-up export of a head queued behind
// a success that the watchdog could not start, exports the head of a continuous branch that
// moved without an export (its commit event lost), and publishes the ExportsStuckInProgress
// metric.
// Environment: TABLE_NAME, EXPORT_STATE_MACHINE_ARN, optional STUCK_EXPORT_AFTER_MINUTES
// (a running execution older than this is reported; default 360) and
// STUCK_EXPORT_GRACE_MINUTES (how long a start or an ended execution may take to be recorded
// before the branch counts as stuck; default 15, 17 after an ended execution; an aborted or
// timed-out one is recorded with its settling time whatever the grace).
import { createSfnClient } from "../../shared/aws/clients";
import { optionalInteger, required } from "../../shared/env";
import { lambdaHandler } from "../../shared/lambda-handler";
import { logger } from "../../shared/logger";
import {
  emfLine,
  publishMetrics,
  RECOVERED_EXPORTS_METRIC,
  STUCK_EXPORTS_METRIC,
} from "../../shared/metrics";
import { SfnExecutionLookup } from "../adapters/sfn-execution-lookup";
import { followUpExport } from "../app/finish-export";
import { startExport } from "../app/start-export";
import { checkStuckExports, type StuckCheckResult } from "../app/stuck-exports";
import { DEFAULT_STUCK_POLICY, type StuckPolicy } from "../domain/stuck";
import { exportStore, lakeFsClient, startDepsFromEnv } from "./deps";

export function stuckPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): StuckPolicy {
  const minutes = (name: string, min: number) =>
    optionalInteger(name, { min, unit: "minutes" }, env);
  const maxRun = minutes("STUCK_EXPORT_AFTER_MINUTES", 1);
  const grace = minutes("STUCK_EXPORT_GRACE_MINUTES", 0);
  return {
    ...DEFAULT_STUCK_POLICY,
    ...(maxRun !== undefined ? { maxRunMs: maxRun * 60_000 } : {}),
    ...(grace !== undefined ? { startGraceMs: grace * 60_000, endedGraceMs: grace * 60_000 } : {}),
  };
}

let lookup: SfnExecutionLookup | undefined;

export class StuckCheckError extends Error {
  override readonly name = "StuckCheckError";
}

/** Each stuck branch at WARN (with its keys), then the metric, then the counts at INFO. */
async function runStuckCheck(): Promise<StuckCheckResult> {
  lookup ??= new SfnExecutionLookup(createSfnClient());
  const result = await checkStuckExports({
    exports: exportStore(),
    executions: lookup,
    exportStateMachineArn: required("EXPORT_STATE_MACHINE_ARN"),
    now: () => new Date(),
    policy: stuckPolicyFromEnv(),
    followUp: async (repository, branch, pending) =>
      followUpExport(await startDepsFromEnv(), { repository, branch }, pending),
    missedHeads: {
      lakefs: await lakeFsClient(),
      configs: exportStore(),
      start: async (repository, branch) =>
        startExport(await startDepsFromEnv(), { repository, branch, trigger: "event" }),
    },
  });
  for (const missed of result.missedHeads) {
    logger.warn("branch head exported by the check: no event exported it", { ...missed });
  }
  for (const { repository, branch, exportId, ...verdict } of result.stuck) {
    logger.warn("export stuck in progress", { repository, branch, exportId, ...verdict });
  }
  for (const { repository, branch, message } of result.errors) {
    logger.error("export state could not be checked", { repository, branch, reason: message });
  }
  publishMetrics(
    emfLine(
      {
        [STUCK_EXPORTS_METRIC]: { value: result.stuck.length, unit: "Count" },
        [RECOVERED_EXPORTS_METRIC]: { value: result.markedFailed, unit: "Count" },
      },
      new Date(),
    ),
  );
  if (result.errors.length > 0) {
    const first = result.errors[0]!;
    throw new StuckCheckError(
      `${result.errors.length} branch(es) could not be checked (first: lakefs://${first.repository}@${first.branch}: ${first.message})`,
    );
  }
  return result;
}

/**
 * Publishes the metric even when some branches could not be checked, then fails the
 * invocation for those (Lambda errors alarm, retries, dead letters after them).
 */
export const handler = lambdaHandler({
  name: "export stuck check",
  run: runStuckCheck,
  summary: (result) => ({
    branches: result.branches,
    inProgress: result.inProgress,
    stuck: result.stuck.length,
    markedFailed: result.markedFailed,
    missedHeads: result.missedHeads.length,
    errors: result.errors.length,
  }),
});
