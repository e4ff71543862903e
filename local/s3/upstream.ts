// The proxy's side of its upstream, s3rver: requests forwarded as they came or sent unsigned
// by the proxy itself, and request bodies read or drained.
import { once } from "node:events";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { S3ErrorResponse } from "./s3-error";

const MAX_XML_BODY = 4 * 1024 * 1024;

/** Where s3rver listens, and the kept-alive connections to it. */
export interface Upstream {
  upstreamPort: number;
  agent: http.Agent;
}

export async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return;
  req.resume();
  await once(req, "end").catch(() => undefined);
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_XML_BODY) throw new S3ErrorResponse("MalformedXML", "Request body too large");
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export function forward(
  ctx: Upstream,
  req: IncomingMessage,
  res: ServerResponse,
  override: { body?: Buffer; headers?: Record<string, string> } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const upstream = http.request(
      {
        host: "127.0.0.1",
        port: ctx.upstreamPort,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, ...override.headers },
        agent: ctx.agent,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        pipeline(up, res).then(resolve, reject);
      },
    );
    upstream.on("error", reject);
    if (override.body !== undefined) upstream.end(override.body);
    else pipeline(req, upstream).catch(reject);
  });
}

export interface InternalResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: IncomingMessage;
}

/** An unsigned request from the proxy to s3rver (s3rver accepts anonymous requests). */
export function internal(
  ctx: Upstream,
  method: string,
  path: string,
  body?: Readable,
  headers: Record<string, string | number> = {},
): Promise<InternalResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: ctx.upstreamPort, method, path, headers, agent: ctx.agent },
      (res) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: res }),
    );
    req.on("error", reject);
    if (body) pipeline(body, req).catch(reject);
    else req.end();
  });
}
