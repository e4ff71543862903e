// The webhook token is read from Secrets Manager once per container; a failed read (a throttle,
// a role whose permission has not propagated yet) is not kept: the next delivery reads again
// instead of the container refusing every webhook until it is recycled.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, test } from "vitest";
import { depsFromEnv } from "../../lambdas/api/deps";

let server: http.Server;
let endpoint: string;
let failing = true;
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
          SecretString: "the-token",
          VersionId: "v1",
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

test("a failed read of the webhook secret is tried again by the next delivery", async () => {
  const deps = await depsFromEnv({
    TABLE_NAME: "t",
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    WEBHOOK_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:000000000000:secret:webhook-AbCdEf",
  });
  await expect(deps.webhookToken()).rejects.toThrow(/not yet/);
  failing = false;
  expect(await deps.webhookToken()).toBe("the-token");
  const reads = calls;
  expect(await deps.webhookToken()).toBe("the-token");
  expect(calls).toBe(reads); // kept once read
});
