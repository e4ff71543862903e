// A lakeFS-compatible development server: lakeFS's REST paths under /api/v1 (the subset in
// shared/reference/lakefs-api-subset.yml), its status codes and `{"message": ...}` errors,
// basic auth, object bytes in the embedded S3 at lakeFS-style addresses, and post-commit /
// post-merge / post-revert webhooks. Request counts per operation at GET /_lakeport/stats
// (POST resets); injected failures and latency at /_lakeport/faults (faults.ts); bulk staging
// for benchmarks at /_lakeport/repositories/{repo}/branches/{branch}/staging (bulk-staging.ts).
import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createS3Client } from "../../lambdas/shared/aws/clients";
import { ACTION_ENV_PREFIX, type ActionEnvironment, type HookRun } from "./actions";
import { ApiError } from "./api-error";
import { BULK_STAGING_PATH, serveBulkStaging } from "./bulk-staging";
import { FAULTS_PATH, LakeFsFaults } from "./faults";
import { PostHooks } from "./hooks";
import { apiRequest, errorReply, readBody, send } from "./http-io";
import { LakeFsModel } from "./model";
import { lakeFsRoutes } from "./routes";
import { findRoute, type Reply, type Route } from "./routes/routing";
import { createS3Gateway } from "./s3-gateway";

export interface LakeFsDevServerOptions {
  /** 0 or undefined picks a free port. */
  port?: number;
  /** Where repositories, refs, commits, staging and ranges are kept. */
  dataDir: string;
  s3: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  /** The one key pair accepted (basic auth). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Committer name on commits and merges (lakeFS uses the user's name). Default "admin". */
  committer?: string;
  /**
   * Where action files' `{{ ENV.NAME }}` values come from, as lakeFS reads its own environment
   * (`actions.env`): default this process's environment and the prefix LAKEFSACTION_.
   */
  actionEnv?: Partial<ActionEnvironment>;
  /** Where requests are counted (default: in this thread only); shared memory lets another
   * thread read them (bench/lakefs-thread.ts). */
  counts?: RequestCounter;
}

/** Counts requests by operation: RequestCounts, or SharedRequestCounts across threads. */
export interface RequestCounter {
  count(operation: string): void;
  snapshot(): LakeFsDevServerStats;
  reset(): void;
}

export interface LakeFsDevServerStats {
  requests: number;
  byOperation: Record<string, number>;
}

export interface LakeFsDevServerHandle {
  /** Server root, e.g. http://127.0.0.1:7072 (the API is under `${endpoint}/api/v1`). */
  endpoint: string;
  /** `${endpoint}/api/v1` */
  apiUrl: string;
  port: number;
  stats(): LakeFsDevServerStats;
  resetStats(): void;
  /** Webhook calls made so far (newest last, at most 1000 kept). */
  hookRuns(): HookRun[];
  /** Resolves when every webhook started so far has finished. */
  hooksSettled(): Promise<void>;
  /** Injected lakeFS errors and latency, the same rules as over HTTP at /_lakeport/faults. */
  faults: Pick<LakeFsFaults, "add" | "list" | "remove" | "clear">;
  stop(): Promise<void>;
}

/** Requests served since start (or the last reset), by lakeFS operation id. */
class RequestCounts implements RequestCounter {
  private current: LakeFsDevServerStats = { requests: 0, byOperation: {} };

  count(operation: string): void {
    this.current.requests++;
    this.current.byOperation[operation] = (this.current.byOperation[operation] ?? 0) + 1;
  }

  snapshot(): LakeFsDevServerStats {
    return { requests: this.current.requests, byOperation: { ...this.current.byOperation } };
  }

  reset(): void {
    this.current = { requests: 0, byOperation: {} };
  }
}

/** What serving one request needs. */
interface ServerState {
  model: LakeFsModel;
  routes: Route[];
  faults: LakeFsFaults;
  counts: RequestCounter;
  /** lakeFS's S3 gateway: every path outside /api/v1 and /_lakeport. */
  s3Gateway: ReturnType<typeof createS3Gateway>;
  /** The one accepted Authorization header (basic auth). */
  expectedAuth: Buffer;
}

export async function startLakeFsDevServer(
  opts: LakeFsDevServerOptions,
): Promise<LakeFsDevServerHandle> {
  const model = new LakeFsModel(opts.dataDir, opts.committer ?? "admin");
  const s3 = createS3Client({
    endpoint: opts.s3.endpoint,
    region: opts.s3.region,
    credentials: opts.s3.credentials,
  });
  const hooks = new PostHooks(model, s3, {
    values: opts.actionEnv?.values ?? process.env,
    prefix: opts.actionEnv?.prefix ?? ACTION_ENV_PREFIX,
    ...(opts.actionEnv?.enabled !== undefined ? { enabled: opts.actionEnv.enabled } : {}),
  });
  const routes = lakeFsRoutes({ model, s3, fireHooks: hooks.fire });
  const faults = new LakeFsFaults(new Set(routes.map((r) => r.operation)));
  const counts = opts.counts ?? new RequestCounts();
  const s3Gateway = createS3Gateway({
    model,
    s3,
    credentials: opts.credentials,
    count: (operation) => counts.count(operation),
  });
  const expectedAuth = Buffer.from(
    `Basic ${Buffer.from(`${opts.credentials.accessKeyId}:${opts.credentials.secretAccessKey}`).toString("base64")}`,
  );
  const state: ServerState = { model, routes, faults, counts, s3Gateway, expectedAuth };

  const server = http.createServer((req, res) => {
    handle(state, req, res).catch((err) => {
      if (!res.headersSent) send(res, { status: 500, json: { message: String(err) } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    apiUrl: `${endpoint}/api/v1`,
    port,
    stats: () => counts.snapshot(),
    resetStats: () => counts.reset(),
    hookRuns: () => [...hooks.runs],
    hooksSettled: () => hooks.settled(),
    faults: {
      add: (rule) => faults.add(rule),
      list: () => faults.list(),
      remove: (id) => faults.remove(id),
      clear: () => faults.clear(),
    },
    stop: async () => {
      faults.close();
      await hooks.drain();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      s3.destroy();
      model.close();
    },
  };
}

async function handle(
  state: ServerState,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const method = req.method ?? "GET";
  const admin = await adminReply(state, req, url.pathname, method);
  if (admin) return send(res, admin);
  // Everything else is lakeFS's S3 gateway (repositories as buckets, `<ref>/<path>` keys).
  if (!url.pathname.startsWith("/api/v1/")) return state.s3Gateway.handle(req, res);
  let segments: string[];
  try {
    segments = url.pathname
      .slice("/api/v1/".length)
      .split("/")
      .filter((s, i, all) => s !== "" || i < all.length - 1)
      .map(decodeURIComponent);
  } catch {
    return send(res, { status: 400, json: { message: "malformed path" } });
  }
  const match = findRoute(state.routes, method, segments);
  const operation = match?.route.operation ?? "unknown";
  state.counts.count(operation);
  const fault = await state.faults.apply(operation, method, url.pathname);
  if (fault) {
    req.resume();
    return send(res, fault);
  }
  if (!authenticated(state, req)) {
    req.resume();
    return send(res, UNAUTHENTICATED);
  }
  if (!match) {
    req.resume();
    return send(res, { status: 404, json: { message: "path not found" } });
  }
  const request = apiRequest(req, method, segments, url.searchParams);
  const reply = await Promise.resolve()
    .then(() => match.route.handle(request, match.params))
    .catch((err) => {
      req.resume();
      return errorReply(err);
    });
  send(res, reply);
}

const UNAUTHENTICATED: Reply = { status: 401, json: { message: "error authenticating request" } };

function authenticated(state: ServerState, req: http.IncomingMessage): boolean {
  const given = Buffer.from(req.headers.authorization ?? "");
  return given.length === state.expectedAuth.length && timingSafeEqual(given, state.expectedAuth);
}

/**
 * /_lakeport/stats (POST or DELETE resets), /_lakeport/health, /_lakeport/faults and bulk
 * staging (which writes lakeFS data, so it takes the API's basic auth).
 */
async function adminReply(
  state: ServerState,
  req: http.IncomingMessage,
  pathname: string,
  method: string,
): Promise<Reply | undefined> {
  if (pathname === "/_lakeport/stats") {
    if (method === "POST" || method === "DELETE") state.counts.reset();
    return { status: 200, json: state.counts.snapshot() };
  }
  if (pathname === "/_lakeport/health") return { status: 200, json: { ok: true } };
  if (pathname === FAULTS_PATH || pathname.startsWith(`${FAULTS_PATH}/`)) {
    const rest = pathname.slice(FAULTS_PATH.length);
    return await state.faults.serveAdmin(method, rest, () => readBody(req)).catch(errorReply);
  }
  const bulk = BULK_STAGING_PATH.exec(pathname);
  if (bulk) {
    if (!authenticated(state, req)) {
      req.resume();
      return UNAUTHENTICATED;
    }
    return await Promise.resolve()
      .then(() => {
        const [repo, branch] = [bulk[1]!, bulk[2]!].map((s) => decodeURIComponent(s));
        return serveBulkStaging(state.model, method, repo!, branch!, () => readBody(req));
      })
      .catch((err) => {
        req.resume();
        return errorReply(err instanceof URIError ? new ApiError(400, "malformed path") : err);
      });
  }
  return undefined;
}
