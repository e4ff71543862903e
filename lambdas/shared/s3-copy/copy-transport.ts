// How a direct copy (direct-copy.ts) goes on the wire when Lakeport built the client
// (createS3Client registers it here): node:http over kept-alive sockets of its own, with the
// client's connection and request limits. The SDK's handler does the same with more CPU per
// request (four timers, a response wrapper, an async body stream); with this transport and the
// faster signature, a copy Lambda's CPU per copy fell by about a fifth (bench/copy-handler-cpu.ts).
// A client built elsewhere (a test's, a fake) has no transport here: its copies go through its
// own handler.
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";

export interface CopyTransportSettings {
  maxSockets: number;
  /** ms to connect a new socket. */
  connectionMs: number;
  /** ms until the answer begins, then the longest silence within it (S3 sends spaces while a
   * large copy runs). */
  requestMs: number;
}

export interface BodilessRequest {
  protocol: string;
  hostname: string;
  port?: number;
  method: string;
  path: string;
  headers: Record<string, string>;
}

export interface TextAnswer {
  statusCode: number;
  requestId?: string;
  body: string;
}

export interface CopyTransport {
  send(request: BodilessRequest): Promise<TextAnswer>;
}

const registered = new WeakMap<object, CopyTransportSettings>();

/** Called where the client is built: its copies may go through a transport of these settings. */
export function registerCopyTransport(client: object, settings: CopyTransportSettings): void {
  registered.set(client, settings);
}

export function copyTransportSettingsOf(client: object): CopyTransportSettings | undefined {
  return registered.get(client);
}

/** Node's codes for a socket that timed out (as the SDK's handler names them TimeoutError). */
const TIMEOUT_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT"]);

const timeoutError = (message: string) =>
  Object.assign(new Error(message), { name: "TimeoutError" });

/** The sockets of a transport, by protocol (a test may give its own). */
export interface CopyTransportAgents {
  "http:": http.Agent;
  "https:": https.Agent;
}

/** The value of `name` (lower case) among an answer's raw headers. Read there rather than from
 * `res.headers`, which Node builds on first use: an object of every header, per copy. */
export function rawHeaderValue(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = raw[i] as string;
    if (n.length === name.length && n.toLowerCase() === name) return raw[i + 1];
  }
  return undefined;
}

/**
 * Arms the connection limit where `agent` makes a new socket, so that a request on a kept-alive
 * socket (nearly every copy) adds and removes no listener for it. A socket that has not
 * connected within `connectionMs` is destroyed with a TimeoutError, which its request fails
 * with.
 */
function limitConnecting(agent: http.Agent, connectionMs: number): void {
  // createConnection is Agent's documented hook for new sockets (absent from Node's types).
  const maker = agent as unknown as {
    createConnection: (...args: unknown[]) => Socket | undefined;
    lakeportConnectionMs?: number;
  };
  if (maker.lakeportConnectionMs !== undefined) return;
  maker.lakeportConnectionMs = connectionMs;
  const create = maker.createConnection.bind(agent);
  maker.createConnection = (...args) => {
    const socket = create(...args);
    if (socket?.connecting) {
      const connecting = setTimeout(
        () => socket.destroy(timeoutError(`no connection to S3 within ${connectionMs} ms`)),
        connectionMs,
      );
      socket.once("connect", () => clearTimeout(connecting));
      socket.once("close", () => clearTimeout(connecting));
    }
    return socket;
  };
}

export function createCopyTransport(
  settings: CopyTransportSettings,
  agents: CopyTransportAgents = {
    "http:": new http.Agent({ keepAlive: true, maxSockets: settings.maxSockets }),
    "https:": new https.Agent({ keepAlive: true, maxSockets: settings.maxSockets }),
  },
): CopyTransport {
  limitConnecting(agents["http:"], settings.connectionMs);
  limitConnecting(agents["https:"], settings.connectionMs);
  return {
    send(r) {
      const agent = r.protocol === "https:" ? agents["https:"] : agents["http:"];
      const request = r.protocol === "https:" ? https.request : http.request;
      return new Promise<TextAnswer>((resolve, reject) => {
        let settled = false;
        const fail = (error: Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          req.destroy();
          reject(error);
        };
        // Headers as a flat list: Node writes them as given (validating each) instead of
        // storing them one by one first (setHeader), as it does with an object. Node then adds
        // no Host of its own: a request signed with one (every signed request is) sends it as
        // signed, another gets it from the endpoint.
        const headers: string[] = [];
        for (const name in r.headers) headers.push(name, r.headers[name] as string);
        if (r.headers.host === undefined) {
          headers.push("host", r.port !== undefined ? `${r.hostname}:${r.port}` : r.hostname);
        }
        // The options take the shape (keys, order) the SDK's handler gives Node, whose HTTP
        // code then sees one shape from both in a function that also calls the SDK: measured
        // 0.01 to 0.02 of the copy thread's CPU per copy (bench/README.md). As there, the
        // protocol is the agent's (an https.Agent for https.request).
        const req = request(
          {
            headers: headers as unknown as http.OutgoingHttpHeaders,
            // An IPv6 literal comes bracketed, as in a URL.
            host:
              r.hostname.startsWith("[") && r.hostname.endsWith("]")
                ? r.hostname.slice(1, -1)
                : r.hostname,
            method: r.method,
            path: r.path,
            port: r.port,
            agent,
            auth: undefined,
          },
          (res) => {
            // From here the limit is on silence, not on the whole answer.
            timer.refresh();
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => {
              timer.refresh();
              chunks.push(chunk);
            });
            res.on("end", () => {
              if (settled) return;
              settled = true;
              clearTimeout(timer);
              const id = rawHeaderValue(res.rawHeaders, "x-amz-request-id");
              resolve({
                statusCode: res.statusCode ?? -1,
                ...(id !== undefined ? { requestId: id } : {}),
                body:
                  chunks.length === 1
                    ? (chunks[0] as Buffer).toString("utf8")
                    : Buffer.concat(chunks).toString("utf8"),
              });
            });
            // The connection closed before the answer's end: ECONNRESET, retried.
            res.on("error", fail);
          },
        );
        // One timer per request: the answer must begin within requestMs, then go silent for
        // no longer than that.
        const timer = setTimeout(
          () => fail(timeoutError(`S3 did not answer within ${settings.requestMs} ms`)),
          settings.requestMs,
        );
        req.on("error", (error: NodeJS.ErrnoException) =>
          fail(
            error.code && TIMEOUT_CODES.has(error.code) && error.name === "Error"
              ? Object.assign(error, { name: "TimeoutError" })
              : error,
          ),
        );
        req.end();
      });
    },
  };
}
