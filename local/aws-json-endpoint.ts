// What the local endpoints speaking the AWS JSON protocols (Step Functions, EventBridge, SQS)
// share: reading the body, answering JSON with the protocol's content type and a request id,
// listening on 127.0.0.1 and stopping with open connections closed.
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";

export interface LocalEndpointHandle {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Answers `body` as JSON with the protocol's content type (`application/x-amz-json-1.0`...). */
export function sendAwsJson(
  res: ServerResponse,
  contentType: string,
  status: number,
  body: unknown,
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": crypto.randomUUID(),
  });
  res.end(text);
}

/** An HTTP server for `listener` on 127.0.0.1 (`port` 0: any free port). */
export async function listenLocally(
  listener: RequestListener,
  port = 0,
): Promise<LocalEndpointHandle> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    port: bound,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
