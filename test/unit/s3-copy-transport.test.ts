// README (Continuous export, copy): copies from a client Lakeport built go on the wire through
// their own transport, with the client's connection and request limits. Against a real HTTP
// server on a real socket: answers, a request limit on the answer's start and then on silence
// (S3 sends spaces while a large copy runs), an answer cut short; and, through an agent of the
// test's, a socket that never connects (the connection limit); over TLS, as on AWS.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import type { TLSSocket } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { isRetryableAwsError } from "../../lambdas/shared/retry";
import { createCopyTransport } from "../../lambdas/shared/s3-copy/copy-transport";

let server: http.Server | undefined;

afterEach(async () => {
  const s = server;
  server = undefined;
  if (!s) return;
  s.closeAllConnections();
  await new Promise((resolve) => s.close(resolve));
});

async function serve(handler: http.RequestListener, host = "127.0.0.1"): Promise<number> {
  server = http.createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

const request = (port: number) => ({
  protocol: "http:",
  hostname: "127.0.0.1",
  port,
  method: "PUT",
  path: "/bucket/a%20key",
  headers: { "x-amz-copy-source": "src/k", "content-length": "0" },
});

const settings = { maxSockets: 4, connectionMs: 1_000, requestMs: 300 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the copy transport", () => {
  it("reaches an IPv6 endpoint given bracketed, as a URL gives its host", async () => {
    const port = await serve((req, res) => res.end(`${req.method} ${req.url}`), "::1");
    const answer = await createCopyTransport(settings).send({
      ...request(port),
      hostname: "[::1]",
    });
    expect(answer).toMatchObject({ statusCode: 200, body: "PUT /bucket/a%20key" });
  });

  it("sends the request as given and returns the status, request id and body", async () => {
    const seen: { method?: string; url?: string; source?: string }[] = [];
    const port = await serve((req, res) => {
      seen.push({
        method: req.method,
        url: req.url,
        source: req.headers["x-amz-copy-source"] as string,
      });
      res.writeHead(200, { "X-Amz-Request-Id": "REQ1" });
      res.end("<CopyObjectResult><ETag>&quot;e&quot;</ETag></CopyObjectResult>");
    });
    const t = createCopyTransport(settings);
    const answers = await Promise.all([1, 2, 3].map(() => t.send(request(port))));
    expect(answers).toEqual(
      Array(3).fill({
        statusCode: 200,
        requestId: "REQ1",
        body: "<CopyObjectResult><ETag>&quot;e&quot;</ETag></CopyObjectResult>",
      }),
    );
    expect(seen).toEqual(Array(3).fill({ method: "PUT", url: "/bucket/a%20key", source: "src/k" }));
  });

  it("fails with TimeoutError (retried) when the answer does not begin within the request limit", async () => {
    const port = await serve(() => undefined);
    const error = await createCopyTransport(settings)
      .send(request(port))
      .catch((e: Error) => e);
    expect(error).toMatchObject({ name: "TimeoutError" });
    expect(isRetryableAwsError(error)).toBe(true);
  });

  it("waits past the limit for an answer that keeps sending (spaces while S3 copies)", async () => {
    const port = await serve(async (_req, res) => {
      res.writeHead(200);
      // 1.2 s in all, never 300 ms without a byte.
      for (let i = 0; i < 8; i++) {
        res.write(" ");
        await sleep(150);
      }
      res.end("<CopyObjectResult><ETag>x</ETag></CopyObjectResult>");
    });
    const answer = await createCopyTransport(settings).send(request(port));
    expect(answer.statusCode).toBe(200);
    expect(answer.body.trim()).toBe("<CopyObjectResult><ETag>x</ETag></CopyObjectResult>");
  });

  it("fails with TimeoutError when a begun answer goes silent for longer than the limit", async () => {
    const port = await serve((_req, res) => {
      res.writeHead(200);
      res.write(" ");
    });
    const error = await createCopyTransport(settings)
      .send(request(port))
      .catch((e: Error) => e);
    expect(error).toMatchObject({ name: "TimeoutError" });
  });

  it("fails with a retried error when the connection closes before the answer's end", async () => {
    const port = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("<CopyObjectResult>");
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const error = await createCopyTransport(settings)
      .send(request(port))
      .catch((e: Error) => e);
    // The cut itself, not the request limit later.
    expect(error).toMatchObject({ code: "ECONNRESET" });
    expect(isRetryableAwsError(error)).toBe(true);
  });

  it("fails with TimeoutError (retried) when a new socket does not connect within the connection limit", async () => {
    // A socket that stays connecting, as one whose SYN is dropped on the way.
    class NeverConnecting extends http.Agent {
      override createConnection() {
        const socket = new net.Socket();
        (socket as { connecting: boolean }).connecting = true;
        return socket;
      }
    }
    const transport = createCopyTransport(
      { maxSockets: 4, connectionMs: 200, requestMs: 5_000 },
      { "http:": new NeverConnecting(), "https:": new https.Agent() },
    );
    const t0 = Date.now();
    const error = await transport.send(request(1)).catch((e: Error) => e);
    expect(error).toMatchObject({
      name: "TimeoutError",
      message: expect.stringMatching(/connection/),
    });
    expect(isRetryableAwsError(error)).toBe(true);
    // The connection limit, not the request limit.
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it("sends over TLS as S3 is reached on AWS: the endpoint's name for SNI, Host once, as given", async () => {
    // A certificate for localhost made for this test only (openssl, as Debian ships it).
    const dir = mkdtempSync(path.join(os.tmpdir(), "lakeport-tls-"));
    try {
      const [key, cert] = ["key.pem", "cert.pem"].map((f) => path.join(dir, f)) as [string, string];
      execFileSync(
        "openssl",
        [
          ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"],
          ...["-keyout", key, "-out", cert, "-subj", "/CN=localhost"],
          ...["-addext", "subjectAltName=DNS:localhost"],
        ],
        { stdio: "ignore" },
      );
      const seen: { servername?: string | false | null; hosts: string[]; url?: string }[] = [];
      const tlsServer = https.createServer(
        { key: readFileSync(key), cert: readFileSync(cert) },
        (req, res) => {
          seen.push({
            servername: (req.socket as TLSSocket).servername,
            hosts: req.rawHeaders.filter(
              (_, i, a) => i % 2 === 1 && /^host$/i.test(a[i - 1] as string),
            ),
            ...(req.url !== undefined ? { url: req.url } : {}),
          });
          res.writeHead(200, { "x-amz-request-id": "TLS1" });
          res.end("<CopyObjectResult/>");
        },
      );
      await new Promise<void>((resolve) => tlsServer.listen(0, "127.0.0.1", resolve));
      const port = (tlsServer.address() as AddressInfo).port;
      const transport = createCopyTransport(settings, {
        "http:": new http.Agent(),
        "https:": new https.Agent({ keepAlive: true, ca: readFileSync(cert) }),
      });
      try {
        const answer = await transport.send({
          ...request(port),
          protocol: "https:",
          hostname: "localhost",
          headers: { ...request(port).headers, host: `localhost:${port}` },
        });
        expect(answer).toEqual({ statusCode: 200, requestId: "TLS1", body: "<CopyObjectResult/>" });
        expect(seen).toEqual([
          { servername: "localhost", hosts: [`localhost:${port}`], url: "/bucket/a%20key" },
        ]);
      } finally {
        tlsServer.closeAllConnections();
        await new Promise((resolve) => tlsServer.close(resolve));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps its sockets open between copies (one connection for copies in sequence)", async () => {
    const sockets = new Set<unknown>();
    const port = await serve((req, res) => {
      sockets.add(req.socket);
      res.end("<CopyObjectResult/>");
    });
    const t = createCopyTransport(settings);
    for (let i = 0; i < 5; i++) await t.send(request(port));
    expect(sockets.size).toBe(1);
  });
});
