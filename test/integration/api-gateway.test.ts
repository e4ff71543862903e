// The local API Gateway built from the synthesized template, through its HTTP server: IAM
// (SigV4) authorization with API Gateway's 403 answers, bodies left to the functions (the
// template validates parameters only), the template's gateway responses, the 10 MB payload limit, and the
// webhook route left to its shared token.
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import {
  apiClient,
  FAKE_WEBHOOK_TOKEN,
  type FakeApi,
  startApiWithFakes,
} from "../support/api-harness";
import { signedFetch, signedJson } from "../support/signed-fetch";

let fake: FakeApi;
let call: ReturnType<typeof apiClient>;
const repo = "repo-gateway";
const cfg = `/repositories/${repo}/branches/main/continuous-export`;
const url = (p: string) => `${fake.base}${p}`;
const MISMATCH =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  call = apiClient(fake);
  fake.lakefs.addRepository(repo, `s3://lakefs-data/${repo}`, { main: "c1" });
  expect((await call("PUT", cfg, { exportPath: "s3://export-bucket/gw" })).status).toBe(200);
});
afterAll(() => fake.stop());

describe("AWS_IAM authorization", () => {
  test("a request signed with the local credentials is served", async () => {
    const r = await signedJson(url(cfg));
    expect(r.status).toBe(200);
    expect(r.body.exportPath).toBe("s3://export-bucket/gw");
  });

  test("unsigned: 403 Missing Authentication Token", async () => {
    const r = await signedJson(url(cfg), { unsigned: true });
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ message: "Missing Authentication Token" });
    expect(r.headers.get("x-amzn-errortype")).toBe("MissingAuthenticationTokenException");
  });

  test("an unknown access key: 403, the security token is invalid", async () => {
    const r = await signedJson(url(cfg), {
      credentials: { accessKeyId: "AKIDUNKNOWN", secretAccessKey: "x" },
    });
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ message: "The security token included in the request is invalid." });
  });

  test("the wrong secret: 403 with the canonical request API Gateway computed", async () => {
    const r = await signedJson(url(cfg), {
      credentials: { accessKeyId: fake.api.credentials.accessKeyId, secretAccessKey: "wrong" },
    });
    expect(r.status).toBe(403);
    expect(r.body.message.startsWith(`${MISMATCH}\n\nThe Canonical String for this request`)).toBe(
      true,
    );
    expect(r.body.message).toContain(`GET\n/api/v1${cfg}\n`);
    expect(r.body.message).toContain("The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n");
  });

  test("signed more than 5 minutes ago: 403 Signature expired", async () => {
    const r = await signedJson(url(cfg), { signingDate: new Date(Date.now() - 6 * 60_000) });
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
    );
    // 4 minutes is inside API Gateway's allowance.
    const fresh = await signedJson(url(cfg), { signingDate: new Date(Date.now() - 4 * 60_000) });
    expect(fresh.status).toBe(200);
  });

  test("signed for the future: 403 Signature not yet current", async () => {
    const r = await signedJson(url(cfg), { signingDate: new Date(Date.now() + 6 * 60_000) });
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(/^Signature not yet current: /);
  });

  test("another region in the credential scope: 403", async () => {
    const r = await signedJson(url(cfg), { region: "eu-west-1" });
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(/^Credential should be scoped to a valid region/);
  });

  test("a body changed after signing: 403, and nothing is stored", async () => {
    const before = await fake.deps.stores.exports.getConfig(repo, "main");
    const r = await signedJson(url(cfg), {
      method: "PUT",
      body: { exportPath: "s3://export-bucket/signed" },
      sentBody: JSON.stringify({ exportPath: "s3://export-bucket/tampered" }),
    });
    expect(r.status).toBe(403);
    expect(r.body.message.startsWith(MISMATCH)).toBe(true);
    expect(await fake.deps.stores.exports.getConfig(repo, "main")).toEqual(before);
    // The same request, untouched, is accepted.
    const ok = await signedJson(url(cfg), {
      method: "PUT",
      body: { exportPath: "s3://export-bucket/signed" },
    });
    expect(ok.status).toBe(200);
    expect((await fake.deps.stores.exports.getConfig(repo, "main"))?.exportPath).toBe(
      "s3://export-bucket/signed",
    );
  });

  // The CLI's signer took a repeated parameter once (its last value), so API Gateway, which
  // signs every one, refused the request.
  // (The function refuses the repeated value: the signature passed.)
  test("a query parameter given twice is signed as sent", async () => {
    const r = await signedJson(url(`/repositories/${repo}/gc/runs?amount=2&after=a&amount=1`));
    expect({ status: r.status, body: r.body }).toEqual({
      status: 400,
      body: { message: "amount: must be given once (got 2 values)" },
    });
  });

  test("a signature copied onto another path does not match", async () => {
    const signed = await signedFetch(url(cfg));
    expect(signed.status).toBe(200);
    const { signApiRequest } = await import("../../cli/sigv4");
    const headers = await signApiRequest({
      method: "GET",
      url: new URL(url(cfg)),
      headers: {},
      credentials: fake.api.credentials,
      region: fake.api.region,
    });
    const other = await fetch(url(`/repositories/${repo}/branches/main/export-status`), {
      headers,
    });
    expect(other.status).toBe(403);
  });
});

describe("request validation and gateway responses", () => {
  test("a body the model refuses reaches the function, which answers 400 naming the field", async () => {
    // The template validates parameters, not bodies: API Gateway's validator would answer
    // without naming the field.
    const before = fake.workflows.started.length;
    const r = await signedJson(url(`/repositories/${repo}/gc/runs`), {
      method: "POST",
      body: { mode: "bogus" },
    });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      message: "mode: must be one of mark-and-sweep, mark-only, sweep-only",
    });
    expect(r.headers.get("x-amzn-errortype")).toBeNull();
    expect(fake.workflows.started.length).toBe(before);
  });

  test("a content type without a model is passed to the function", async () => {
    const r = await signedJson(url(cfg), {
      method: "PUT",
      body: "exportPath=s3://x",
      headers: { "content-type": "text/plain" },
    });
    expect(r.status).toBe(415);
  });

  test("unknown paths and methods: API Gateway's 403", async () => {
    for (const [method, p] of [
      ["GET", "/nothing/here"],
      ["PATCH", cfg],
      ["GET", "/repositories"],
    ] as const) {
      const r = await signedJson(url(p), { method });
      expect({ method, p, status: r.status, body: r.body }).toEqual({
        method,
        p,
        status: 403,
        body: { message: "Missing Authentication Token" },
      });
    }
  });

  test("a payload over 10 MB: 413 before anything else", async () => {
    const big = JSON.stringify({
      exportPath: `s3://export-bucket/${"x".repeat(10 * 1024 * 1024)}`,
    });
    const r = await signedJson(url(cfg), { method: "PUT", body: big, unsigned: true });
    expect(r.status).toBe(413);
    expect(r.body).toEqual({ message: "Request Too Long" });
  });

  test("path parameters reach the function decoded, as API Gateway passes them", async () => {
    const r = await signedJson(url(`/repositories/no%2Dsuch/branches/main/continuous-export`));
    expect(r.status).toBe(404);
    expect(r.body.message).toMatch(/no-such/);
  });
});

describe("the webhook route", () => {
  const hook = `/webhooks/lakefs`;
  const event = { event_type: "nope" };

  test("is not IAM-authorized: its shared token alone lets a request in", async () => {
    const r = await signedJson(url(hook), {
      method: "POST",
      body: event,
      unsigned: true,
      headers: { "x-lakeport-token": FAKE_WEBHOOK_TOKEN },
    });
    // Past the gateway and the token: the function refuses the event itself.
    expect(r.status).toBe(400);
  });

  test("a SigV4 signature does not replace the token", async () => {
    const r = await signedJson(url(hook), { method: "POST", body: event });
    expect(r.status).toBe(401);
    const wrong = await signedJson(url(hook), {
      method: "POST",
      body: event,
      unsigned: true,
      headers: { "x-lakeport-token": "wrong" },
    });
    expect(wrong.status).toBe(403);
  });
});
