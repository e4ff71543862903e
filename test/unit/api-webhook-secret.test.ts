// The webhook token is read from Secrets Manager once per container; a failed read (a throttle,
// a role whose permission has not propagated yet) is not kept: the next delivery reads again
// instead of the container refusing every webhook until it is recycled. After a rotation of
// the secret, a token that does not match makes the container read it again (at most once a
// minute), instead of refusing the new token until the container is recycled.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, expect, test, vi } from "vitest";
import { depsFromEnv } from "../../lambdas/api/deps";

let server: http.Server;
let endpoint: string;
let failing = true;
let token = "the-token";
let calls = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      calls++;
      res.setHeader("content-type", "application/x-amz-json-1.1");
      if (failing) {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: "AccessDeniedException", message: "not yet" }));
        return;
      }
      res.end(
        JSON.stringify({
          ARN: "arn:aws:secretsmanager:us-east-1:000000000000:secret:webhook-AbCdEf",
          Name: "webhook",
          SecretString: token,
          VersionId: "v1",
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  vi.useRealTimers();
});

const env = () => ({
  TABLE_NAME: "t",
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "local",
  AWS_SECRET_ACCESS_KEY: "local",
  AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
  WEBHOOK_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:000000000000:secret:webhook-AbCdEf",
});

test("a failed read of the webhook secret is tried again by the next delivery", async () => {
  const deps = await depsFromEnv(env());
  await expect(deps.webhookToken()).rejects.toThrow(/not yet/);
  failing = false;
  expect(await deps.webhookToken()).toBe("the-token");
  const reads = calls;
  expect(await deps.webhookToken()).toBe("the-token");
  expect(calls).toBe(reads); // kept once read
});

test("a rotated secret is read again when a delivery's token does not match, at most once a minute", async () => {
  failing = false;
  token = "before-rotation";
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(new Date("2026-12-03T10:00:00Z"));
  const { createWebhookHandler } = await import("../../lambdas/api/handlers/webhook");
  const deps = await depsFromEnv(env());
  const published: unknown[] = [];
  deps.events = {
    publish: async (e) => {
      published.push(e);
      return "id";
    },
  };
  deps.stores.webhooks = { claim: async () => true, release: async () => {} } as never;
  const handler = createWebhookHandler(() => deps);
  const deliver = (given: string, commit: string) =>
    handler({
      httpMethod: "POST",
      resource: "/api/v1/webhooks/lakefs",
      headers: { "content-type": "application/json", "x-lakeport-token": given },
      body: JSON.stringify({
        event_type: "post-commit",
        hook_id: "lakeport_export",
        repository_id: "repo-rotated",
        branch_id: "main",
        commit_id: commit,
      }),
    } as never);
  expect((await deliver("before-rotation", "c1")).statusCode).toBe(202);
  token = "after-rotation";
  // Read a moment ago: a wrong token does not make every delivery read the secret.
  const reads = calls;
  expect((await deliver("after-rotation", "c2")).statusCode).toBe(403);
  expect(calls).toBe(reads);
  vi.setSystemTime(new Date("2026-12-03T10:01:01Z"));
  expect((await deliver("after-rotation", "c3")).statusCode).toBe(202);
  expect((await deliver("before-rotation", "c4")).statusCode).toBe(403);
  expect(published).toHaveLength(2);
});
