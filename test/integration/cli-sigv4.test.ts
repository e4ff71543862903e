// Without a token against an https endpoint (forced here with LAKEPORT_SIGV4 over http), the
// CLI signs requests with SigV4 for execute-api using the default credential chain.
import { execFile } from "node:child_process";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { expect, test } from "vitest";

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
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [
          path.resolve(__dirname, "../../cli/bin.mjs"),
          "export",
          "get",
          "lakefs://repo-x@main",
          "--endpoint",
          `http://127.0.0.1:${port}`,
        ],
        {
          env: {
            PATH: process.env.PATH ?? "",
            LAKEPORT_SIGV4: "true",
            AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
            AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            AWS_REGION: "eu-west-1",
          },
        },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
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
