// GC configuration and runs: settings/gc_rules, gc/runs, gc/runs/{runId}.

import { z } from "zod";
import { backupLocationProblem } from "../../gc/app/backup-location-check";
import {
  claimBackupLocationOutsideExports,
  exportPathProblem,
} from "../../gc/app/backup-location-claim";
import { startGcRun } from "../../gc/app/start-gc-run";
import { type BackupLocationClaim, claimKeyProblem } from "../../gc/domain/backup-location-claims";
import { GC_ID_PATTERN, GC_ID_RULE } from "../../gc/domain/ids";
import type { GcMode } from "../../gc/domain/workflow-input";
import { ConflictError, NotFoundError, ValidationError } from "../../shared/errors";
import { getRepositoryOrThrow } from "../../shared/lakefs/refs";
import {
  bucketOfLocation,
  normalizeS3Location,
  writableLocationProblem,
} from "../../shared/s3-naming";
import { type ApiDeps, depsFromEnv, lazyDeps } from "../deps";
import {
  type ApiEvent,
  type ApiHandler,
  apiHandler,
  json,
  noContent,
  parseBody,
  pathParam,
  queryParam,
  type RouteFn,
} from "../http";
import { API_BASE_PATH, routeKey, SCHEDULED_HEADER } from "../routes";
import {
  GcBackupLocationClaimRequestSchema,
  GcMarkRetireRequestSchema,
  GcRulesBodySchema,
  type GcRunRequest,
  GcRunRequestSchema,
  NoOptionsSchema,
  RepositoryIdSchema,
} from "../schemas";
import { describeQuietly, gcMarkView, gcRunView } from "../status-views";

const base = `${API_BASE_PATH}/repositories/{repository}`;
const RunIdSchema = z.string().regex(GC_ID_PATTERN, { error: "must be a GC run id" });
const MarkIdSchema = z.string().regex(GC_ID_PATTERN, { error: `must be ${GC_ID_RULE}` });

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;

async function existingRepository(event: ApiEvent, deps: ApiDeps) {
  const repository = pathParam(event, "repository", RepositoryIdSchema);
  await getRepositoryOrThrow(deps.lakefs, repository);
  return repository;
}

/** {mode} or lakeFS's {do_mark, do_sweep, mark_id}, not both. */
export function gcModeOf(req: GcRunRequest): GcMode {
  const lakeFsStyle = req.do_mark !== undefined || req.do_sweep !== undefined;
  if (req.mode && lakeFsStyle) {
    throw new ValidationError("mode: give either mode or do_mark/do_sweep, not both");
  }
  if (req.mode) return req.mode;
  const mark = req.do_mark ?? true;
  const sweep = req.do_sweep ?? true;
  if (!mark && !sweep) throw new ValidationError("do_mark/do_sweep: at least one must be true");
  return mark && sweep ? "mark-and-sweep" : mark ? "mark-only" : "sweep-only";
}

function headerOf(event: ApiEvent, name: string): string | undefined {
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (k.toLowerCase() === name && typeof v === "string") return v;
  }
  return undefined;
}

function pageSize(event: ApiEvent): number {
  const raw = queryParam(event, "amount");
  if (raw === undefined) return DEFAULT_PAGE;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_PAGE) {
    throw new ValidationError(`amount: must be a whole number from 1 to ${MAX_PAGE}`);
  }
  return n;
}

/**
 * Every branch's export and status paths: the path claims (read strongly consistently), then
 * the configurations (which also hold those stored before claims existed).
 */
async function* exportPaths(deps: ApiDeps) {
  yield* deps.stores.exports.listPathClaims();
  yield* deps.stores.exports.listConfigs();
}

/**
 * A location a GC backup may be made to (`field` names it in errors): well formed, outside
 * the work bucket and every repository's storage namespace. Returns it normalized.
 */
async function checkBackupLocation(deps: ApiDeps, field: string, location: string | undefined) {
  if (location === undefined || location === "") {
    throw new ValidationError(`${field}: required (s3://bucket[/prefix])`);
  }
  const problem = writableLocationProblem(location);
  if (problem) throw new ValidationError(`${field}: ${problem}`);
  if (deps.workBucket && bucketOfLocation(location) === deps.workBucket) {
    throw new ValidationError(
      `${field}: ${location} is in Lakeport's work bucket, whose objects expire after days: back up to a bucket of its own`,
    );
  }
  const overlap = await backupLocationProblem(deps.lakefs, location);
  if (overlap) throw new ValidationError(`${field}: ${overlap}`);
  return normalizeS3Location(location);
}

const claimView = (c: BackupLocationClaim) => ({
  repository: c.repository,
  location: c.location,
  mark_id: c.markId,
  claimed_at: c.claimedAt,
});

export const gcRoutes: Record<string, RouteFn<ApiDeps>> = {
  [routeKey("GET", `${base}/settings/gc_rules`)]: async (event, deps) => {
    const repository = await existingRepository(event, deps);
    const rules = await deps.stores.gc.getRules(repository);
    if (!rules) throw new NotFoundError(`no GC rules for repository "${repository}"`);
    return json(200, rules);
  },

  [routeKey("PUT", `${base}/settings/gc_rules`)]: async (event, deps) => {
    const repository = pathParam(event, "repository", RepositoryIdSchema);
    const rules = parseBody(event, GcRulesBodySchema);
    await getRepositoryOrThrow(deps.lakefs, repository);
    await deps.stores.gc.putRules(repository, rules, deps.now().toISOString());
    return noContent();
  },

  // No lakeFS check: the rules of a repository deleted in lakeFS must still be deletable.
  [routeKey("DELETE", `${base}/settings/gc_rules`)]: async (event, deps) => {
    const repository = pathParam(event, "repository", RepositoryIdSchema);
    parseBody(event, NoOptionsSchema, { optional: true });
    if (!(await deps.stores.gc.deleteRules(repository))) {
      throw new NotFoundError(`no GC rules for repository "${repository}"`);
    }
    return noContent();
  },

  [routeKey("POST", `${base}/gc/runs`)]: async (event, deps) => {
    const repository = pathParam(event, "repository", RepositoryIdSchema);
    const req = parseBody(event, GcRunRequestSchema, { optional: true });
    const mode = gcModeOf(req);
    const scheduled = headerOf(event, SCHEDULED_HEADER) === "schedule";
    const run = await startGcRun(
      {
        gc: deps.stores.gc,
        lakefs: deps.lakefs,
        workflows: deps.workflows,
        gcStateMachineArn: deps.gcStateMachineArn,
        now: deps.now,
        ...deps.gcSettings,
      },
      { repository, mode, scheduled, ...(req.mark_id ? { markId: req.mark_id } : {}) },
    );
    // A skipped scheduled start is an answer, not a failure (nothing for the scheduler to retry).
    return json(run.status === "skipped" ? 200 : 202, gcRunView(run));
  },

  [routeKey("GET", `${base}/gc/marks/{markId}`)]: async (event, deps) => {
    const repository = pathParam(event, "repository", RepositoryIdSchema);
    const repo = await getRepositoryOrThrow(deps.lakefs, repository);
    const markId = pathParam(event, "markId", MarkIdSchema);
    const mark = await deps.stores.gc.getMark(repository, markId);
    if (!mark) throw new NotFoundError(`mark id "${markId}" not found in "${repository}"`);
    return json(
      200,
      gcMarkView(mark, deps.now(), deps.gcSettings?.maxMarkAgeHours, repo.storage_namespace),
    );
  },

  // A check only (nothing claimed); `gc backup` claims with the POST below.
  [routeKey("GET", `${base}/gc/backup-location-check`)]: async (event, deps) => {
    const repository = await existingRepository(event, deps);
    const location = await checkBackupLocation(deps, "location", queryParam(event, "location"));
    // Not usable when it cannot be claimed (gc backup and the copy workflow claim it).
    const tooLong = claimKeyProblem(repository, location);
    if (tooLong) throw new ValidationError(`location: ${tooLong}`);
    // A backup under an export path is deleted by that branch's next full export.
    const why = await exportPathProblem(location, exportPaths(deps));
    if (why) throw new ValidationError(`location: ${why}`);
    return json(200, { location, usable: true });
  },

  // Claimed by `gc backup` before it copies from the CLI's machine (the copy workflow's plan
  // claims the same): the CLI sees no lakeFS nor table, so it cannot check or claim itself.
  [routeKey("POST", `${base}/gc/backup-locations`)]: async (event, deps) => {
    const repository = pathParam(event, "repository", RepositoryIdSchema);
    const body = parseBody(event, GcBackupLocationClaimRequestSchema);
    await getRepositoryOrThrow(deps.lakefs, repository);
    const location = await checkBackupLocation(deps, "location", body.location);
    if (!(await deps.stores.gc.getMark(repository, body.mark_id))) {
      throw new NotFoundError(`mark id "${body.mark_id}" not found in "${repository}"`);
    }
    const out = await claimBackupLocationOutsideExports(
      { claims: deps.stores.backupLocations, exportPaths: () => exportPaths(deps), now: deps.now },
      { repository, location, markId: body.mark_id },
    );
    if ("problem" in out) throw new ValidationError(`location: ${out.problem}`);
    return json(out.created ? 201 : 200, claimView(out.claim));
  },

  // No lakeFS check: the claims of a repository deleted in lakeFS keep export paths out until
  // released, so they must still be listed.
  [routeKey("GET", `${base}/gc/backup-locations`)]: async (event, deps) => {
    const repository = pathParam(event, "repository", RepositoryIdSchema);
    const limit = pageSize(event);
    const after = queryParam(event, "after");
    if (after !== undefined && (after === "" || claimKeyProblem(repository, after))) {
      throw new ValidationError("after: must be a location of a page before (next_offset)");
    }
    const page = await deps.stores.backupLocations.pageOfRepository(repository, {
      limit,
      ...(after !== undefined ? { after } : {}),
    });
    return json(200, {
      results: page.claims.map(claimView),
      pagination: {
        has_more: page.nextAfter !== undefined,
        next_offset: page.nextAfter ?? "",
        results: page.claims.length,
        max_per_page: limit,
      },
    });
  },

  // No lakeFS check: the backups of a repository deleted in lakeFS must still be releasable.
  [routeKey("DELETE", `${base}/gc/backup-locations`)]: async (event, deps) => {
    const repository = pathParam(event, "repository", RepositoryIdSchema);
    parseBody(event, NoOptionsSchema, { optional: true });
    const given = queryParam(event, "location");
    if (given === undefined || given === "") {
      throw new ValidationError("location: required (s3://bucket[/prefix])");
    }
    const problem = writableLocationProblem(given);
    if (problem) throw new ValidationError(`location: ${problem}`);
    const location = normalizeS3Location(given);
    // Never claimed (DynamoDB would refuse its key, not answer that there is no such claim).
    const tooLong = claimKeyProblem(repository, location);
    if (tooLong) throw new ValidationError(`location: ${tooLong}`);
    if (!(await deps.stores.backupLocations.release(repository, location))) {
      throw new NotFoundError(`no GC backup location ${location} claimed for "${repository}"`);
    }
    return noContent();
  },

  [routeKey("POST", `${base}/gc/marks/{markId}/retire`)]: async (event, deps) => {
    const repository = pathParam(event, "repository", RepositoryIdSchema);
    const markId = pathParam(event, "markId", MarkIdSchema);
    const body = parseBody(event, GcMarkRetireRequestSchema, { optional: true });
    await getRepositoryOrThrow(deps.lakefs, repository);
    const now = deps.now();
    const out = await deps.stores.gc.retireMark(
      repository,
      markId,
      body.reason ?? "retired",
      { iso: now.toISOString(), seconds: Math.floor(now.getTime() / 1000) },
      deps.gcSettings?.sweepSettleSeconds,
    );
    if (!out) throw new NotFoundError(`mark id "${markId}" not found in "${repository}"`);
    if ("settling" in out) throw new ConflictError(out.settling);
    if ("sweeping" in out) {
      throw new ConflictError(
        `mark id "${markId}" is being swept by GC run ${out.sweeping}: wait for it to end before restoring its objects`,
      );
    }
    return json(200, gcMarkView(out.retired, now, deps.gcSettings?.maxMarkAgeHours));
  },

  [routeKey("GET", `${base}/gc/runs`)]: async (event, deps) => {
    const repository = await existingRepository(event, deps);
    const limit = pageSize(event);
    const after = queryParam(event, "after");
    if (after !== undefined && !RunIdSchema.safeParse(after).success) {
      throw new ValidationError("after: must be a GC run id");
    }
    const page = await deps.stores.gc.listRuns(repository, { limit, ...(after ? { after } : {}) });
    return json(200, {
      results: page.runs.map((r) => gcRunView(r)),
      pagination: {
        has_more: page.nextAfter !== undefined,
        next_offset: page.nextAfter ?? "",
        results: page.runs.length,
        max_per_page: limit,
      },
    });
  },

  [routeKey("GET", `${base}/gc/runs/{runId}`)]: async (event, deps) => {
    const repository = await existingRepository(event, deps);
    const runId = pathParam(event, "runId", RunIdSchema);
    const run = await deps.stores.gc.getRun(repository, runId);
    if (!run) throw new NotFoundError(`GC run "${runId}" not found in "${repository}"`);
    const execution = await describeQuietly(deps.workflows, run.executionArn);
    return json(200, gcRunView(run, execution));
  },
};

export function createGcHandler(deps: () => ApiDeps | Promise<ApiDeps>): ApiHandler {
  return apiHandler("API GC routes", gcRoutes, deps);
}

export const handler = createGcHandler(lazyDeps(() => depsFromEnv(process.env)));
