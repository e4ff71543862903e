// An HTTP proxy in front of a real server (DynamoDB Local) that loses answers on request: a
// matching request is passed on and done by the server, but its client never gets the answer
// ("drop": the connection is closed; "hang": it stays open, silent), or it is never passed on
// at all ("stall"). What a dropped connection or a stalled network does to a call in flight.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface LossRule {
  /** The request's X-Amz-Target operation, e.g. "PutItem". */
  operation: string;
  /** Only requests whose body contains this. */
  bodyIncludes?: string;
  mode: "drop" | "hang" | "stall";
  /** Matching requests to lose before the rule is used up. */
  times: number;
}

export interface AnswerLosingProxy {
  endpoint: string;
  lose(rule: LossRule): void;
  /** Requests received per operation (lost ones included). */
  received(operation: string): number;
  stop(): Promise<void>;
}

const operationOf = (req: IncomingMessage) =>
  String(req.headers["x-amz-target"] ?? "")
    .split(".")
    .pop() ?? "";

export async function startAnswerLosingProxy(target: string): Promise<AnswerLosingProxy> {
  const upstream = new URL(target);
  const rules: LossRule[] = [];
  const counts = new Map<string, number>();
  const held = new Set<ServerResponse>();

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>(
      (resolve, reject) => {
        const out = http.request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: upstream.host },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () =>
              resolve({
                status: res.statusCode ?? 500,
                headers: res.headers,
                body: Buffer.concat(chunks),
              }),
            );
            res.on("error", reject);
          },
        );
        out.on("error", reject);
        out.end(body);
      },
    );

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const operation = operationOf(req);
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
    const rule = rules.find(
      (r) =>
        r.times > 0 &&
        r.operation === operation &&
        (r.bodyIncludes === undefined || body.includes(r.bodyIncludes)),
    );
    if (rule) rule.times--;
    if (rule?.mode === "stall") {
      held.add(res);
      return;
    }
    try {
      const answer = await forward(req, body);
      if (rule?.mode === "drop") {
        req.socket.destroy();
        return;
      }
      if (rule?.mode === "hang") {
        held.add(res);
        return;
      }
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    } catch (err) {
      res.writeHead(502);
      res.end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    lose: (rule) => rules.push({ ...rule }),
    received: (operation) => counts.get(operation) ?? 0,
    stop: async () => {
      for (const res of held) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
