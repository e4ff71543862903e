// README (Continuous export, copy): a CopyObject is signed as the SDK's signer signs it and sent
// through Lakeport's copy transport (or a foreign client's own HTTP handler), the request itself
// built by the SDK once per bucket.
// Against the embedded S3 (which checks every signature): keys and headers the SDK would send,
// errors, throttling and a lost answer as through the SDK.
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createS3Client } from "../../lambdas/shared/aws/clients";
import { copyObject, runCopyBatch } from "../../lambdas/shared/s3-copy";
import { S3AdminClient } from "../../local/s3/admin-client";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/credentials";
import { testS3Client, uniqueName } from "../support/clients";

const fastRetry = { baseDelayMs: 1, maxDelayMs: 5 };
let admin: S3AdminClient;
let source: string;
let dest: string;

/** A client whose CopyObjectCommand sends are counted (the SDK's path, built requests included). */
function countingClient(client: S3Client = testS3Client()) {
  const counted = { copyCommands: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "CopyObjectCommand") counted.copyCommands++;
      return next(args);
    },
    { step: "initialize", name: "countCopyCommands" },
  );
  return { client, counted };
}

async function body(s3: S3Client, bucket: string, key: string) {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return {
    text: await out.Body!.transformToString(),
    contentType: out.ContentType,
    metadata: out.Metadata,
  };
}

beforeAll(async () => {
  admin = new S3AdminClient(inject("s3Endpoint"));
  source = uniqueName("dsrc");
  dest = uniqueName("ddst");
  const s3 = testS3Client();
  await s3.send(new CreateBucketCommand({ Bucket: source }));
  await s3.send(new CreateBucketCommand({ Bucket: dest }));
});

afterEach(async () => {
  await admin.clearThrottleRules({ bucket: dest });
  await admin.clearLoseRules({ bucket: dest });
  await admin.resetRequestCounts({ bucket: dest });
});

describe("CopyObject through signed requests", () => {
  it("builds one request per bucket through the SDK, then sends every copy itself, byte-exact keys and headers", async () => {
    const { client, counted } = countingClient();
    const keys = [
      "plain/a.csv",
      "space and plus+/x=1&y=2.csv",
      "unicode/é/groß/日本.txt",
      "punctuation/!'()*~.parquet",
      "percent/100%/a%2Fb",
    ];
    for (const [i, k] of keys.entries()) {
      await client.send(new PutObjectCommand({ Bucket: source, Key: k, Body: `body ${i}` }));
    }
    for (const [i, k] of keys.entries()) {
      const out = await copyObject(
        client,
        {
          sourceBucket: source,
          sourceKey: k,
          destBucket: dest,
          destKey: `exp/${k}`,
          size: `body ${i}`.length,
          contentType: i === 2 ? "text/plain; charset=é" : "text/csv",
          metadata: { owner: "team-a", note: "naïve — ok" },
        },
        { retry: fastRetry },
      );
      expect(out.etag).toMatch(/^"[0-9a-f]{32}"$/);
    }
    // The SDK built one CopyObject request (for this bucket) and sent none of them.
    expect(counted.copyCommands).toBe(1);
    expect((await admin.requestCounts({ bucket: dest })).byOperation.CopyObject).toBe(keys.length);
    for (const [i, k] of keys.entries()) {
      const got = await body(client, dest, `exp/${k}`);
      expect(got.text).toBe(`body ${i}`);
      expect(got.contentType).toBe(i === 2 ? "text/plain; charset=%C3%A9" : "text/csv");
      expect(got.metadata?.owner).toBe("team-a");
      expect(got.metadata?.note).toBe("=?UTF-8?B?bmHDr3ZlIOKAlCBvaw==?=");
    }
  });

  it("reports a missing source as NoSuchKey after one request, and an S3 error's code and message", async () => {
    const { client } = countingClient();
    const result = await runCopyBatch(
      client,
      [
        {
          kind: "copy",
          id: "missing.csv",
          sourceBucket: source,
          sourceKey: "never/written.csv",
          destBucket: dest,
          destKey: "exp/missing.csv",
          size: 1,
        },
      ],
      { retry: fastRetry },
    );
    expect(result.failed).toEqual([
      { path: "missing.csv", code: "NoSuchKey", message: expect.any(String) },
    ]);
    expect((await admin.requestCounts({ bucket: dest })).byOperation.CopyObject).toBe(1);
  });

  it("retries throttled copies (503 SlowDown) with backoff until they succeed", async () => {
    const { client } = countingClient();
    await client.send(new PutObjectCommand({ Bucket: source, Key: "t/a", Body: "throttled" }));
    await admin.throttle({ count: 3, operation: "CopyObject", bucket: dest });
    const retries: string[] = [];
    await copyObject(
      client,
      { sourceBucket: source, sourceKey: "t/a", destBucket: dest, destKey: "exp/t/a", size: 9 },
      { retry: { ...fastRetry, onRetry: ({ error }) => retries.push((error as Error).name) } },
    );
    expect(retries).toEqual(["SlowDown", "SlowDown", "SlowDown"]);
    expect((await body(client, dest, "exp/t/a")).text).toBe("throttled");
  });

  it("sends the copies of a client Lakeport built through its own transport, another client's through that client's handler", async () => {
    const built = testS3Client();
    const other = new S3Client({
      endpoint: inject("s3Endpoint"),
      region: "us-east-1",
      credentials: LOCAL_S3_CREDENTIALS,
      forcePathStyle: true,
    });
    const handled = new Map<S3Client, number>();
    for (const client of [built, other]) {
      const handler = client.config.requestHandler as {
        handle: (r: { headers: Record<string, string> }, o?: unknown) => Promise<unknown>;
      };
      const handle = handler.handle.bind(handler);
      handled.set(client, 0);
      handler.handle = (r, o) => {
        if (r.headers["x-amz-copy-source"]) handled.set(client, (handled.get(client) ?? 0) + 1);
        return handle(r, o);
      };
    }
    await built.send(new PutObjectCommand({ Bucket: source, Key: "w/a", Body: "wire" }));
    for (const [name, client] of [
      ["built", built],
      ["other", other],
    ] as const) {
      for (let i = 0; i < 3; i++) {
        await copyObject(
          client,
          {
            sourceBucket: source,
            sourceKey: "w/a",
            destBucket: dest,
            destKey: `exp/w/${name}-${i}`,
            size: 4,
          },
          { retry: fastRetry },
        );
        expect((await body(client, dest, `exp/w/${name}-${i}`)).text).toBe("wire");
      }
    }
    expect(handled.get(built)).toBe(0);
    expect(handled.get(other)).toBe(3);
  });

  it("sends a copy again whose answer never came (the client's request timeout)", async () => {
    const client = createS3Client({
      endpoint: inject("s3Endpoint"),
      region: "us-east-1",
      credentials: LOCAL_S3_CREDENTIALS,
      s3Timeouts: { connectionMs: 1_000, requestMs: 1_500 },
    });
    await client.send(new PutObjectCommand({ Bucket: source, Key: "l/a", Body: "lost" }));
    await admin.lose({ count: 1, operation: "CopyObject", bucket: dest, mode: "hang" });
    const retries: string[] = [];
    await copyObject(
      client,
      { sourceBucket: source, sourceKey: "l/a", destBucket: dest, destKey: "exp/l/a", size: 4 },
      { retry: { ...fastRetry, onRetry: ({ error }) => retries.push((error as Error).name) } },
    );
    expect(retries).toEqual(["TimeoutError"]);
    expect((await body(client, dest, "exp/l/a")).text).toBe("lost");
    expect((await admin.requestCounts({ bucket: dest })).byOperation.CopyObject).toBe(2);
  });
});
