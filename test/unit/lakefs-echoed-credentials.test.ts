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
let server: Server;
let endpoint: string;

beforeAll(async () => {
  // /json-401: lakeFS's error shape; /text-400: plain text; /ok-text: 200 that is not JSON;
  // /escaped-json-401: JSON whose encoder escapes "/" as "\/" (valid JSON, as PHP's writes it);
  // /escaped-echo-401 and /unicode-echo-502: such JSON without a `message` (an echo service's
  // {"headers": ...}), "/" written "\/" or "\u002f", whose raw text is what errors keep.
  server = createServer((req, res) => {
    const auth = req.headers.authorization ?? "";
    const pair = Buffer.from(auth.replace(/^Basic /, ""), "base64").toString();
    const echo = `got authorization: ${auth} (${pair})`;
    if (req.url?.includes("cut-400")) {
      // A proxy quoting the start of an over-long header, or the end of it.
      res.writeHead(400, { "content-type": "text/plain" });
      res.end(`got authorization: ${auth.slice(0, -6)}... (${pair.slice(0, -4)}...)`);
    } else if (req.url?.includes("tail-400")) {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end(`got authorization: ...${auth.slice(14)} (...${pair.slice(20)})`);
    } else if (req.url?.includes("escaped-echo-401")) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ headers: req.headers, echo }).replaceAll("/", "\\/"));
    } else if (req.url?.includes("unicode-echo-502")) {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ headers: req.headers, echo }).replaceAll("/", "\\u002f"));
    } else if (req.url?.includes("escaped-json-401")) {
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

it.each([
  "json-401",
  "escaped-json-401",
  "escaped-echo-401",
  "unicode-echo-502",
  "text-400",
  "cut-400",
  "tail-400",
  "ok-text",
])("an answer echoing the credentials (%s) leaves them out of the error", async (repository) => {
  await expectNoCredentials(repository, credentials);
});

it.each(["escaped-echo-401", "json-401"])(
  "a secret key with a quote and a backslash (%s), which JSON escapes, is left out too",
  (repository) =>
    expectNoCredentials(repository, {
      accessKeyId: "AKIAECHOEXAMPLE",
      secretAccessKey: 'q"b\\s/x',
    }),
);

async function expectNoCredentials(
  repository: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
) {
  const { accessKeyId, secretAccessKey } = credentials;
  const basic = Buffer.from(`${accessKeyId}:${secretAccessKey}`).toString("base64");
  const client = new LakeFsClient({ endpoint, credentials, retry: { maxAttempts: 1 } });
  const err = await client.getRepository(repository).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LakeFsError);
  const raw = [(err as Error).message, (err as LakeFsError).lakeFsMessage].join("\n");
  expect(raw).toContain("got authorization");
  // As written, and as a person reads it: JSON's optional escapes ("\/", "\u002f") undone.
  const read = raw
    .replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replaceAll("\\/", "/");
  for (const shown of [raw, read]) {
    for (const secret of [basic, secretAccessKey, JSON.stringify(secretAccessKey).slice(1, -1)]) {
      expect(shown).not.toContain(secret);
      // Nor a piece of it that gives most of it away (12 characters or more).
      for (let i = 0; i + 12 <= secret.length; i++) {
        expect(shown).not.toContain(secret.slice(i, i + 12));
      }
    }
  }
}
