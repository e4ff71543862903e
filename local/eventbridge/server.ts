// An EventBridge-compatible PutEvents endpoint (AWS JSON 1.1, X-Amz-Target AWSEvents.*).
import {
  type LocalEndpointHandle,
  listenLocally,
  readBody,
  sendAwsJson,
} from "../aws-json-endpoint";
import type { EventEntry } from "../stepfunctions/integrations";
import type { EventRouter } from "./router";

export type EventBridgeServerHandle = LocalEndpointHandle;

/** AWS's limit on one PutEvents request, entries counted as AWS counts them (below). */
export const MAX_PUT_EVENTS_BYTES = 256 * 1024;

/** Time (14 bytes when given), source, detail type, detail and resources, in UTF-8 bytes. */
function requestSize(entries: EventEntry[]): number {
  let size = 0;
  for (const e of entries) {
    if (e.Time !== undefined) size += 14;
    for (const s of [e.Source, e.DetailType, e.Detail, ...(e.Resources ?? [])]) {
      if (s) size += Buffer.byteLength(s);
    }
  }
  return size;
}

export async function startEventBridgeServer(opts: {
  port?: number;
  router: EventRouter;
}): Promise<EventBridgeServerHandle> {
  return listenLocally(async (req, res) => {
    const send = (status: number, body: unknown) =>
      sendAwsJson(res, "application/x-amz-json-1.1", status, body);
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
      if (requestSize(entries) > MAX_PUT_EVENTS_BYTES) {
        return send(400, {
          __type: "ValidationException",
          message: "Total size of the entries in the request is over the limit.",
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
  }, opts.port);
}
