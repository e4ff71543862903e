// S3 answers a request whose signature it does not accept (SignatureDoesNotMatch) with the
// signature it got, the string it signed and the canonical request; the SDK copies every field
// of an error answer onto the error, and the Lambdas' logger writes every field of an error it
// logs, as Lambda's runtime does with the error a handler throws. A function failing so must
// not write the request's signature into its log lines.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createS3Client } from "../../lambdas/shared/aws/clients";
import { lambdaHandler } from "../../lambdas/shared/lambda-handler";
import { loggedDuring } from "../support/logged-during";

let server: Server;
let endpoint: string;
const signatures: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const signature = /Signature=([0-9a-f]+)/.exec(req.headers.authorization ?? "")?.[1] ?? "";
    signatures.push(signature);
    res.writeHead(403, { "content-type": "application/xml", "x-amz-request-id": "R1" });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code>` +
        `<Message>The request signature we calculated does not match the signature you provided. Check your key and signing method.</Message>` +
        `<AWSAccessKeyId>AKIASIGNATUREEXAMPLE</AWSAccessKeyId>` +
        `<StringToSign>AWS4-HMAC-SHA256\n20261206T000000Z\nsigned-${signature}</StringToSign>` +
        `<SignatureProvided>${signature}</SignatureProvided>` +
        `<CanonicalRequest>GET\n/b/k\n\nauthorization-of-${signature}</CanonicalRequest>` +
        `<RequestId>R1</RequestId></Error>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

it("a function failing on S3's SignatureDoesNotMatch logs the error without the signature", async () => {
  const s3 = createS3Client({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIASIGNATUREEXAMPLE", secretAccessKey: "sig-secret-key-7c1f" },
  });
  const handler = lambdaHandler({
    name: "export plan step",
    run: async () => s3.send(new GetObjectCommand({ Bucket: "b", Key: "k" })),
  });
  let thrown: unknown;
  const lines = await loggedDuring(async () => {
    thrown = await handler({}, { functionName: "f", awsRequestId: "r" } as Context).catch(
      (e: unknown) => e,
    );
  });
  expect((thrown as Error).name).toBe("SignatureDoesNotMatch");
  expect(lines).toContain("export plan step failed");
  expect(lines).toContain("SignatureDoesNotMatch");
  expect(signatures.length).toBeGreaterThan(0);
  for (const signature of signatures) {
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(lines).not.toContain(signature);
  }
  expect(lines).not.toContain("sig-secret-key-7c1f");
  // Lambda's Node.js runtime writes the thrown error's every enumerable field ("Invoke Error").
  const invokeError = JSON.stringify(thrown, (_k, v: unknown) =>
    v instanceof Error ? { errorType: v.name, errorMessage: v.message, ...v } : v,
  );
  expect(invokeError).toContain("SignatureDoesNotMatch");
  for (const signature of signatures) expect(invokeError).not.toContain(signature);
});
