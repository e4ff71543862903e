// The local API server: the API Gateway REST API of the synthesized template (see
// local/apigateway/) over HTTP. Methods with AWS_IAM authorization take SigV4-signed requests
// with the embedded environment's credentials, as in AWS; the webhook route (authorization
// NONE) checks its own shared secret. Integrations are the deployed API functions, or
// in-process handlers per route group (tests wire fakes at the ports this way).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type ApiDeps, depsFromEnv, lazyDeps } from "../../lambdas/api/deps";
import { createExportHandler } from "../../lambdas/api/handlers/export";
import { createGcHandler } from "../../lambdas/api/handlers/gc";
import { createMetaHandler } from "../../lambdas/api/handlers/meta";
import { createWebhookHandler } from "../../lambdas/api/handlers/webhook";
import type { ApiHandler, ApiResult } from "../../lambdas/api/http";
import type { RouteGroup } from "../../lambdas/api/routes";
import { createGateway, MAX_PAYLOAD_BYTES } from "../apigateway/gateway";
import type { GatewayRequest } from "../apigateway/proxy-event";
import type { RestApiDefinition } from "../apigateway/rest-api";
import { LOCAL_REGION } from "../endpoints";
import { LOCAL_S3_CREDENTIALS } from "../s3/credentials";
import { groupIntegration } from "./lambda-handlers";

export interface ApiServerOptions {
  /** 0 or absent: a free port. */
  port?: number;
  /** The REST API to serve, read from the template (restApiFromAssembly). */
  restApi: RestApiDefinition;
  /** The integrations by function logical id; default: `handlers`, then `env`'s. */
  integration?: (functionLogicalId: string) => ApiHandler | undefined;
  /** Environment of in-process handlers (TABLE_NAME, LAKEFS_*, AWS_ENDPOINT_URL_*, ...). */
  env?: Record<string, string | undefined>;
  /** Replace in-process handlers per group. */
  handlers?: Partial<Record<RouteGroup, ApiHandler>>;
  /** Credentials AWS_IAM methods accept; default the embedded environment's. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  region?: string;
  log?: (message: string) => void;
}

export interface ApiServerHandle {
  /** e.g. http://127.0.0.1:PORT (routes are under /api/v1). */
  endpoint: string;
  port: number;
  /** What signed requests need: the accepted credentials and the region. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  stop(): Promise<void>;
}

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

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServerHandle> {
  const credentials = opts.credentials ?? { ...LOCAL_S3_CREDENTIALS };
  const region = opts.region ?? LOCAL_REGION;
  const integration =
    opts.integration ??
    groupIntegration({ ...(opts.env ? handlersFromEnv(opts.env) : {}), ...opts.handlers });
  const gateway = createGateway({
    api: opts.restApi,
    integration,
    credentials,
    region,
    ...(opts.log ? { log: opts.log } : {}),
  });
  const server: Server = createServer((req, res) => {
    readRequest(req)
      .then((r) => gateway(r))
      .then((result) => send(res, result))
      .catch((err) => {
        console.error("local API server:", err);
        send(res, {
          statusCode: 500,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ message: "Internal server error" }),
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
    credentials,
    region,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readRequest(req: IncomingMessage): Promise<GatewayRequest> {
  const raw = req.url ?? "/";
  const q = raw.indexOf("?");
  return {
    method: req.method ?? "GET",
    rawPath: q < 0 ? raw : raw.slice(0, q),
    rawQuery: q < 0 ? "" : raw.slice(q + 1),
    rawHeaders: req.rawHeaders,
    headers: req.headers,
    body: await readBody(req),
    sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
    protocol: `HTTP/${req.httpVersion}`,
  };
}

/** The body, or undefined past API Gateway's payload limit (the rest is drained). */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_PAYLOAD_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_PAYLOAD_BYTES ? undefined : Buffer.concat(chunks);
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
