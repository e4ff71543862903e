// The local API server: serves the API Gateway routes over HTTP by building API Gateway REST
// (v1) proxy events and calling the same handler modules in-process, with the environment
// the caller gives. Authenticated routes take a bearer token (IAM's role locally); the
// webhook route checks its own shared secret.
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type ApiDeps, depsFromEnv, lazyDeps } from "../../lambdas/api/deps";
import { createExportHandler } from "../../lambdas/api/handlers/export";
import { createGcHandler } from "../../lambdas/api/handlers/gc";
import { createMetaHandler } from "../../lambdas/api/handlers/meta";
import { createWebhookHandler } from "../../lambdas/api/handlers/webhook";
import type { ApiEvent, ApiHandler, ApiResult } from "../../lambdas/api/http";
import { matchRoute, type RouteGroup } from "../../lambdas/api/routes";

export interface ApiServerOptions {
  /** 0 or absent: a free port. */
  port?: number;
  /** Environment of the handlers (TABLE_NAME, LAKEFS_*, AWS_ENDPOINT_URL_*, ARNs, ...). */
  env?: Record<string, string | undefined>;
  /** Replace handlers per group (tests wire fakes at the ports this way). */
  handlers?: Partial<Record<RouteGroup, ApiHandler>>;
  /** Bearer token for authenticated routes; a random one when absent. */
  apiToken?: string;
}

export interface ApiServerHandle {
  /** e.g. http://127.0.0.1:PORT (routes are under /api/v1). */
  endpoint: string;
  port: number;
  apiToken: string;
  stop(): Promise<void>;
}

const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/** Handlers built from an environment, as the Lambda functions would build them. */
export function handlersFromEnv(
  env: Record<string, string | undefined>,
): Record<RouteGroup, ApiHandler> {
  const deps = lazyDeps((): Promise<ApiDeps> => depsFromEnv(env));
  return {
    export: createExportHandler(deps),
    gc: createGcHandler(deps),
    webhook: createWebhookHandler(deps),
    meta: createMetaHandler(),
  };
}

export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServerHandle> {
  const apiToken = opts.apiToken ?? randomBytes(24).toString("hex");
  const fromEnv = handlersFromEnv(opts.env ?? {});
  const handlers = { ...fromEnv, ...opts.handlers };
  const server: Server = createServer((req, res) => {
    serve(req, res, handlers, apiToken).catch((err) => {
      console.error("local API server:", err);
      send(res, {
        statusCode: 500,
        headers: {},
        body: JSON.stringify({ message: "internal error" }),
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    apiToken,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  handlers: Record<RouteGroup, ApiHandler>,
  apiToken: string,
) {
  const url = new URL(req.url ?? "/", "http://localhost");
  const method = req.method ?? "GET";
  const match = matchRoute(method, url.pathname);
  if (!match) return send(res, message(404, `no route for ${method} ${url.pathname}`));
  if ("methodNotAllowed" in match) {
    return send(res, message(405, `method ${method} not allowed on ${url.pathname}`));
  }
  const { route, pathParameters } = match;
  if (route.authenticated) {
    const auth = req.headers.authorization;
    if (!auth) return send(res, message(401, "missing Authorization: Bearer token"));
    if (auth !== `Bearer ${apiToken}`) return send(res, message(403, "invalid bearer token"));
  }
  const body = await readBody(req);
  if (body === undefined) return send(res, message(413, "request body is too large"));
  const event = proxyEvent(req, url, route.resource, pathParameters, body);
  const result = await handlers[route.group](event, lambdaContext(route.group));
  send(res, result);
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** An API Gateway REST API proxy-integration event, as API Gateway builds it. */
export function proxyEvent(
  req: IncomingMessage,
  url: URL,
  resource: string,
  pathParameters: Record<string, string>,
  body: Buffer,
): ApiEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    query[k] = v;
    multiQuery[k] = [...(multiQuery[k] ?? []), v];
  }
  const hasQuery = Object.keys(query).length > 0;
  const now = Date.now();
  return {
    resource,
    path: url.pathname,
    httpMethod: req.method ?? "GET",
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: Object.keys(pathParameters).length ? pathParameters : null,
    stageVariables: null,
    body: body.length ? body.toString("utf8") : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      authorizer: null,
      domainName: url.host,
      httpMethod: req.method ?? "GET",
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
        user: null,
        userAgent: req.headers["user-agent"] ?? null,
        userArn: null,
      },
      path: url.pathname,
      protocol: `HTTP/${req.httpVersion}`,
      requestId: randomUUID(),
      requestTimeEpoch: now,
      resourceId: "local",
      resourcePath: resource,
      stage: "local",
    },
  };
}

function lambdaContext(group: RouteGroup) {
  return {
    functionName: `lakeport-api-${group}`,
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => 30_000,
    callbackWaitsForEmptyEventLoop: false,
  };
}

function message(statusCode: number, text: string): ApiResult {
  return {
    statusCode,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: text }),
  };
}

function send(res: ServerResponse, result: ApiResult) {
  if (res.headersSent) return;
  const headers: Record<string, string | number | boolean> = { ...(result.headers ?? {}) };
  for (const [k, v] of Object.entries(result.multiValueHeaders ?? {})) {
    headers[k] = v.map(String).join(", ");
  }
  const body = result.isBase64Encoded
    ? Buffer.from(result.body, "base64")
    : Buffer.from(result.body ?? "", "utf8");
  res.writeHead(result.statusCode, { ...headers, "content-length": body.length });
  res.end(body);
}
