// The webhook claims a delivery, publishes it and gives the claim back when publishing fails.
// A PutEvents that never answers (a connection that hangs) must fail too, well before the API
// function's 29 s end: killed at its timeout, the function would keep the claim, and lakeFS's
// retry of the delivery would be taken for a repeat (the commit's event never published).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, test } from "vitest";
import { EventBridgePublisher, PUBLISH_DEADLINE_MS } from "../../lambdas/api/event-publisher";
import { createEventBridgeClient } from "../../lambdas/shared/aws/clients";

let server: http.Server;
let endpoint: string;
const requests: http.ServerResponse[] = [];

beforeAll(async () => {
  // Reads the request and never answers.
  server = http.createServer((req, res) => {
    req.resume();
    requests.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test("a PutEvents that never answers fails within the publisher's deadline", async () => {
  const client = createEventBridgeClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const publisher = new EventBridgePublisher(client, "bus", { deadlineMs: 300 });
  const started = Date.now();
  await expect(
    publisher.publish({ source: "lakeport.lakefs", detailType: "post-commit", detail: {} }),
  ).rejects.toThrow();
  expect(Date.now() - started).toBeLessThan(3_000);
  expect(requests.length).toBeGreaterThan(0);
  client.destroy();
}, 10_000);

test("the default deadline leaves the API function time to give the claim back", () => {
  expect(PUBLISH_DEADLINE_MS).toBeLessThanOrEqual(15_000);
});
