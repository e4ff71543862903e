// The CLI signs every request with SigV4 for execute-api using the default credential chain
// (seen here by a stub server), and the local API Gateway verifies them: other credentials
// are refused with API Gateway's 403, which the CLI reports as an API error.
import { execFile } from "node:child_process";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { expect, inject, test } from "vitest";
import { startApiWithFakes } from "../support/api-harness";
import { cliWithExampleKeys } from "../support/cli-with-example-keys";

/** `lakeport export get lakefs://repo-x@main` against a server on `port`, with example keys. */
const exportGetAt = (port: number, extraEnv: Record<string, string> = {}) =>
  cliWithExampleKeys(
    ["export", "get", "lakefs://repo-x@main"],
    `http://127.0.0.1:${port}`,
    extraEnv,
  );

test("requests are SigV4-signed with the environment's credentials", async () => {
  let seen: IncomingHttpHeaders | undefined;
  const server = createServer((req, res) => {
    seen = req.headers;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({ exportPath: "s3://b1/x", lastKeysInPrefixRegexp: [], isContinuous: false }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  try {
    const out = await exportGetAt(port);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(seen?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=accept;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    expect(seen?.["x-amz-date"]).toMatch(/^\d{8}T\d{6}Z$/);
    expect(out.stdout).toContain("export path:        s3://b1/x");
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test("the local API Gateway refuses the CLI's requests signed with other credentials", async () => {
  const fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  fake.lakefs.addRepository("repo-cli-sig", "s3://lakefs-data/repo-cli-sig", { main: "c1" });
  const run = (credentials: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
  }) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [
          path.resolve(__dirname, "../../cli/bin.mjs"),
          "gc",
          "get-config",
          "lakefs://repo-cli-sig",
          "--endpoint",
          fake.api.endpoint,
        ],
        {
          env: {
            PATH: process.env.PATH ?? "",
            AWS_ACCESS_KEY_ID: credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
            ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
            AWS_REGION: fake.api.region,
          },
        },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
  try {
    const refused = await run({
      accessKeyId: fake.api.credentials.accessKeyId,
      secretAccessKey: "not-the-secret",
    });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("The request signature we calculated does not match");
    // API Gateway's 403 quotes the canonical request it expected, signed headers' values
    // included: a session token (role or SSO credentials) is one of them. The CLI prints the
    // message without it.
    const sessionToken = "IQoJb3JpZ2luX2VjELAKE-session-token-5d2e";
    const withToken = await run({
      accessKeyId: fake.api.credentials.accessKeyId,
      secretAccessKey: "not-the-secret",
      sessionToken,
    });
    expect(withToken.code).toBe(3);
    expect(withToken.stderr).toContain("The Canonical String for this request should have been");
    expect(withToken.stderr).toContain("x-amz-security-token");
    expect(withToken.stderr).not.toContain(sessionToken);
    expect(withToken.stderr).not.toContain("not-the-secret");
    // The right credentials pass the gateway: the function answers (no rules stored yet).
    const served = await run(fake.api.credentials);
    expect(served.stderr).not.toContain("signature");
    expect(served.stderr).toMatch(/404|no GC rules|not found/i);
  } finally {
    await fake.stop();
  }
});

test("an API answer quoting the request's signature or session token is printed without them", async () => {
  let signature = "";
  const server = createServer((req, res) => {
    signature = /Signature=([0-9a-f]+)/.exec(req.headers.authorization ?? "")?.[1] ?? "";
    res.writeHead(403, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        message: `refused: ${req.headers.authorization} ${req.headers["x-amz-security-token"]}`,
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const sessionToken = "FwoGZXIvYXdzEXAMPLE-session-token-81c4";
  try {
    const out = await exportGetAt(port, { AWS_SESSION_TOKEN: sessionToken });
    expect(out.code).toBe(3);
    expect(out.stderr).toContain("refused: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/");
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(out.stderr).not.toContain(signature);
    expect(out.stderr).not.toContain(sessionToken);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
