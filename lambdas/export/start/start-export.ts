// The "start an export" use case: shared by the API (run, set, repair), the EventBridge
// starter Lambda (commit/merge events) and the export workflow's finish step (follow-ups).
import type { LakeFsApi } from "../../lakefs/types";
import { NotFoundError } from "../../shared/state/errors";
import type { ExportStore } from "../../shared/state/export-store";
import { exportIdFor } from "../state/export-id";
import { decideStart } from "../state/transitions";
import type { ExportStateName, StartTrigger } from "../state/types";
import { type ExportWorkflowInput, ExportWorkflowInputSchema } from "../workflow-input";
import { getBranchHead, getRepositoryOrThrow } from "./lakefs-refs";
import type { WorkflowStarter } from "./workflow-starter";

export interface StartExportDeps {
  exports: ExportStore;
  lakefs: Pick<LakeFsApi, "getBranch" | "getRepository">;
  workflows: WorkflowStarter;
  exportStateMachineArn: string;
  now: () => Date;
}

export interface StartExportRequest {
  repository: string;
  branch: string;
  trigger: StartTrigger;
}

export type StartExportResult =
  | {
      status: "started";
      exportId: string;
      executionArn: string;
      fromCommit: string | null;
      toCommit: string;
      repaired: boolean;
    }
  /** The head is already exported (or being exported). */
  | { status: "up-to-date"; currentRef: string }
  /** An event for a branch whose export is not continuous. */
  | { status: "not-continuous" }
  /** An export is running; the head was recorded and will be exported when it ends. */
  | { status: "queued"; runningExportId: string; pendingHead: string }
  /** The last export failed: a person must repair first. */
  | { status: "refused-failed"; errorMessage?: string }
  /** repair asked for a branch whose export has not failed. */
  | { status: "refused-not-failed"; state: ExportStateName | "never-exported" }
  /** StartExecution failed; the branch is now export-failed with the reason. */
  | { status: "start-failed"; exportId: string; errorMessage: string };

const MAX_CAS_ATTEMPTS = 20;

export async function startExport(
  deps: StartExportDeps,
  req: StartExportRequest,
): Promise<StartExportResult> {
  const { repository, branch } = req;
  const config = await deps.exports.getConfig(repository, branch);
  if (!config) {
    throw new NotFoundError(`no export configuration for lakefs://${repository}@${branch}`);
  }
  const repo = await getRepositoryOrThrow(deps.lakefs, repository);
  const head = await getBranchHead(deps.lakefs, repository, branch);

  for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
    const current = await deps.exports.getState(repository, branch);
    const now = deps.now().toISOString();
    const decision = decideStart(current, {
      head,
      trigger: req.trigger,
      isContinuous: config.isContinuous,
      now,
      exportIdFor: (attempt) => exportIdFor(repository, branch, head, attempt),
    });
    switch (decision.kind) {
      case "up-to-date":
        return { status: "up-to-date", currentRef: head };
      case "not-continuous":
        return { status: "not-continuous" };
      case "refused-failed":
        return { status: "refused-failed", errorMessage: decision.errorMessage };
      case "refused-not-failed":
        return { status: "refused-not-failed", state: decision.state };
      case "refused-in-progress": {
        // Lost race with the finish step? Then re-read and decide again.
        const ok = await deps.exports.requestFollowUp(
          repository,
          branch,
          decision.exportId,
          head,
          now,
        );
        if (ok) return { status: "queued", runningExportId: decision.exportId, pendingHead: head };
        continue;
      }
      case "start": {
        const ok = await deps.exports.compareAndSetState(
          repository,
          branch,
          current?.version,
          decision.next,
        );
        if (!ok) continue;
        const input: ExportWorkflowInput = ExportWorkflowInputSchema.parse({
          repository,
          branch,
          exportId: decision.next.exportId,
          fromCommit: decision.fromCommit,
          toCommit: head,
          exportPath: config.exportPath,
          ...(config.exportStatusPath ? { exportStatusPath: config.exportStatusPath } : {}),
          lastKeysInPrefixRegexp: config.lastKeysInPrefixRegexp,
          repaired: decision.next.repaired,
          storageNamespace: repo.storage_namespace,
        });
        return launch(deps, input);
      }
    }
  }
  throw new Error(`too much contention on the export state of lakefs://${repository}@${branch}`);
}

async function launch(
  deps: StartExportDeps,
  input: ExportWorkflowInput,
): Promise<StartExportResult> {
  const { repository, branch, exportId } = input;
  let executionArn: string;
  try {
    executionArn = await deps.workflows.start(deps.exportStateMachineArn, exportId, input);
  } catch (err) {
    // Never leave the branch in-progress without a live execution.
    const reason = (err as Error).message || String(err);
    await deps.exports.markStartFailed(
      repository,
      branch,
      exportId,
      reason,
      deps.now().toISOString(),
    );
    return { status: "start-failed", exportId, errorMessage: reason };
  }
  // The execution may already have finished and completed the state: then nothing to record.
  await deps.exports.recordExecution(
    repository,
    branch,
    exportId,
    executionArn,
    deps.now().toISOString(),
  );
  return {
    status: "started",
    exportId,
    executionArn,
    fromCommit: input.fromCommit,
    toCommit: input.toCommit,
    repaired: input.repaired,
  };
}
