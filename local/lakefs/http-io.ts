// Reading requests and writing replies of the development server over node:http.
import type http from "node:http";
import { ApiError } from "./api-error";
import type { Reply, Request } from "./routes/routing";

export function errorReply(err: unknown): Reply {
  if (err instanceof ApiError) return { status: err.status, json: { message: err.message } };
  return { status: 500, json: { message: err instanceof Error ? err.message : String(err) } };
}

export function send(res: http.ServerResponse, reply: Reply): void {
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

export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** The request as route handlers see it: the body is read once, on first use. */
export function apiRequest(
  req: http.IncomingMessage,
  method: string,
  segments: string[],
  query: URLSearchParams,
): Request {
  let bodyPromise: Promise<Buffer> | undefined;
  const body = () => {
    bodyPromise ??= readBody(req);
    return bodyPromise;
  };
  return {
    method,
    segments,
    query,
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
}
