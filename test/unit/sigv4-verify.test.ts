// The embedded servers' SigV4 check against requests signed by the AWS SDK's own signer:
// S3 (path signed once, x-amz-content-sha256) and execute-api (path encoded twice, the body's
// hash in the canonical request), and each way AWS refuses a request.
import { SignatureV4 } from "@smithy/signature-v4";
import { describe, expect, it } from "vitest";
import { Sha256 } from "../../cli/sigv4";
import { type SignedRequest, verifySigV4 } from "../../local/sigv4/verify";

const KEY = { accessKeyId: "AKIALOCALTEST", secretAccessKey: "local-secret-key" };

async function signed(
  service: string,
  req: { method: string; path: string; query?: Record<string, string>; body?: string },
  opts: { secret?: string; date?: Date; s3?: boolean; sessionToken?: string } = {},
): Promise<SignedRequest> {
  const signer = new SignatureV4({
    service,
    region: "us-east-1",
    credentials: {
      accessKeyId: KEY.accessKeyId,
      secretAccessKey: opts.secret ?? KEY.secretAccessKey,
      ...(opts.sessionToken ? { sessionToken: opts.sessionToken } : {}),
    },
    sha256: Sha256,
    uriEscapePath: !opts.s3,
    applyChecksum: !!opts.s3,
  });
  // Clients sign the path as it goes on the wire: encoded.
  const wirePath = req.path
    .split("/")
    .map((s) => encodeURIComponent(s))
    .join("/");
  const out = await signer.sign(
    {
      method: req.method,
      protocol: "http:",
      hostname: "127.0.0.1",
      port: 7072,
      path: wirePath,
      query: req.query ?? {},
      headers: {
        host: "127.0.0.1:7072",
        ...(req.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(req.body !== undefined ? { body: req.body } : {}),
    },
    opts.date ? { signingDate: opts.date } : {},
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(out.headers)) headers[k.toLowerCase()] = String(v);
  const query = new URLSearchParams(req.query ?? {}).toString().replace(/\+/g, "%20");
  return {
    method: req.method,
    path: wirePath,
    query,
    headers,
    ...(req.body !== undefined ? { body: new TextEncoder().encode(req.body) } : {}),
  };
}

const verify = (r: SignedRequest, service: string, now?: number) =>
  verifySigV4(r, {
    service,
    secretOf: (id) => (id === KEY.accessKeyId ? KEY.secretAccessKey : undefined),
    ...(now !== undefined ? { now: () => now } : {}),
  });

describe("SigV4 verification", () => {
  it("accepts what the SDK signs, for S3 and for API Gateway", async () => {
    const s3 = await signed(
      "s3",
      {
        method: "GET",
        path: "/repo/main/a dir/file+1.txt",
        query: { "list-type": "2", prefix: "main/a b" },
      },
      { s3: true },
    );
    expect(verify(s3, "s3")).toMatchObject({ ok: true, accessKeyId: KEY.accessKeyId });
    const api = await signed("execute-api", {
      method: "POST",
      path: "/api/v1/repositories/my repo/gc/runs",
      body: '{"mode":"mark-only"}',
    });
    expect(verify(api, "execute-api")).toMatchObject({ ok: true, region: "us-east-1" });
  });

  it("does not check session tokens: the local key pair signs with or without one (README Limits)", async () => {
    const req = { method: "GET", path: "/api/v1/repositories" };
    const withToken = await signed("execute-api", req, { sessionToken: "any-session-token" });
    expect(withToken.headers["x-amz-security-token"]).toBe("any-session-token");
    expect(verify(withToken, "execute-api")).toMatchObject({ ok: true });
    // The pair is still what counts: another secret with the same token is refused.
    const wrong = await signed("execute-api", req, {
      sessionToken: "any-session-token",
      secret: "not-the-secret",
    });
    expect(verify(wrong, "execute-api")).toMatchObject({ ok: false });
  });

  it("refuses each way AWS refuses", async () => {
    const base = await signed("execute-api", {
      method: "POST",
      path: "/api/v1/x",
      body: '{"a":1}',
    });
    expect(verify({ ...base, headers: {} }, "execute-api")).toMatchObject({
      ok: false,
      reason: "MissingAuthenticationToken",
    });
    const wrongSecret = await signed(
      "execute-api",
      { method: "POST", path: "/api/v1/x", body: '{"a":1}' },
      { secret: "not-the-secret" },
    );
    expect(verify(wrongSecret, "execute-api")).toMatchObject({
      ok: false,
      reason: "SignatureDoesNotMatch",
    });
    const unknown = {
      ...base,
      headers: {
        ...base.headers,
        authorization: base.headers.authorization!.toString().replace(KEY.accessKeyId, "AKIAOTHER"),
      },
    };
    expect(verify(unknown, "execute-api")).toMatchObject({
      ok: false,
      reason: "InvalidAccessKeyId",
    });
    const tampered = { ...base, body: new TextEncoder().encode('{"a":2}') };
    expect(verify(tampered, "execute-api")).toMatchObject({
      ok: false,
      reason: "SignatureDoesNotMatch",
    });
    const otherPath = { ...base, path: "/api/v1/y" };
    expect(verify(otherPath, "execute-api")).toMatchObject({
      ok: false,
      reason: "SignatureDoesNotMatch",
    });
    const old = await signed(
      "execute-api",
      { method: "GET", path: "/api/v1/x" },
      { date: new Date(Date.now() - 20 * 60_000) },
    );
    expect(verify(old, "execute-api")).toMatchObject({ ok: false, reason: "RequestTimeTooSkewed" });
    expect(verify(old, "execute-api", Date.now() - 20 * 60_000)).toMatchObject({ ok: true });
    expect(verify(base, "s3")).toMatchObject({ ok: false, reason: "SignatureDoesNotMatch" });
  });

  it("refuses an S3 body that does not match its declared hash", async () => {
    const r = await signed("s3", { method: "PUT", path: "/b/k", body: "hello" }, { s3: true });
    expect(verify(r, "s3")).toMatchObject({ ok: true });
    expect(verify({ ...r, body: new TextEncoder().encode("HELLO") }, "s3")).toMatchObject({
      ok: false,
      reason: "XAmzContentSHA256Mismatch",
    });
  });
});
