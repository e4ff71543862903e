// A lakeFS-compatible development server: lakeFS's REST paths under /api/v1 (the subset in
// shared/reference/lakefs-api-subset.yml), its status codes and `{"message": ...}` errors,
// basic auth, object bytes in the embedded S3 at lakeFS-style addresses, and post-commit /
// post-merge / post-revert webhooks. Request counts per operation at GET /_lakeport/stats
// (POST resets); injected failures and latency at /_lakeport/faults (faults.ts).
import { randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { createS3Client } from "../../lambdas/shared/aws/clients";
import {
  ACTION_ENV_PREFIX,
  type ActionEnvironment,
  type EventType,
  type HookRun,
  runPostHooks,
} from "./actions";
import { FAULTS_PATH, LakeFsFaults } from "./faults";
import type { EntryValue } from "./graveler";
import { ApiError, type CommitRecord, LakeFsModel, nowSeconds } from "./model";
import type { DiffEntry } from "./paging";
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

interface Request {
  method: string;
  segments: string[];
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: () => Promise<Buffer>;
  json: () => Promise<Record<string, unknown>>;
}

type Reply =
  | { status: number; json?: unknown; text?: string; headers?: Record<string, string> }
  | { status: number; stream: Readable; headers: Record<string, string> };

interface Route {
  method: string;
  pattern: string[];
  operation: string;
  handle: (req: Request, params: Record<string, string>) => Promise<Reply> | Reply;
}

const MAX_AMOUNT = 1000;
const DEFAULT_AMOUNT = 100;

export async function startLakeFsDevServer(
  opts: LakeFsDevServerOptions,
): Promise<LakeFsDevServerHandle> {
  const model = new LakeFsModel(opts.dataDir, opts.committer ?? "admin");
  const s3 = createS3Client({
    endpoint: opts.s3.endpoint,
    region: opts.s3.region,
    credentials: opts.s3.credentials,
  });
  let stats: LakeFsDevServerStats = { requests: 0, byOperation: {} };
  const runs: HookRun[] = [];
  const pendingHooks = new Set<Promise<void>>();
  const actionEnv: ActionEnvironment = {
    values: opts.actionEnv?.values ?? process.env,
    prefix: opts.actionEnv?.prefix ?? ACTION_ENV_PREFIX,
    ...(opts.actionEnv?.enabled !== undefined ? { enabled: opts.actionEnv.enabled } : {}),
  };
  const expectedAuth = Buffer.from(
    `Basic ${Buffer.from(`${opts.credentials.accessKeyId}:${opts.credentials.secretAccessKey}`).toString("base64")}`,
  );

  const fireHooks = (
    repo: string,
    branch: string,
    commit: CommitRecord,
    eventType: EventType,
    mergeSource?: string,
  ) => {
    // Started on the next turn of the event loop: the commit or merge answers first.
    const p = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() =>
        runPostHooks(
          model.entriesUnder(repo, commit.id, "_lakefs_actions/"),
          async (address) => {
            const { bucket, key } = parseS3Uri(address);
            const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
            return out.Body!.transformToString();
          },
          { repo, branch, commit, eventType, mergeSource },
          runs,
          actionEnv,
        ),
      )
      .catch(() => undefined)
      .finally(() => pendingHooks.delete(p));
    pendingHooks.add(p);
  };

  const routes = buildRoutes(model, s3, fireHooks);
  const faults = new LakeFsFaults(new Set(routes.map((r) => r.operation)));
  const s3Gateway = createS3Gateway({
    model,
    s3,
    credentials: opts.credentials,
    count: (operation) => {
      stats.requests++;
      stats.byOperation[operation] = (stats.byOperation[operation] ?? 0) + 1;
    },
  });

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) send(res, { status: 500, json: { message: String(err) } });
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    if (url.pathname === "/_lakeport/stats") {
      if (method === "POST" || method === "DELETE") stats = { requests: 0, byOperation: {} };
      return send(res, { status: 200, json: stats });
    }
    if (url.pathname === "/_lakeport/health") return send(res, { status: 200, json: { ok: true } });
    if (url.pathname === FAULTS_PATH || url.pathname.startsWith(`${FAULTS_PATH}/`)) {
      const rest = url.pathname.slice(FAULTS_PATH.length);
      return send(
        res,
        await faults.serveAdmin(method, rest, () => readBody(req)).catch(errorReply),
      );
    }
    // Everything else is lakeFS's S3 gateway (repositories as buckets, `<ref>/<path>` keys).
    if (!url.pathname.startsWith("/api/v1/")) return s3Gateway.handle(req, res);
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
    const match = findRoute(routes, method, segments);
    const operation = match?.route.operation ?? "unknown";
    stats.requests++;
    stats.byOperation[operation] = (stats.byOperation[operation] ?? 0) + 1;
    const fault = await faults.apply(operation, method, url.pathname);
    if (fault) {
      req.resume();
      return send(res, fault);
    }
    const given = Buffer.from(req.headers.authorization ?? "");
    if (given.length !== expectedAuth.length || !timingSafeEqual(given, expectedAuth)) {
      req.resume();
      return send(res, { status: 401, json: { message: "error authenticating request" } });
    }
    if (!match) {
      req.resume();
      return send(res, { status: 404, json: { message: "path not found" } });
    }
    let bodyPromise: Promise<Buffer> | undefined;
    const body = () => {
      bodyPromise ??= readBody(req);
      return bodyPromise;
    };
    const request: Request = {
      method,
      segments,
      query: url.searchParams,
      headers: req.headers,
      body,
      json: async () => {
        const raw = (await body()).toString("utf8");
        if (raw.trim() === "") return {};
        try {
          const parsed = JSON.parse(raw);
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw 0;
          return parsed;
        } catch {
          throw new ApiError(400, "request body: invalid JSON object");
        }
      },
    };
    const reply = await Promise.resolve()
      .then(() => match.route.handle(request, match.params))
      .catch((err) => {
        req.resume();
        return errorReply(err);
      });
    send(res, reply);
  }

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
    stats: () => ({ requests: stats.requests, byOperation: { ...stats.byOperation } }),
    resetStats: () => {
      stats = { requests: 0, byOperation: {} };
    },
    hookRuns: () => [...runs],
    hooksSettled: async () => {
      while (pendingHooks.size > 0) await Promise.allSettled([...pendingHooks]);
    },
    faults: {
      add: (rule) => faults.add(rule),
      list: () => faults.list(),
      remove: (id) => faults.remove(id),
      clear: () => faults.clear(),
    },
    stop: async () => {
      faults.close();
      await Promise.allSettled([...pendingHooks]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      s3.destroy();
      model.close();
    },
  };
}

// --------------------------------------------------------------------------- routes

function buildRoutes(
  model: LakeFsModel,
  s3: S3Client,
  fireHooks: (
    repo: string,
    branch: string,
    commit: CommitRecord,
    eventType: EventType,
    mergeSource?: string,
  ) => void,
): Route[] {
  const R = (method: string, path: string, operation: string, handle: Route["handle"]): Route => ({
    method,
    pattern: path.split("/").filter(Boolean),
    operation,
    handle,
  });
  const REPO = "repositories/:repository";
  const BRANCH = `${REPO}/branches/:branch`;
  const REF = `${REPO}/refs/:ref`;

  return [
    R("GET", "repositories", "listRepositories", (req) => {
      const page = model.listRepositories(after(req), req.query.get("prefix") ?? "", amount(req));
      return listReply(page, amount(req), (r) => r.id);
    }),
    R("POST", "repositories", "createRepository", async (req) => {
      const body = await req.json();
      await ensureStorageNamespace(s3, body.storage_namespace);
      const record = model.createRepository({
        name: body.name as string,
        storage_namespace: body.storage_namespace as string,
        default_branch: body.default_branch as string | undefined,
        read_only: body.read_only === true,
        bare: req.query.get("bare") === "true",
      });
      return { status: 201, json: record };
    }),
    R("GET", REPO, "getRepository", (_req, p) => ({
      status: 200,
      json: model.getRepository(p.repository!),
    })),
    R("DELETE", REPO, "deleteRepository", (_req, p) => {
      model.deleteRepository(p.repository!);
      return { status: 204 };
    }),
    R("GET", `${REPO}/branches`, "listBranches", (req, p) => {
      const n = amount(req);
      const page = model.listBranches(p.repository!, after(req), req.query.get("prefix") ?? "", n);
      return listReply(page, n, (r) => r.id);
    }),
    R("POST", `${REPO}/branches`, "createBranch", async (req, p) => {
      const body = await req.json();
      const id = model.createBranch(p.repository!, body.name, body.source);
      return { status: 201, text: id, headers: { "content-type": "text/html" } };
    }),
    R("GET", BRANCH, "getBranch", (_req, p) => ({
      status: 200,
      json: model.getBranch(p.repository!, p.branch!),
    })),
    R("DELETE", BRANCH, "deleteBranch", (_req, p) => {
      model.deleteBranch(p.repository!, p.branch!);
      return { status: 204 };
    }),
    R("PUT", BRANCH, "resetBranch", async (req, p) => {
      model.resetBranch(p.repository!, p.branch!, await req.json());
      return { status: 204 };
    }),
    R("POST", `${BRANCH}/revert`, "revertBranch", async (req, p) => {
      const commit = model.revert(p.repository!, p.branch!, await req.json());
      // lakeFS runs no hooks on a read-only repository (reverted with force).
      if (!model.getRepository(p.repository!).read_only) {
        fireHooks(p.repository!, p.branch!, commit, "post-revert");
      }
      return { status: 204 };
    }),
    R("PUT", `${BRANCH}/hard_reset`, "hardResetBranch", (req, p) => {
      const force = req.query.get("force") === "true";
      model.hardReset(p.repository!, p.branch!, req.query.get("ref") ?? "", force);
      return { status: 204 };
    }),
    R("POST", `${BRANCH}/commits`, "commit", async (req, p) => {
      const body = await req.json();
      if (req.query.get("source_metarange")) {
        throw new ApiError(501, "source_metarange is not supported by the development server");
      }
      const commit = model.commit(p.repository!, p.branch!, body);
      fireHooks(p.repository!, p.branch!, commit, "post-commit");
      return { status: 201, json: commitJson(commit) };
    }),
    R("GET", `${BRANCH}/diff`, "diffBranch", (req, p) => {
      const n = amount(req);
      const page = model.diffBranch(p.repository!, p.branch!, {
        after: after(req),
        prefix: req.query.get("prefix") ?? "",
        delimiter: req.query.get("delimiter") ?? "",
        amount: n,
      });
      return listReply(
        page,
        n,
        (d) => d.path,
        (d) => diffJson(d, false),
      );
    }),
    R("POST", `${BRANCH}/objects`, "uploadObject", async (req, p) => {
      const objectPath = requiredPath(req);
      const repo = model.getRepository(p.repository!);
      model.getBranch(p.repository!, p.branch!);
      if (req.headers["if-none-match"] === "*") {
        try {
          model.statObject(p.repository!, p.branch!, objectPath);
          throw new ApiError(412, "object already exists");
        } catch (err) {
          if (!(err instanceof ApiError) || err.status !== 404) throw err;
        }
      }
      const ctype = String(req.headers["content-type"] ?? "application/octet-stream");
      if (ctype.startsWith("multipart/form-data")) {
        throw new ApiError(
          501,
          "multipart uploads are not supported by the development server; use application/octet-stream",
        );
      }
      const content = await req.body();
      const address = newPhysicalAddress(repo.storage_namespace);
      const { bucket, key } = parseS3Uri(address);
      const out = await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: content,
          ContentLength: content.length,
          ContentType: ctype,
        }),
      );
      const value: EntryValue = {
        a: address,
        c: (out.ETag ?? "").replaceAll('"', ""),
        s: content.length,
        m: nowSeconds(),
        t: ctype,
        ...userMetadataFromHeaders(req.headers),
      };
      model.stageObject(p.repository!, p.branch!, objectPath, value);
      return { status: 201, json: objectStatsJson(objectPath, value, true) };
    }),
    R("PUT", `${BRANCH}/objects`, "stageObject", async (req, p) => {
      const objectPath = requiredPath(req);
      const body = await req.json();
      const value = entryFromBody(body.physical_address, body, "metadata");
      model.stageObject(p.repository!, p.branch!, objectPath, value);
      return { status: 201, json: objectStatsJson(objectPath, value, true) };
    }),
    R("DELETE", `${BRANCH}/objects`, "deleteObject", (req, p) => {
      model.deleteObject(p.repository!, p.branch!, requiredPath(req));
      return { status: 204 };
    }),
    R("POST", `${BRANCH}/objects/delete`, "deleteObjects", async (req, p) => {
      const body = await req.json();
      if (!Array.isArray(body.paths)) throw new ApiError(400, "paths: must be an array");
      const errors: { status_code: number; message: string; path: string }[] = [];
      for (const path of body.paths) {
        try {
          model.deleteObject(p.repository!, p.branch!, String(path));
        } catch (err) {
          if (!(err instanceof ApiError) || err.status !== 400) throw err;
          errors.push({ status_code: err.status, message: err.message, path: String(path) });
        }
      }
      return { status: 200, json: { errors } };
    }),
    R("GET", `${BRANCH}/staging/backing`, "getPhysicalAddress", (req, p) => {
      requiredPath(req);
      const repo = model.getRepository(p.repository!);
      model.getBranch(p.repository!, p.branch!);
      return {
        status: 200,
        json: { physical_address: newPhysicalAddress(repo.storage_namespace), presigned_url: null },
      };
    }),
    R("PUT", `${BRANCH}/staging/backing`, "linkPhysicalAddress", async (req, p) => {
      const objectPath = requiredPath(req);
      const body = await req.json();
      const staging = body.staging as { physical_address?: unknown } | undefined;
      const value = entryFromBody(staging?.physical_address, body, "user_metadata");
      model.stageObject(p.repository!, p.branch!, objectPath, value);
      return { status: 200, json: objectStatsJson(objectPath, value, true) };
    }),
    R("GET", `${REPO}/commits/:commit`, "getCommit", (_req, p) => ({
      status: 200,
      json: commitJson(model.getCommit(p.repository!, p.commit!)),
    })),
    R("GET", `${REF}/commits`, "logCommits", (req, p) => {
      if (req.query.getAll("objects").length > 0 || req.query.getAll("prefixes").length > 0) {
        throw new ApiError(
          501,
          "objects/prefixes filters are not supported by the development server",
        );
      }
      const n = amount(req);
      const page = model.logCommits(p.repository!, p.ref!, {
        after: after(req),
        amount: n,
        firstParent: req.query.get("first_parent") === "true",
        stopAt: req.query.get("stop_at") || undefined,
        since: sinceSeconds(req.query.get("since")),
      });
      return listReply(page, n, (c) => c.id, commitJson);
    }),
    R("POST", `${REF}/merge/:destination`, "mergeIntoBranch", async (req, p) => {
      const body = await req.json();
      const commit = model.merge(p.repository!, p.ref!, p.destination!, body);
      fireHooks(p.repository!, p.destination!, commit, "post-merge", p.ref!);
      return { status: 200, json: { reference: commit.id } };
    }),
    R("GET", `${REF}/merge/:destination`, "findMergeBase", (_req, p) => ({
      status: 200,
      json: model.findMergeBase(p.repository!, p.ref!, p.destination!),
    })),
    R("GET", `${REF}/diff/:right`, "diffRefs", (req, p) => {
      const type = req.query.get("type") ?? "three_dot";
      if (type !== "two_dot" && type !== "three_dot") {
        throw new ApiError(400, "type: must be two_dot or three_dot");
      }
      const n = amount(req);
      const page = model.diffRefs(p.repository!, p.ref!, p.right!, {
        type,
        after: after(req),
        prefix: req.query.get("prefix") ?? "",
        delimiter: req.query.get("delimiter") ?? "",
        amount: n,
      });
      const rightStats = req.query.get("include_right_stats") === "true";
      return listReply(
        page,
        n,
        (d) => d.path,
        (d) => diffJson(d, rightStats),
      );
    }),
    R("GET", `${REF}/objects`, "getObject", async (req, p) => {
      const objectPath = requiredPath(req);
      const value = model.statObject(p.repository!, p.ref!, objectPath);
      const { bucket, key } = parseS3Uri(value.a);
      const range = typeof req.headers.range === "string" ? req.headers.range : undefined;
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
        return {
          status: range ? 206 : 200,
          stream: out.Body as Readable,
          headers: {
            "content-type": value.t || "application/octet-stream",
            "content-length": String(out.ContentLength ?? value.s),
            etag: `"${value.c}"`,
            "last-modified": new Date(value.m * 1000).toUTCString(),
            ...(out.ContentRange ? { "content-range": out.ContentRange } : {}),
          },
        };
      } catch (err) {
        if (isMissingObject(err)) throw new ApiError(410, "No data");
        throw err;
      }
    }),
    R("HEAD", `${REF}/objects`, "headObject", (req, p) => {
      const value = model.statObject(p.repository!, p.ref!, requiredPath(req));
      return {
        status: 200,
        headers: {
          "content-length": String(value.s),
          etag: `"${value.c}"`,
          "last-modified": new Date(value.m * 1000).toUTCString(),
        },
      };
    }),
    R("GET", `${REF}/objects/stat`, "statObject", (req, p) => {
      const objectPath = requiredPath(req);
      const value = model.statObject(p.repository!, p.ref!, objectPath);
      return {
        status: 200,
        json: objectStatsJson(objectPath, value, req.query.get("user_metadata") !== "false"),
      };
    }),
    R("GET", `${REF}/objects/ls`, "listObjects", (req, p) => {
      const n = amount(req);
      const withMetadata = req.query.get("user_metadata") !== "false";
      const page = model.listObjects(p.repository!, p.ref!, {
        after: after(req),
        prefix: req.query.get("prefix") ?? "",
        delimiter: req.query.get("delimiter") ?? "",
        amount: n,
      });
      return listReply(
        page,
        n,
        (e) => e.path,
        (e) =>
          e.value
            ? objectStatsJson(e.path, e.value, withMetadata)
            : {
                path: e.path,
                path_type: "common_prefix",
                physical_address: "",
                checksum: "",
                mtime: 0,
              },
      );
    }),
    R("GET", `${REPO}/tags`, "listTags", (req, p) => {
      const n = amount(req);
      const page = model.listTags(p.repository!, after(req), req.query.get("prefix") ?? "", n);
      return listReply(page, n, (r) => r.id);
    }),
    R("POST", `${REPO}/tags`, "createTag", async (req, p) => {
      const body = await req.json();
      return { status: 201, json: model.createTag(p.repository!, body.id, body.ref) };
    }),
    R("GET", `${REPO}/tags/:tag`, "getTag", (_req, p) => ({
      status: 200,
      json: model.getTag(p.repository!, p.tag!),
    })),
    R("DELETE", `${REPO}/tags/:tag`, "deleteTag", (_req, p) => {
      model.deleteTag(p.repository!, p.tag!);
      return { status: 204 };
    }),
    R("GET", `${REPO}/settings/gc_rules`, "getGCRules", (_req, p) => ({
      status: 200,
      json: model.getGcRules(p.repository!),
    })),
    R("PUT", `${REPO}/settings/gc_rules`, "setGCRules", async (req, p) => {
      model.setGcRules(p.repository!, await req.json());
      return { status: 204 };
    }),
    R("DELETE", `${REPO}/settings/gc_rules`, "deleteGCRules", (_req, p) => {
      model.deleteGcRules(p.repository!);
      return { status: 204 };
    }),
  ];
}

function findRoute(routes: Route[], method: string, segments: string[]) {
  for (const route of routes) {
    if (route.method !== method || route.pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const part = route.pattern[i]!;
      if (part.startsWith(":")) params[part.slice(1)] = segments[i]!;
      else ok = part === segments[i];
    }
    if (ok) return { route, params };
  }
  return undefined;
}

// -------------------------------------------------------------------------- helpers

function errorReply(err: unknown): Reply {
  if (err instanceof ApiError) return { status: err.status, json: { message: err.message } };
  return { status: 500, json: { message: err instanceof Error ? err.message : String(err) } };
}

function send(res: http.ServerResponse, reply: Reply): void {
  if ("stream" in reply) {
    res.writeHead(reply.status, reply.headers);
    reply.stream.on("error", () => res.destroy());
    reply.stream.pipe(res);
    return;
  }
  const headers: Record<string, string> = { ...reply.headers };
  let body: string | undefined;
  if (reply.json !== undefined) {
    body = JSON.stringify(reply.json);
    headers["content-type"] = "application/json";
  } else if (reply.text !== undefined) {
    body = reply.text;
  }
  if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
  res.writeHead(reply.status, headers);
  res.end(body);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function after(req: Request): string | undefined {
  const v = req.query.get("after");
  return v === null || v === "" ? undefined : v;
}

/** lakeFS's `amount`: -1 .. 1000, default 100. */
function amount(req: Request): number {
  const raw = req.query.get("amount");
  if (raw === null || raw === "") return DEFAULT_AMOUNT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < -1 || n > MAX_AMOUNT) {
    throw new ApiError(400, `amount: must be an integer between -1 and ${MAX_AMOUNT}`);
  }
  return n <= 0 ? DEFAULT_AMOUNT : n;
}

function listReply<T>(
  page: { results: T[]; hasMore: boolean },
  maxPerPage: number,
  offsetOf: (item: T) => string,
  toJson: (item: T) => unknown = (x) => x,
): Reply {
  const last = page.results[page.results.length - 1];
  return {
    status: 200,
    json: {
      pagination: {
        has_more: page.hasMore,
        next_offset: page.hasMore && last !== undefined ? offsetOf(last) : "",
        results: page.results.length,
        max_per_page: maxPerPage,
      },
      results: page.results.map(toJson),
    },
  };
}

function sinceSeconds(value: string | null): number | undefined {
  if (value === null || value === "") return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ApiError(400, "since: must be an RFC 3339 date-time");
  return Math.floor(ms / 1000);
}

function requiredPath(req: Request): string {
  const p = req.query.get("path");
  if (p === null || p === "") throw new ApiError(400, "path: required");
  return p;
}

function commitJson(c: CommitRecord) {
  return {
    id: c.id,
    parents: c.parents,
    committer: c.committer,
    message: c.message,
    creation_date: c.creation_date,
    meta_range_id: c.meta_range_id,
    metadata: c.metadata,
    generation: c.generation,
    version: c.version,
  };
}

function objectStatsJson(path: string, v: EntryValue, withMetadata: boolean) {
  return {
    path,
    path_type: "object",
    physical_address: v.a,
    checksum: v.c,
    size_bytes: v.s,
    mtime: v.m,
    content_type: v.t,
    ...(withMetadata ? { metadata: v.md ?? {} } : {}),
  };
}

function diffJson(d: DiffEntry, rightStats: boolean) {
  const sized = d.right ?? d.left;
  return {
    type: d.type,
    path: d.path,
    path_type: d.pathType,
    ...(sized ? { size_bytes: sized.s } : {}),
    ...(rightStats && d.right
      ? {
          right: {
            checksum: d.right.c,
            mtime: d.right.m,
            content_type: d.right.t,
            metadata: d.right.md ?? {},
          },
        }
      : {}),
  };
}

function entryFromBody(
  address: unknown,
  body: Record<string, unknown>,
  metadataField: string,
): EntryValue {
  if (typeof address !== "string" || !address.startsWith("s3://")) {
    throw new ApiError(400, "physical_address: must be an s3:// URI");
  }
  if (typeof body.checksum !== "string") throw new ApiError(400, "checksum: required");
  if (!Number.isInteger(body.size_bytes) || (body.size_bytes as number) < 0) {
    throw new ApiError(400, "size_bytes: must be a non-negative integer");
  }
  const md = body[metadataField];
  if (md !== undefined && (typeof md !== "object" || md === null || Array.isArray(md))) {
    throw new ApiError(400, `${metadataField}: must be an object of strings`);
  }
  const metadata = (md ?? {}) as Record<string, string>;
  return {
    a: address,
    c: body.checksum,
    s: body.size_bytes as number,
    m: Number.isInteger(body.mtime) ? (body.mtime as number) : nowSeconds(),
    t: typeof body.content_type === "string" ? body.content_type : "application/octet-stream",
    ...(Object.keys(metadata).length > 0 ? { md: metadata } : {}),
  };
}

function userMetadataFromHeaders(headers: http.IncomingHttpHeaders): {
  md?: Record<string, string>;
} {
  const md: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith("x-lakefs-meta-") && typeof value === "string") {
      md[name.slice("x-lakefs-meta-".length)] = value;
    }
  }
  return Object.keys(md).length > 0 ? { md } : {};
}

/** lakeFS-style address: `<namespace>/data/<generation>/<unique id>`. */
function newPhysicalAddress(namespace: string): string {
  const generation = `g${Math.floor(Date.now() / 3_600_000).toString(36)}`;
  const unique = `c${Date.now().toString(36)}${randomBytes(10).toString("hex")}`;
  return `${namespace}/data/${generation}/${unique}`;
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new ApiError(400, `not an s3:// URI: ${uri}`);
  return { bucket: m[1]!, key: m[2]! };
}

function isMissingObject(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}

/** lakeFS checks the namespace is writable by writing a marker; a missing bucket is a 400. */
async function ensureStorageNamespace(s3: S3Client, namespace: unknown): Promise<void> {
  if (typeof namespace !== "string" || !namespace.startsWith("s3://")) {
    throw new ApiError(400, "storage_namespace: must be an s3:// URI");
  }
  const { bucket, key } = parseS3Uri(namespace.replace(/\/+$/, ""));
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${key ? `${key}/` : ""}_lakefs/dummy`,
        Body: new Uint8Array(0),
        ContentLength: 0,
      }),
    );
  } catch (err) {
    const name = (err as { name?: string }).name ?? "";
    throw new ApiError(
      400,
      `storage_namespace: cannot write to ${namespace} (${name || String(err)})`,
    );
  }
}
