// The signed CopyObject (lambdas/shared/s3-copy/direct-copy.ts) as it would reach AWS: a
// client configured for a region and role credentials (session token), its HTTP handler
// replaced by one that records requests. The request goes where the SDK's own would go
// (virtual-hosted, path-style for a bucket with dots), carries the same headers, and its
// signature checks out under an independent SigV4 implementation (local/sigv4/verify.ts).
import { Readable } from "node:stream";
import { CopyObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { describe, expect, it, vi } from "vitest";
import { Sha256 } from "../../cli/sigv4";
import { copyHeadersOf, copyObject, copySourceOf } from "../../lambdas/shared/s3-copy/copy-object";
import {
  copyAnswerOf,
  createDirectCopier,
  keyPath,
  S3ErrorResponse,
} from "../../lambdas/shared/s3-copy/direct-copy";
import { EmptyPayloadSigner } from "../../lambdas/shared/s3-copy/sigv4-empty-payload";
import { verifySigV4 } from "../../local/sigv4/verify";

const CREDENTIALS = {
  accessKeyId: "ASIAROLEEXAMPLE",
  secretAccessKey: "role-secret-example",
  sessionToken: "session-token-example",
};

interface Sent {
  method: string;
  hostname: string;
  path: string;
  headers: Record<string, string>;
}

function recordingClient(answer: { status: number; body: string } = okAnswer()) {
  const sent: Sent[] = [];
  const client = new S3Client({
    region: "eu-west-1",
    credentials: CREDENTIALS,
    requestHandler: {
      handle: async (request: Sent) => {
        sent.push({
          method: request.method,
          hostname: request.hostname,
          path: request.path,
          headers: { ...request.headers },
        });
        return {
          response: {
            statusCode: answer.status,
            headers: { "x-amz-request-id": "req-1" },
            body: Readable.from([Buffer.from(answer.body)]),
          },
        };
      },
    } as never,
  });
  return { client, sent };
}

function okAnswer() {
  return {
    status: 200,
    body: '<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult><LastModified>2026-12-05T10:00:00.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag></CopyObjectResult>',
  };
}

const input = {
  sourceBucket: "lake-data",
  sourceKey: "repo/data/é x+y.parquet",
  destKey: "exports/main/tables/é x+y.parquet",
  contentType: "application/octet-stream",
  metadata: { owner: "team-a", note: "naïve" },
};

async function both(destBucket: string) {
  const direct = recordingClient();
  const copier = createDirectCopier(direct.client);
  const copySource = copySourceOf(input.sourceBucket, input.sourceKey);
  const out = await copier.copy({
    bucket: destBucket,
    key: input.destKey,
    copySource,
    headers: copyHeadersOf({ ...input, destBucket }),
  });
  const sdk = recordingClient();
  await sdk.client.send(
    new CopyObjectCommand({
      Bucket: destBucket,
      Key: input.destKey,
      CopySource: copySource,
      MetadataDirective: "REPLACE",
      TaggingDirective: "REPLACE",
      ContentType: input.contentType,
      Metadata: { owner: "team-a", note: "=?UTF-8?B?bmHDr3Zl?=" },
    }),
  );
  return { out, direct: direct.sent, sdk: sdk.sent };
}

const verified = (s: Sent) =>
  verifySigV4(
    { method: s.method, path: s.path, query: "", headers: s.headers },
    {
      service: "s3",
      secretOf: (id) => (id === CREDENTIALS.accessKeyId ? CREDENTIALS.secretAccessKey : undefined),
    },
  );

describe("a signed CopyObject for AWS", () => {
  it("goes where the SDK's would, with its headers, signed for the bucket's region", async () => {
    const { out, direct, sdk } = await both("export-bucket");
    expect(out).toEqual({ etag: '"9b2cf535f27731c974343645a3985328"' });
    expect(direct).toHaveLength(1);
    const [d, s] = [direct[0] as Sent, sdk[0] as Sent];
    expect(d.hostname).toBe("export-bucket.s3.eu-west-1.amazonaws.com");
    expect(d.hostname).toBe(s.hostname);
    expect(d.path).toBe(s.path);
    expect(d.method).toBe("PUT");
    for (const h of [
      "x-amz-copy-source",
      "x-amz-metadata-directive",
      "x-amz-tagging-directive",
      "content-type",
      "x-amz-meta-owner",
      "x-amz-meta-note",
      "x-amz-security-token",
      "x-amz-content-sha256",
    ]) {
      expect([h, d.headers[h]]).toEqual([h, s.headers[h]]);
    }
    expect(d.headers.authorization).toContain(
      `Credential=${CREDENTIALS.accessKeyId}/${d.headers["x-amz-date"]?.slice(0, 8)}/eu-west-1/s3/aws4_request`,
    );
    expect(d.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-security-token/);
    expect(verified(d)).toMatchObject({ ok: true, region: "eu-west-1" });
  });

  it("uses path-style addressing for a bucket with dots, as the SDK does over HTTPS", async () => {
    const { direct, sdk } = await both("exports.example.com");
    const [d, s] = [direct[0] as Sent, sdk[0] as Sent];
    expect(d.hostname).toBe(s.hostname);
    expect(d.path).toBe(s.path);
    expect(d.path.startsWith("/exports.example.com/")).toBe(true);
    expect(verified(d)).toMatchObject({ ok: true });
  });

  it("leaves a bucket the SDK signs otherwise (an S3 Express directory bucket) to the SDK", async () => {
    const { client, sent } = recordingClient();
    const copier = createDirectCopier(client);
    expect(
      await copier.copy({
        bucket: "exports--euw1-az1--x-s3",
        key: "k",
        copySource: "lake-data/a",
        headers: {},
      }),
    ).toBeUndefined();
    expect(sent.filter((r) => r.method === "PUT")).toEqual([]);
  });

  it("leaves a Multi-Region Access Point (SigV4a) to the SDK", async () => {
    const { client, sent } = recordingClient();
    const copier = createDirectCopier(client);
    const out = await copier.copy({
      bucket: "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap",
      key: "k",
      copySource: "lake-data/a",
      headers: {},
    });
    expect(out).toBeUndefined();
    expect(sent).toEqual([]);
  });

  it("a fake client (no SDK configuration) is left to its own send", async () => {
    const fake = { send: async () => ({}) } as unknown as S3Client;
    const copier = createDirectCopier(fake);
    expect(
      await copier.copy({ bucket: "b", key: "k", copySource: "b/s", headers: {} }),
    ).toBeUndefined();
  });
});

describe("the credentials a copy signs with", () => {
  it("are the client's, asked for again once a second: renewed credentials sign the copies after", async () => {
    let clock = Date.parse("2026-12-06T10:00:00Z");
    const now = vi.spyOn(Date, "now").mockImplementation(() => clock);
    try {
      let asked = 0;
      const sent: Sent[] = [];
      const client = new S3Client({
        region: "eu-west-1",
        // Role credentials that the SDK renews (five minutes before they expire): each call
        // hands out the next key pair, valid for five minutes and 1.2 s.
        credentials: async () => {
          asked++;
          return {
            accessKeyId: `KEY${asked}`,
            secretAccessKey: `secret${asked}`,
            expiration: new Date(clock + 301_200),
          };
        },
        requestHandler: {
          handle: async (request: Sent) => {
            sent.push({ ...request, headers: { ...request.headers } });
            return {
              response: {
                statusCode: 200,
                headers: {},
                body: Readable.from([Buffer.from(okAnswer().body)]),
              },
            };
          },
        } as never,
      });
      const copier = createDirectCopier(client);
      const copy = () =>
        copier.copy({ bucket: "export-bucket", key: "k", copySource: "src/k", headers: {} });
      const keyOf = (s: Sent) => /Credential=([^/]+)\//.exec(s.headers.authorization ?? "")?.[1];
      await copy();
      const afterFirst = asked;
      clock += 500;
      await copy();
      // Within the second: the same credentials, the provider not asked again.
      expect(asked).toBe(afterFirst);
      expect(keyOf(sent[1] as Sent)).toBe(keyOf(sent[0] as Sent));
      clock += 1_000;
      await copy();
      expect(asked).toBe(afterFirst + 1);
      expect(keyOf(sent[2] as Sent)).toBe(`KEY${asked}`);
      expect(keyOf(sent[2] as Sent)).not.toBe(keyOf(sent[1] as Sent));
    } finally {
      now.mockRestore();
    }
  });
});

describe("a CopyObject answer", () => {
  it("gives the ETag, XML entities decoded", () => {
    expect(copyAnswerOf(okAnswer().status, okAnswer().body)).toEqual({
      etag: '"9b2cf535f27731c974343645a3985328"',
    });
    // Every entity, each decoded once ("&amp;quot;" is the text "&quot;").
    const etag = "&quot;x&amp;quot;&lt;&gt;&apos;&#x41;&#66;&quot;";
    expect(copyAnswerOf(200, `<CopyObjectResult><ETag>${etag}</ETag></CopyObjectResult>`)).toEqual({
      etag: `"x&quot;<>'AB"`,
    });
  });

  it("is S3's error when the status says so, with its code, message and status", () => {
    const e = (() => {
      try {
        copyAnswerOf(
          404,
          "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>",
          "r-1",
        );
      } catch (err) {
        return err as S3ErrorResponse;
      }
    })();
    expect(e).toBeInstanceOf(S3ErrorResponse);
    expect(e).toMatchObject({
      name: "NoSuchKey",
      Code: "NoSuchKey",
      message: "The specified key does not exist.",
      $metadata: { httpStatusCode: 404, requestId: "r-1" },
      $fault: "client",
    });
  });

  it("is an error when a 200's body is an <Error> (S3 failing a copy after its status line)", () => {
    expect(() =>
      copyAnswerOf(
        200,
        "<Error><Code>InternalError</Code><Message>We encountered an internal error &amp; failed.</Message></Error>",
      ),
    ).toThrow(/internal error & failed/);
  });

  it("reads an element's text across lines, and leaves out one whose end was cut off", () => {
    expect(
      copyAnswerOf(
        200,
        '<CopyObjectResult>\n<ETag>"a\nb"</ETag><ETag>"c"</ETag></CopyObjectResult>',
      ),
    ).toEqual({ etag: '"a\nb"' });
    // An error whose message was cut short: its code stands for the message.
    expect(() => copyAnswerOf(503, "<Error><Code>SlowDown</Code><Message>Please redu")).toThrow(
      expect.objectContaining({ name: "SlowDown", message: "SlowDown" }),
    );
    // A 200 with its result but the ETag cut short: no ETag, not a piece of one.
    expect(copyAnswerOf(200, "<CopyObjectResult><ETag>&quot;9b2c")).toEqual({ etag: undefined });
  });

  it("is a retryable error when a 200 was cut short, or a 5xx carries no XML", () => {
    expect(() => copyAnswerOf(200, "<?xml version")).toThrow(
      expect.objectContaining({ name: "InternalError", $metadata: { httpStatusCode: 500 } }),
    );
    expect(() => copyAnswerOf(503, "")).toThrow(
      expect.objectContaining({ name: "Http503", $fault: "server" }),
    );
  });
});

describe("a key in the request path", () => {
  it("is encoded as the SDK encodes it: each segment, '/' kept, RFC 3986 reserved characters too", () => {
    expect(keyPath("a b/c+d/é/!'()*~-_.")).toBe("a%20b/c%2Bd/%C3%A9/%21%27%28%29%2A~-_.");
    expect(keyPath("100%/x=1&y=2")).toBe("100%25/x%3D1%26y%3D2");
  });

  it("is the SDK's path for every key, those left as they are (unreserved characters) included", async () => {
    const keys = [
      "plain/part-00001.snappy.parquet",
      "a-b_c.d~e/0/Z",
      "a b/c",
      "x+y=z",
      "ü/ß/日本",
      "p/100%",
      "q/!'()*",
      "trailing/",
    ];
    const sdk = recordingClient();
    for (const key of keys) {
      await sdk.client.send(
        new CopyObjectCommand({ Bucket: "export-bucket", Key: key, CopySource: "src/k" }),
      );
    }
    expect(sdk.sent.map((s) => s.path)).toEqual(keys.map((k) => `/${keyPath(k)}`));
    expect(keyPath(keys[0] as string)).toBe(keys[0]);
    expect(copySourceOf("src", keys[1] as string)).toBe(`src/${keys[1]}`);
    expect(copySourceOf("src", "a b/ü+")).toBe("src/a%20b/%C3%BC%2B");
  });
});

describe("the copy's SigV4 signature", () => {
  const request = {
    method: "PUT",
    path: "/exports/main/a%20b/%C3%A9%2Bx.csv",
    headers: {
      host: "export-bucket.s3.eu-west-1.amazonaws.com",
      "content-length": "0",
      "content-type": "text/csv",
      "x-amz-copy-source": "lake-data/repo/%C3%A9%20x%2By.parquet",
      "x-amz-metadata-directive": "REPLACE",
      "x-amz-tagging-directive": "REPLACE",
      "x-amz-meta-note": "  two  spaces   inside ",
      "x-amz-meta-tabbed": "one\ttab",
      "x-amz-meta-plain": "single spaces only",
    },
  };
  const at = new Date("2026-12-05T10:15:30.123Z");

  it.each([
    ["access key", { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "secret-one" }],
    ["role credentials (session token)", CREDENTIALS],
  ])("is the SDK signer's, byte for byte, with %s", async (_, credentials) => {
    const ours = new EmptyPayloadSigner("eu-west-1").sign(request, credentials, at);
    const sdk = await new SignatureV4({
      credentials,
      region: "eu-west-1",
      service: "s3",
      sha256: Sha256,
      uriEscapePath: false,
      applyChecksum: false,
    }).sign(
      {
        method: request.method,
        protocol: "https:",
        hostname: request.headers.host,
        path: request.path,
        query: {},
        headers: { ...ours, authorization: undefined } as never,
      },
      { signingDate: at },
    );
    expect(ours.authorization).toBe(sdk.headers.authorization);
    expect(ours["x-amz-date"]).toBe("20261205T101530Z");
    expect(
      verifySigV4(
        { method: "PUT", path: request.path, query: "", headers: ours },
        {
          service: "s3",
          secretOf: (id) =>
            id === credentials.accessKeyId ? credentials.secretAccessKey : undefined,
          now: () => at.getTime(),
        },
      ),
    ).toMatchObject({ ok: true, region: "eu-west-1" });
  });

  it("stamps each request with its own second (the timestamp is formatted once a second)", () => {
    const signer = new EmptyPayloadSigner("eu-west-1");
    const credentials = { accessKeyId: "A", secretAccessKey: "s1" };
    const t = at.getTime();
    const stamps = [t, t + 800, t + 1_000, t + 500, t + 61_000].map(
      (ms) => signer.sign(request, credentials, ms)["x-amz-date"],
    );
    // Back to the earlier second (a clock offset corrected) is that second's stamp again.
    expect(stamps).toEqual([
      "20261205T101530Z",
      "20261205T101530Z",
      "20261205T101531Z",
      "20261205T101530Z",
      "20261205T101631Z",
    ]);
  });

  it("derives a new signing key when the day or the secret changes (rotated role credentials)", () => {
    const signer = new EmptyPayloadSigner("eu-west-1");
    const check = (headers: Record<string, string>, secret: string, now: Date) =>
      verifySigV4(
        { method: "PUT", path: request.path, query: "", headers },
        { service: "s3", secretOf: () => secret, now: () => now.getTime() },
      );
    const nextDay = new Date("2026-12-06T00:00:01Z");
    const a = signer.sign(request, { accessKeyId: "A", secretAccessKey: "s1" }, at);
    const b = signer.sign(request, { accessKeyId: "A", secretAccessKey: "s2" }, at);
    const c = signer.sign(request, { accessKeyId: "A", secretAccessKey: "s2" }, nextDay);
    expect(check(a, "s1", at)).toMatchObject({ ok: true });
    expect(check(b, "s2", at)).toMatchObject({ ok: true });
    expect(check(c, "s2", nextDay)).toMatchObject({ ok: true });
    expect(check(b, "s1", at)).toMatchObject({ ok: false, reason: "SignatureDoesNotMatch" });
  });
});

describe("a machine clock S3 finds too far from its own", () => {
  it("sends that copy through the SDK, which measures the offset; later copies sign with it", async () => {
    // S3 as AWS runs it, its clock 20 minutes ahead of this machine's: a request dated more
    // than 15 minutes away is refused with RequestTimeTooSkewed and S3's time.
    const aheadMs = 20 * 60_000;
    const sent: { date: string; sdk: boolean }[] = [];
    const client = new S3Client({
      region: "eu-west-1",
      credentials: CREDENTIALS,
      requestHandler: {
        handle: async (request: Sent) => {
          const date = request.headers["x-amz-date"] as string;
          sent.push({ date, sdk: "amz-sdk-invocation-id" in request.headers });
          const s3Now = new Date(Date.now() + aheadMs);
          const signedAt = Date.parse(
            date.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z"),
          );
          const skewed = Math.abs(s3Now.getTime() - signedAt) > 15 * 60_000;
          const answer = skewed
            ? {
                status: 403,
                body: `<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message><ServerTime>${s3Now.toISOString()}</ServerTime></Error>`,
              }
            : okAnswer();
          return {
            response: {
              statusCode: answer.status,
              headers: { date: s3Now.toUTCString(), "x-amz-request-id": "r" },
              body: Readable.from([Buffer.from(answer.body)]),
            },
          };
        },
      } as never,
    });
    const copy = (key: string) =>
      copyObject(
        client,
        {
          sourceBucket: "lake-data",
          sourceKey: "a",
          destBucket: "export-bucket",
          destKey: key,
          size: 1,
        },
        { retry: { baseDelayMs: 1, maxDelayMs: 2 } },
      );
    await expect(copy("first")).resolves.toMatchObject({
      etag: '"9b2cf535f27731c974343645a3985328"',
    });
    // Refused direct, then the SDK: refused, its clock corrected, accepted.
    expect(sent.map((r) => r.sdk)).toEqual([false, true, true]);
    sent.length = 0;
    await copy("second");
    expect(sent).toHaveLength(1);
    expect(sent[0]?.sdk).toBe(false);
    expect(client.config.systemClockOffset).toBeGreaterThan(aheadMs - 5_000);
  });
});
