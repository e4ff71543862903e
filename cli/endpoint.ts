// Where the CLI sends requests: --endpoint, then LAKEPORT_ENDPOINT (signed with the default
// AWS credential chain), then .local/endpoints.json (`api`, signed with its credentials and
// region) of the working directory or the project.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ClientOptions } from "../lambdas/shared/aws/clients";
import { BRANCH_NAME_PATTERN, REPOSITORY_ID_PATTERN } from "../lambdas/shared/lakefs/names";
import { hasUserInfo } from "../lambdas/shared/url-user-info";

export interface Endpoint {
  /** Base URL ending in /api/v1. */
  baseUrl: string;
  /** Signing credentials; absent: the default AWS credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Signing region; absent: the endpoint's or the environment's. */
  region?: string;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function apiBase(url: string): string {
  const trimmed = url.replace(/\/+$/, "");
  return trimmed.endsWith("/api/v1") ? trimmed : `${trimmed}/api/v1`;
}

export function resolveEndpoint(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Endpoint {
  // An empty --endpoint is a bad value (not "no --endpoint": requests would go elsewhere).
  const given =
    flag !== undefined ? ["--endpoint", flag] : ["LAKEPORT_ENDPOINT", env.LAKEPORT_ENDPOINT];
  if (given[1] !== undefined && (given[0] === "--endpoint" || given[1] !== "")) {
    // Not repeated: fetch's error for such a URL quotes it, password included.
    if (hasUserInfo(given[1])) {
      throw new UsageError(
        `${given[0]}: must not carry credentials (user:password@); requests are signed with AWS credentials`,
      );
    }
    return { baseUrl: httpBase(given[0]!, given[1]) };
  }
  const endpoints = localEndpoints(cwd, (e) => e.api !== undefined);
  if (endpoints?.api) {
    const { accessKeyId, secretAccessKey, region } = endpoints;
    return {
      baseUrl: apiBase(endpoints.api),
      ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
      ...(region ? { region } : {}),
    };
  }
  throw new UsageError(
    "no API endpoint: pass --endpoint, set LAKEPORT_ENDPOINT, or run `npm run local` (writes .local/endpoints.json)",
  );
}

/** The API base of an endpoint given by the user; not an http(s) URL: a usage error. */
function httpBase(source: string, url: string): string {
  const base = apiBase(url);
  let parsed: URL | undefined;
  try {
    parsed = new URL(base);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    throw new UsageError(`${source}: must be an http(s) URL (got ${JSON.stringify(url)})`);
  }
  // The API path is appended to the URL: after a query or fragment it would be part of them,
  // and every request would go to "/" (API Gateway's 403, read as a credentials problem).
  if (parsed.search || parsed.hash) {
    throw new UsageError(`${source}: must have no query or fragment (got ${JSON.stringify(url)})`);
  }
  return base;
}

/**
 * A branch is lakefs://REPO/BRANCH (lakectl's form) or lakefs://REPO@BRANCH; a repository is
 * lakefs://REPO. A trailing slash is allowed; a path below the branch is not.
 */
export function parseLakeFsUri(uri: string, want: "branch" | "repository") {
  const m = /^lakefs:\/\/([^@/]+)(?:[@/]([^@/]+))?\/?$/.exec(uri);
  if (!m) {
    const hint = /^lakefs:\/\/[^/]+[@/][^/]+\/./.test(uri) ? " (a branch takes no path)" : "";
    throw new UsageError(
      `"${uri}" is not a lakefs:// ${want === "branch" ? "branch" : "repository"} URI${hint}`,
    );
  }
  const repository = m[1]!;
  const branch = m[2];
  if (want === "branch" && !branch) {
    throw new UsageError(`"${uri}": expected lakefs://REPO/BRANCH (or lakefs://REPO@BRANCH)`);
  }
  if (want === "repository" && branch) {
    throw new UsageError(`"${uri}": expected lakefs://REPO (no branch)`);
  }
  // Checked here, as the API would: `.` or `..` would be resolved away by the request's URL,
  // which then reaches no route (API Gateway's 403, read as a credentials problem).
  if (!REPOSITORY_ID_PATTERN.test(repository)) {
    throw new UsageError(`"${uri}": repository "${repository}" is not a lakeFS repository id`);
  }
  if (branch !== undefined && !BRANCH_NAME_PATTERN.test(branch)) {
    throw new UsageError(`"${uri}": branch "${branch}" is not a lakeFS branch name`);
  }
  return { repository, branch: branch ?? "" };
}

/** What `npm run local` writes to .local/endpoints.json. */
export interface LocalEndpoints {
  api?: string;
  s3?: string;
  stepfunctions?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/**
 * The embedded environment's endpoints file of the working directory, else of this checkout:
 * the first one `usable` accepts.
 */
export function localEndpoints(
  cwd: string,
  usable: (e: LocalEndpoints) => boolean,
): LocalEndpoints | undefined {
  const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  for (const dir of [cwd, projectRoot]) {
    const file = path.join(dir, ".local", "endpoints.json");
    if (!existsSync(file)) continue;
    let endpoints: LocalEndpoints;
    try {
      endpoints = JSON.parse(readFileSync(file, "utf8")) as LocalEndpoints;
    } catch {
      // JSON.parse's message quotes the text around the fault: the file holds keys and tokens.
      throw new UsageError(`${file} is not JSON (run \`npm run local\` again to rewrite it)`);
    }
    if (usable(endpoints)) return endpoints;
  }
  return undefined;
}

/** Client options of an embedded service (`s3`, `stepfunctions`) from the endpoints file. */
export function localClientOptions(
  service: "s3" | "stepfunctions",
  cwd: string,
): ClientOptions | undefined {
  const e = localEndpoints(cwd, (x) => !!(x[service] && x.accessKeyId && x.secretAccessKey));
  if (!e?.[service] || !e.accessKeyId || !e.secretAccessKey) return undefined;
  return {
    endpoint: e[service],
    region: e.region ?? "us-east-1",
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
  };
}
