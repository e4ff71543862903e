// A lakeFS endpoint written with credentials in it (https://user:password@host) never works:
// fetch refuses such URLs, with an error quoting the URL, and every failed call said it again
// in the error Lambdas log, retry lines and Step Functions causes. It is refused up front
// without being repeated, at synthesis and when a client is made.
import { Stack } from "aws-cdk-lib";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import { afterEach, describe, expect, it, vi } from "vitest";
import { resolveEndpoint } from "../../cli/endpoint";
import { validateProps } from "../../infra/lakeport";
import { LakeFsClient } from "../../lambdas/shared/lakefs/client";
import { logger } from "../../lambdas/shared/logger";
import { loggedDuring } from "../support/logged-during";

const SECRET_IN_URL = "pw-in-url-5e1d";
const ENDPOINT = `http://lakeport:${SECRET_IN_URL}@127.0.0.1:1`;

afterEach(() => vi.restoreAllMocks());

/** The stack's props checked as synthesis checks them, with `lakeFsEndpoint`. */
function synthesizedWith(lakeFsEndpoint: string) {
  const stack = new Stack();
  validateProps({
    lakeFsEndpoint,
    lakeFsSecret: secrets.Secret.fromSecretCompleteArn(
      stack,
      "LakeFs",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:lakefs-AbCdEf",
    ),
    storageBuckets: [s3.Bucket.fromBucketName(stack, "Lake", "lake-a")],
    exportBuckets: [s3.Bucket.fromBucketName(stack, "Exports", "exports-a")],
  });
}

describe("a lakeFS endpoint with credentials in it", () => {
  it("fails a lakeFS call without the password in the error or the log lines", async () => {
    let failure: unknown;
    const lines = await loggedDuring(async () => {
      try {
        const client = new LakeFsClient({
          endpoint: ENDPOINT,
          credentials: { accessKeyId: "AK", secretAccessKey: "SK" },
          retry: { sleep: async () => undefined },
        });
        await client.getRepository("repo");
      } catch (err) {
        failure = err;
        logger.error("export plan step failed", err as Error);
      }
    });
    expect(lines).toContain("export plan step failed");
    expect(lines).not.toContain(SECRET_IN_URL);
    expect((failure as Error).message).toMatch(/lakeFS client: the endpoint must not carry/);
  });

  it("is refused at synthesis without repeating it", () => {
    expect(() => synthesizedWith(ENDPOINT)).toThrow(
      expect.objectContaining({
        message: expect.not.stringContaining(SECRET_IN_URL),
      }),
    );
  });
});

describe("spellings of such an endpoint that fetch's URL parser reads the same", () => {
  // `http:u:p@host`, `http:///u:p@host`, `http:\\u:p@host` and a leading space are all
  // `http://u:p@host` to fetch; a check of `scheme://...@` alone let them through, and the
  // failed call's error (logged, a Step Functions cause) quoted the URL with the password.
  const SPELLINGS = [
    `http:lakeport:${SECRET_IN_URL}@127.0.0.1:1`,
    ` http://lakeport:${SECRET_IN_URL}@127.0.0.1:1`,
    `http:///lakeport:${SECRET_IN_URL}@127.0.0.1:1`,
    `http:\\\\lakeport:${SECRET_IN_URL}@127.0.0.1:1`,
  ];
  it.each(SPELLINGS)(
    "%j is refused by the lakeFS client, synthesis and the CLI, unrepeated",
    async (endpoint) => {
      let failure: unknown;
      try {
        await new LakeFsClient({
          endpoint,
          credentials: { accessKeyId: "AK", secretAccessKey: "SK" },
          retry: { sleep: async () => undefined },
        }).getRepository("repo");
      } catch (err) {
        failure = err;
      }
      expect((failure as Error).message).toMatch(/lakeFS client: the endpoint must not carry/);
      expect((failure as Error).message).not.toContain(SECRET_IN_URL);
      expect(() => synthesizedWith(endpoint)).toThrow(
        /^lakeFsEndpoint: must not carry credentials/,
      );
      expect(() =>
        resolveEndpoint(endpoint.replace("127.0.0.1:1", "example.com"), {}, "/tmp"),
      ).toThrow(/must not carry credentials/);
    },
  );
});
