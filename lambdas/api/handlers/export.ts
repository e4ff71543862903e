// Export configuration and control: continuous-export, export-hook, repair-export,
// export-status.

import { type StartExportResult, startExport } from "../../export/app/start-export";
import type { ExportConfig } from "../../export/domain/export-config";
import {
  configVersionOf,
  exportedConfigVersionOf,
  nextConfigVersion,
} from "../../export/domain/export-config";
import { exportStillWriting } from "../../export/domain/path-hold";
import { ConflictError, NotFoundError, UpstreamError, ValidationError } from "../../shared/errors";
import { getBranchHead, getRepositoryOrThrow } from "../../shared/lakefs/refs";
import { normalizeS3Location } from "../../shared/s3-naming";
import { type ApiDeps, depsFromEnv, lazyDeps } from "../deps";
import {
  type ApiEvent,
  type ApiHandler,
  type ApiResult,
  apiHandler,
  errorAnswer,
  json,
  noContent,
  parseBody,
  pathParam,
  type RouteFn,
} from "../http";
import { API_BASE_PATH, routeKey } from "../routes";
import {
  BranchIdSchema,
  ExportConfigurationSchema,
  NoOptionsSchema,
  RepairExportRequestSchema,
  RepositoryIdSchema,
} from "../schemas";
import {
  describeQuietly,
  exportConfigView,
  exportStatusView,
  startResultView,
} from "../status-views";
import {
  checkExportBucket,
  checkKeysFit,
  checkNotWorkBucket,
  checkOutsideBackupLocations,
  checkOutsideNamespaces,
  checkOutsideOtherExports,
  checkOutsidePreviousExport,
  checkStatusOutsideExport,
  checkStatusOutsidePreviousExport,
  compileRegexps,
} from "../validation";

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
      return json(202, startResultView(r));
    case "up-to-date":
      return json(200, startResultView(r));
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
      throw new ConflictError(
        `not failed, nothing to repair (state: ${r.state}); repair with {"full": true} reconciles the whole export path`,
      );
    case "refused-running":
      throw new ConflictError(
        `export in progress (${r.runningExportId}); repair when it has ended`,
      );
    case "refused-settling":
      throw new ConflictError(
        `the failed export was aborted, timed out or left a copy batch unreported, and its functions may still write to the export path until ${r.until}; repair after that`,
      );
    case "start-failed":
      throw new UpstreamError(`export ${r.exportId} could not start: ${r.errorMessage}`);
  }
}

async function run(event: ApiEvent, deps: ApiDeps) {
  const { repository, branch } = branchParams(event);
  parseBody(event, NoOptionsSchema, { optional: true });
  await existingBranch(deps, repository, branch);
  return startResultResponse(
    await startExport(startDeps(deps), { repository, branch, trigger: "run" }),
  );
}

async function repair(event: ApiEvent, deps: ApiDeps) {
  const { repository, branch } = branchParams(event);
  const body = parseBody(event, RepairExportRequestSchema, { optional: true });
  await existingBranch(deps, repository, branch);
  return startResultResponse(
    await startExport(startDeps(deps), {
      repository,
      branch,
      trigger: "repair",
      ...(body.full ? { full: true } : {}),
    }),
  );
}

const MAX_STORE_ATTEMPTS = 5;

/**
 * Stores a configuration with its version (see nextConfigVersion), read and written as one
 * compare-and-set: a change stored meanwhile makes it read and decide again, so two changes at
 * once get two versions.
 */
async function storeConfig(deps: ApiDeps, next: Omit<ExportConfig, "updatedAt" | "configVersion">) {
  const { repository, branch } = next;
  for (let attempt = 0; attempt < MAX_STORE_ATTEMPTS; attempt++) {
    const [previous, state] = await Promise.all([
      deps.stores.exports.getConfig(repository, branch),
      deps.stores.exports.getState(repository, branch),
    ]);
    const now = deps.now().toISOString();
    const config: ExportConfig & { configVersion: number } = {
      ...next,
      updatedAt: now,
      configVersion: nextConfigVersion(previous, state, next),
    };
    if (previous) {
      // The previous configuration's path, and where the branch's exports are (a path set and
      // changed again before any export leaves the last export elsewhere).
      for (const path of new Set([previous.exportPath, state?.exportPath, state?.exportedPath])) {
        if (path === undefined) continue;
        checkOutsidePreviousExport(path, config.exportPath);
        checkStatusOutsidePreviousExport(path, config.exportStatusPath);
      }
    }
    // Moving the paths releases the old ones: not while the export may still write to them.
    const moved = previous !== undefined && movedPaths(previous, config);
    const writing = moved ? exportStillWriting(state, now) : undefined;
    if (moved && writing) {
      throw new ConflictError(
        `${moved}: lakefs://${repository}@${branch}'s ${writing}, writing to ${moved === "exportStatusPath" ? previous.exportStatusPath : previous.exportPath}; change it once it has ended (export status --wait); other settings can change now`,
      );
    }
    const stored = await deps.stores.exports.replaceConfig(
      config,
      previous,
      moved ? { idleAt: now } : {},
    );
    if (stored) return { config, previous, state };
  }
  throw new ConflictError(
    `the export configuration of lakefs://${repository}@${branch} kept changing during this request; try again`,
  );
}

/** The first of the export path and status path that `next` moves away from, if any. */
function movedPaths(
  previous: ExportConfig,
  next: ExportConfig,
): "exportPath" | "exportStatusPath" | undefined {
  if (previous.exportPath !== next.exportPath) return "exportPath";
  // A status path added where there was none releases nothing.
  if (
    previous.exportStatusPath !== undefined &&
    previous.exportStatusPath !== next.exportStatusPath
  )
    return "exportStatusPath";
  return undefined;
}

/**
 * Every branch's export paths: the path claims (read strongly consistently, written with each
 * configuration), then the configurations through the kind index, which lags writes but also
 * has those stored before path claims existed.
 */
async function* otherExports(deps: ApiDeps) {
  yield* deps.stores.exports.listPathClaims();
  yield* deps.stores.exports.listConfigs();
}

/**
 * Undoes a configuration stored before its re-check failed. Storing it released the previous
 * configuration's paths, and another branch or a GC backup may have taken them meanwhile: put
 * back, the previous one would share a path with it (a full export deletes whatever else is
 * under its export path). So it goes back only if its paths are still free (checked again once
 * written); otherwise the branch's configuration is removed, which overlaps nothing. True when
 * removed.
 */
async function undoStoredConfig(
  deps: ApiDeps,
  config: ExportConfig,
  previous: ExportConfig | undefined,
): Promise<boolean> {
  // Nor around a GC backup location claimed meanwhile (a backup may claim inside the paths
  // this change released): a full export would delete the backup.
  const free = (c: ExportConfig) =>
    checkOutsideOtherExports(c, otherExports(deps))
      .then(() => checkOutsideBackupLocations(c, deps.stores.backupLocations.list()))
      .then(
        () => true,
        (err: unknown) => {
          if (err instanceof ValidationError) return false;
          throw err;
        },
      );
  if (previous && (await free(previous))) {
    await deps.stores.exports.restoreConfig(config, previous);
    if (await free(previous)) return false;
    await deps.stores.exports.restoreConfig(previous, undefined);
    return true;
  }
  await deps.stores.exports.restoreConfig(config, undefined);
  return previous !== undefined;
}

/**
 * The start a stored configuration makes; its failure does not undo the configuration and is
 * reported as an error answer would be (logged; an unexpected one's internals only there).
 */
async function startAfterStore(deps: ApiDeps, repository: string, branch: string) {
  try {
    return await startExport(startDeps(deps), { repository, branch, trigger: "set-once" });
  } catch (err) {
    return { status: "error" as const, message: errorAnswer(err).message };
  }
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
    compileRegexps(regexps);
    const exportPath = normalizeS3Location(body.exportPath);
    const exportStatusPath = body.exportStatusPath
      ? normalizeS3Location(body.exportStatusPath)
      : undefined;
    checkExportBucket("exportPath", exportPath, deps.exportBuckets);
    checkNotWorkBucket("exportPath", exportPath, deps.workBucket);
    if (exportStatusPath) {
      checkExportBucket("exportStatusPath", exportStatusPath, deps.exportBuckets);
      checkNotWorkBucket("exportStatusPath", exportStatusPath, deps.workBucket);
    }
    checkStatusOutsideExport(exportPath, exportStatusPath);
    checkKeysFit({ repository, branch }, exportPath, exportStatusPath, regexps);
    await existingBranch(deps, repository, branch);
    await checkOutsideNamespaces(
      [
        { field: "exportPath", path: exportPath },
        ...(exportStatusPath ? [{ field: "exportStatusPath", path: exportStatusPath }] : []),
      ],
      deps.lakefs.listRepositories({ amount: 1000 }),
    );
    const own = {
      repository,
      branch,
      exportPath,
      ...(exportStatusPath ? { exportStatusPath } : {}),
    };
    await checkOutsideOtherExports(own, otherExports(deps));
    await checkOutsideBackupLocations(own, deps.stores.backupLocations.list());
    const { config, previous, state } = await storeConfig(deps, {
      repository,
      branch,
      exportPath,
      ...(exportStatusPath ? { exportStatusPath } : {}),
      lastKeysInPrefixRegexp: regexps,
      isContinuous: body.isContinuous ?? false,
    });
    const { configVersion } = config;
    try {
      // Again once stored: another branch's configuration stored meanwhile may overlap it.
      // Its path claim is read consistently: of two requests at once, the later read sees the
      // other's write, so they are never both stored.
      await checkOutsideOtherExports(own, otherExports(deps));
      // A GC backup claims its location, then reads the path claims: the same way round.
      await checkOutsideBackupLocations(own, deps.stores.backupLocations.list());
    } catch (err) {
      const removed = await undoStoredConfig(deps, config, previous);
      if (removed && err instanceof ValidationError) {
        throw new ValidationError(
          `${err.message}; lakefs://${repository}@${branch} has no export configuration now: its previous export path was taken by another branch or a GC backup meanwhile (set it again)`,
        );
      }
      throw err;
    }
    // What the next export does with the new configuration: a full export when the branch was
    // exported with another version (the old export path is left as it is).
    const exported = exportedConfigVersionOf(state);
    const change = {
      configVersion,
      ...(exported !== undefined ? { exportedConfigVersion: exported } : {}),
      fullExportNext: exported === undefined || exported !== configVersionOf(config),
      ...(previous && previous.exportPath !== exportPath
        ? { previousExportPath: previous.exportPath }
        : {}),
    };
    // Enabling continuous export exports the current head at once.
    if (!config.isContinuous) return json(200, { ...exportConfigView(config), ...change });
    const started = await startAfterStore(deps, repository, branch);
    const view = "message" in started ? started : startResultView(started);
    return json(200, { ...exportConfigView(config), ...change, export: view });
  },

  // No lakeFS check: the configuration of a repository or branch deleted in lakeFS must still
  // be deletable (its export path stays taken while it is stored).
  // Not while the branch's export may still write to its paths (path-hold.ts).
  [routeKey("DELETE", `${base}/continuous-export`)]: async (event, deps) => {
    const { repository, branch } = branchParams(event);
    parseBody(event, NoOptionsSchema, { optional: true });
    const now = deps.now().toISOString();
    const result = await deps.stores.exports.deleteConfig(repository, branch, now);
    if (result === "missing")
      throw new NotFoundError(`no export configuration for lakefs://${repository}@${branch}`);
    if (result === "busy") {
      const state = await deps.stores.exports.getState(repository, branch);
      const why = exportStillWriting(state, now) ?? "its export is running";
      throw new ConflictError(
        `lakefs://${repository}@${branch}: ${why}, and its export path and status path stay taken until then; delete the configuration once it has ended (export status --wait)`,
      );
    }
    return noContent();
  },

  [routeKey("POST", `${base}/export-hook`)]: (event, deps) => run(event, deps),

  [routeKey("POST", `${base}/repair-export`)]: (event, deps) => repair(event, deps),

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
    const [execution, progress] = await Promise.all([
      state?.state === "in-progress"
        ? describeQuietly(deps.workflows, state.executionArn)
        : Promise.resolve(null),
      state ? progressQuietly(deps, state.exportId) : Promise.resolve(undefined),
    ]);
    return json(200, exportStatusView(repository, branch, state, execution, config, progress));
  },
};

/** Counts are best effort, like the execution's progress: a status read never fails on them. */
async function progressQuietly(deps: ApiDeps, exportId: string) {
  try {
    return await deps.stores.exportProgress.getProgress(exportId);
  } catch {
    return undefined;
  }
}

export function createExportHandler(deps: () => ApiDeps | Promise<ApiDeps>): ApiHandler {
  return apiHandler("API export routes", exportRoutes, deps);
}

export const handler = createExportHandler(lazyDeps(() => depsFromEnv(process.env)));
