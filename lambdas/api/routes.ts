// The API's routes: one table read by the handlers (dispatch, query parameters), the CDK
// construct (resources and methods, which the local API Gateway matches from the template) and
// the OpenAPI description.

export const API_BASE_PATH = "/api/v1";

/** Header (value "schedule") the EventBridge Scheduler target of a gcSchedules entry sets. */
export const SCHEDULED_HEADER = "x-lakeport-trigger";

/** One Lambda per capability group. */
export type RouteGroup = "export" | "gc" | "webhook" | "meta";
export type HttpMethod = "GET" | "PUT" | "POST" | "DELETE";

export interface RouteDef {
  method: HttpMethod;
  /** API Gateway resource path, base path included, e.g. /api/v1/repositories/{repository} */
  resource: string;
  group: RouteGroup;
  /** false only for the webhook, which checks its own shared secret. */
  authenticated: boolean;
  summary: string;
  /**
   * The query parameters the route takes (none when absent; others are refused), or "any" for
   * the webhook, whose URL in lakeFS's hook may carry the hook's own `query_params`.
   */
  query?: readonly string[] | "any";
}

const branch = `${API_BASE_PATH}/repositories/{repository}/branches/{branch}`;
const repo = `${API_BASE_PATH}/repositories/{repository}`;

export const ROUTES: readonly RouteDef[] = [
  {
    method: "GET",
    resource: `${branch}/continuous-export`,
    group: "export",
    authenticated: true,
    summary: "Get a branch's export configuration",
  },
  {
    method: "PUT",
    resource: `${branch}/continuous-export`,
    group: "export",
    authenticated: true,
    summary: "Set a branch's export configuration (a continuous one starts exporting)",
  },
  {
    method: "DELETE",
    resource: `${branch}/continuous-export`,
    group: "export",
    authenticated: true,
    summary: "Delete a branch's export configuration",
  },
  {
    method: "POST",
    resource: `${branch}/export-hook`,
    group: "export",
    authenticated: true,
    summary: "Export the branch's current head now, once",
  },
  {
    method: "POST",
    resource: `${branch}/repair-export`,
    group: "export",
    authenticated: true,
    summary: "Repair a failed export and restart it",
  },
  {
    method: "GET",
    resource: `${branch}/export-status`,
    group: "export",
    authenticated: true,
    summary: "Export state and the running execution's progress",
  },
  {
    method: "GET",
    resource: `${repo}/settings/gc_rules`,
    group: "gc",
    authenticated: true,
    summary: "Get the repository's GC rules",
  },
  {
    method: "PUT",
    resource: `${repo}/settings/gc_rules`,
    group: "gc",
    authenticated: true,
    summary: "Set the repository's GC rules",
  },
  {
    method: "DELETE",
    resource: `${repo}/settings/gc_rules`,
    group: "gc",
    authenticated: true,
    summary: "Delete the repository's GC rules",
  },
  {
    method: "POST",
    resource: `${repo}/gc/runs`,
    group: "gc",
    authenticated: true,
    summary: "Start a GC run",
  },
  {
    method: "GET",
    resource: `${repo}/gc/runs`,
    group: "gc",
    authenticated: true,
    summary: "List GC runs, newest first",
    query: ["amount", "after"],
  },
  {
    method: "GET",
    resource: `${repo}/gc/runs/{runId}`,
    group: "gc",
    authenticated: true,
    summary: "One GC run with progress and counts",
  },
  {
    method: "GET",
    resource: `${repo}/gc/marks/{markId}`,
    group: "gc",
    authenticated: true,
    summary: "A mark: whether it can still be swept, and why not",
  },
  {
    method: "GET",
    resource: `${repo}/gc/backup-location-check`,
    group: "gc",
    authenticated: true,
    summary:
      "Whether a location may hold a GC backup: outside every repository's storage namespace and the work bucket",
    query: ["location"],
  },
  {
    method: "POST",
    resource: `${repo}/gc/backup-locations`,
    group: "gc",
    authenticated: true,
    summary:
      "Claim a GC backup location (gc backup does): checked as backup-location-check does and against every export and status path, then kept out of export paths until released",
  },
  {
    method: "GET",
    resource: `${repo}/gc/backup-locations`,
    group: "gc",
    authenticated: true,
    summary:
      "The repository's claimed GC backup locations, in location order, a page at a time (amount, after)",
    query: ["amount", "after"],
  },
  {
    method: "DELETE",
    resource: `${repo}/gc/backup-locations`,
    group: "gc",
    authenticated: true,
    summary: "Release a claimed GC backup location (its backup is no longer needed)",
    query: ["location"],
  },
  {
    method: "POST",
    resource: `${repo}/gc/marks/{markId}/retire`,
    group: "gc",
    authenticated: true,
    summary: "Retire a mark (gc restore does): it is never swept afterwards",
  },
  {
    method: "POST",
    resource: `${API_BASE_PATH}/webhooks/lakefs`,
    group: "webhook",
    authenticated: false,
    summary: "lakeFS post-commit/post-merge/post-revert/post-cherry-pick webhook receiver",
    query: "any",
  },
  {
    method: "GET",
    resource: `${API_BASE_PATH}/openapi.json`,
    group: "meta",
    authenticated: true,
    summary: "This API's OpenAPI description",
  },
];

export const routeKey = (method: string, resource: string) => `${method} ${resource}`;

/** The route of a method and API Gateway resource, if any. */
export const routeOf = (method: string, resource: string): RouteDef | undefined =>
  ROUTES.find((r) => r.method === method && r.resource === resource);
