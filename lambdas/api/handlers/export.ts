// Export configuration and control: continuous-export, export-hook, repair-export,
// export-status.
import { getBranchHead, getRepositoryOrThrow } from "../../export/start/lakefs-refs";
import { type StartExportResult, startExport } from "../../export/start/start-export";
import type { StartTrigger } from "../../export/state/types";
import { ConflictError, NotFoundError, UpstreamError } from "../../shared/state/errors";
import type { ExportConfig } from "../../shared/state/export-store";
import { type ApiDeps, depsFromEnv, lazyDeps } from "../deps";
import {
  type ApiEvent,
  type ApiHandler,
  type ApiResult,
  apiHandler,
  json,
  noContent,
  parseBody,
  pathParam,
  type RouteFn,
} from "../http";
import { API_BASE_PATH, routeKey } from "../routes";
import { BranchIdSchema, ExportConfigurationSchema, RepositoryIdSchema } from "../schemas";
import { describeQuietly, exportConfigView, exportStatusView } from "../status-views";
import { checkOutsideNamespace, compileRegexps, normalizeS3Path } from "../validation";

const base = `${API_BASE_PATH}/repositories/{repository}/branches/{branch}`;

function branchParams(event: ApiEvent) {
  return {
    repository: pathParam(event, "repository", RepositoryIdSchema),
    branch: pathParam(event, "branch", BranchIdSchema),
  };
}

/** 404 unless both exist in lakeFS; returns the repository (for its namespace). */
async function existingBranch(deps: ApiDeps, repository: string, branch: string) {
  const repo = await getRepositoryOrThrow(deps.lakefs, repository);
  await getBranchHead(deps.lakefs, repository, branch);
  return repo;
}

function startDeps(deps: ApiDeps) {
  return {
    exports: deps.stores.exports,
    lakefs: deps.lakefs,
    workflows: deps.workflows,
    exportStateMachineArn: deps.exportStateMachineArn,
    now: deps.now,
  };
}

/** Maps a start result to the API's answer: 202 started, 200 up to date, 409 refused. */
export function startResultResponse(r: StartExportResult): ApiResult {
  switch (r.status) {
    case "started":
      return json(202, r);
    case "up-to-date":
      return json(200, r);
    case "not-continuous":
      return json(200, r);
    case "queued":
      throw new ConflictError(
        `export in progress (${r.runningExportId}); the newest head will be exported when it ends`,
      );
    case "refused-failed":
      throw new ConflictError(
        `export-failed: repair first${r.errorMessage ? ` (last error: ${r.errorMessage})` : ""}`,
      );
    case "refused-not-failed":
      throw new ConflictError(`not failed, nothing to repair (state: ${r.state})`);
    case "start-failed":
      throw new UpstreamError(`export ${r.exportId} could not start: ${r.errorMessage}`);
  }
}

async function start(event: ApiEvent, deps: ApiDeps, trigger: StartTrigger) {
  const { repository, branch } = branchParams(event);
  await existingBranch(deps, repository, branch);
  return startResultResponse(await startExport(startDeps(deps), { repository, branch, trigger }));
}

export const exportRoutes: Record<string, RouteFn<ApiDeps>> = {
  [routeKey("GET", `${base}/continuous-export`)]: async (event, deps) => {
    const { repository, branch } = branchParams(event);
    await existingBranch(deps, repository, branch);
    const config = await deps.stores.exports.getConfig(repository, branch);
    if (!config)
      throw new NotFoundError(`no export configuration for lakefs://${repository}@${branch}`);
    return json(200, exportConfigView(config));
  },

  [routeKey("PUT", `${base}/continuous-export`)]: async (event, deps) => {
    const { repository, branch } = branchParams(event);
    const body = parseBody(event, ExportConfigurationSchema);
    const regexps = body.lastKeysInPrefixRegexp ?? [];
    compileRegexps("lastKeysInPrefixRegexp", regexps);
    const repo = await existingBranch(deps, repository, branch);
    checkOutsideNamespace("exportPath", body.exportPath, repo);
    if (body.exportStatusPath)
      checkOutsideNamespace("exportStatusPath", body.exportStatusPath, repo);
    const config: ExportConfig = {
      repository,
      branch,
      exportPath: normalizeS3Path(body.exportPath),
      ...(body.exportStatusPath
        ? { exportStatusPath: normalizeS3Path(body.exportStatusPath) }
        : {}),
      lastKeysInPrefixRegexp: regexps,
      isContinuous: body.isContinuous ?? false,
      updatedAt: deps.now().toISOString(),
    };
    await deps.stores.exports.putConfig(config);
    // Enabling continuous export exports the current state at once (as the seed says).
    if (!config.isContinuous) return json(200, exportConfigView(config));
    const started = await startExport(startDeps(deps), { repository, branch, trigger: "set-once" });
    return json(200, { ...exportConfigView(config), export: started });
  },

  [routeKey("DELETE", `${base}/continuous-export`)]: async (event, deps) => {
    const { repository, branch } = branchParams(event);
    await getRepositoryOrThrow(deps.lakefs, repository);
    const existed = await deps.stores.exports.deleteConfig(repository, branch);
    if (!existed)
      throw new NotFoundError(`no export configuration for lakefs://${repository}@${branch}`);
    return noContent();
  },

  [routeKey("POST", `${base}/export-hook`)]: (event, deps) => start(event, deps, "run"),

  [routeKey("POST", `${base}/repair-export`)]: (event, deps) => start(event, deps, "repair"),

  [routeKey("GET", `${base}/export-status`)]: async (event, deps) => {
    const { repository, branch } = branchParams(event);
    await existingBranch(deps, repository, branch);
    const [config, state] = await Promise.all([
      deps.stores.exports.getConfig(repository, branch),
      deps.stores.exports.getState(repository, branch),
    ]);
    if (!config && !state) {
      throw new NotFoundError(`no export configuration for lakefs://${repository}@${branch}`);
    }
    const execution =
      state?.state === "in-progress"
        ? await describeQuietly(deps.workflows, state.executionArn)
        : null;
    return json(200, exportStatusView(repository, branch, state, execution));
  },
};

export function createExportHandler(deps: () => ApiDeps | Promise<ApiDeps>): ApiHandler {
  return apiHandler(exportRoutes, deps);
}

export const handler = createExportHandler(lazyDeps(() => depsFromEnv(process.env)));
