// A server at the lakeFS endpoint that answers with the request it got (a debugging proxy, an
// echo service configured by mistake) would hand Lakeport's basic auth back in its answer;
// lakeFS's message is kept in errors, logs, the API's 502 and export status, so the client
// takes the credentials out of it first.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { LakeFsClient } from "../../lambdas/shared/lakefs/client";
import { LakeFsError } from "../../lambdas/shared/lakefs/errors";

// With a slash, as lakeFS's generated (base64) secret keys may have.
const credentials = { accessKeyId: "AKIAECHOEXAMPLE", secretAccessKey: "echoed/secret+0b9e" };
const basic = Buffer.from(`${credentials.accessKeyId}:${credentials.secretAccessKey}`).toString(
  "base64",
);
let server: Server;
let endpoint: string;

beforeAll(async () => {
  // /json-401: lakeFS's error shape; /text-400: plain text; /ok-text: 200 that is not JSON;
  // /escaped-json-401: JSON whose encoder escapes "/" as "\/" (valid JSON, as PHP's writes it).
  server = createServer((req, res) => {
    const echo = `got authorization: ${req.headers.authorization} (${credentials.secretAccessKey})`;
    if (req.url?.includes("escaped-json-401")) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: echo }).replaceAll("/", "\\/"));
    } else if (req.url?.includes("json-401")) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: echo }));
    } else if (req.url?.includes("text-400")) {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end(echo);
    } else {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(echo);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

it.each(["json-401", "escaped-json-401", "text-400", "ok-text"])(
  "an answer echoing the credentials (%s) leaves them out of the error",
  async (repository) => {
    const client = new LakeFsClient({ endpoint, credentials, retry: { maxAttempts: 1 } });
    const err = await client.getRepository(repository).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LakeFsError);
    const shown = JSON.stringify({ message: (err as Error).message, ...(err as object) });
    expect(shown).toContain("got authorization");
    expect(shown).not.toContain(basic);
    expect(shown).not.toContain(credentials.secretAccessKey);
  },
);
