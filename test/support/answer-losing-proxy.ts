// An HTTP proxy in front of a real server (DynamoDB Local) that loses answers on request: a
// matching request is passed on and done by the server, but its client never gets the answer
// ("drop": the connection is closed; "hang": it stays open, silent), or it is never passed on
// at all ("stall"). What a dropped connection or a stalled network does to a call in flight.
// "in-progress" drops a transaction's answer like "drop", then answers the next requests with the
// same ClientRequestToken as DynamoDB answers retries that arrive while the first attempt still
// runs (TransactionInProgressException; DynamoDB recovers an attempt stopped part way 5 s after
// it began): DynamoDB Local runs transactions one at a time and never does.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface LossRule {
  /** The request's X-Amz-Target operation, e.g. "PutItem". */
  operation: string;
  /** Only requests whose body contains this. */
  bodyIncludes?: string;
  mode: "drop" | "hang" | "stall" | "in-progress";
  /** Matching requests to lose before the rule is used up. */
  times: number;
  /** "in-progress": requests with the lost one's token answered as in progress (default 3). */
  inProgressAnswers?: number;
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
  /** Client tokens of transactions done whose answer was lost ("in-progress"): answers left. */
  const inProgress = new Map<string, number>();
  const tokenOf = (body: Buffer) => {
    try {
      return (JSON.parse(body.toString("utf8")) as { ClientRequestToken?: string })
        .ClientRequestToken;
    } catch {
      return undefined;
    }
  };

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
    const token = operation === "TransactWriteItems" ? tokenOf(body) : undefined;
    const left = token === undefined ? 0 : (inProgress.get(token) ?? 0);
    if (token !== undefined && left > 0) {
      inProgress.set(token, left - 1);
      res.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
      res.end(
        JSON.stringify({
          __type: "com.amazonaws.dynamodb.v20120810#TransactionInProgressException",
          message: "Transaction is in progress",
        }),
      );
      return;
    }
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
      if (rule?.mode === "drop" || rule?.mode === "in-progress") {
        if (rule.mode === "in-progress" && token !== undefined)
          inProgress.set(token, rule.inProgressAnswers ?? 3);
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
