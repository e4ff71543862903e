// An EventBridge-compatible PutEvents endpoint (AWS JSON 1.1, X-Amz-Target AWSEvents.*).
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { EventEntry } from "../stepfunctions/integrations";
import type { EventRouter } from "./router";

export interface EventBridgeServerHandle {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startEventBridgeServer(opts: {
  port?: number;
  router: EventRouter;
}): Promise<EventBridgeServerHandle> {
  const server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        "content-type": "application/x-amz-json-1.1",
        "content-length": Buffer.byteLength(text),
        "x-amzn-requestid": crypto.randomUUID(),
      });
      res.end(text);
    };
    try {
      const target = String(req.headers["x-amz-target"] ?? "");
      const text = await readBody(req);
      if (target !== "AWSEvents.PutEvents") {
        return send(400, {
          __type: "UnknownOperationException",
          message: `Operation '${target}' is not supported by the local EventBridge endpoint`,
        });
      }
      const body = JSON.parse(text || "{}") as { Entries?: EventEntry[] };
      const entries = body.Entries ?? [];
      if (entries.length < 1 || entries.length > 10) {
        return send(400, {
          __type: "ValidationException",
          message: "Entries must hold 1 to 10 entries",
        });
      }
      const results = await opts.router.putEvents(
        entries.map((e) => ({
          ...e,
          ...(typeof e.Time === "number" ? { Time: new Date((e.Time as number) * 1000) } : {}),
        })),
      );
      send(200, { Entries: results, FailedEntryCount: results.filter((r) => r.ErrorCode).length });
    } catch (e) {
      send(500, { __type: "InternalException", message: (e as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
