// Run in a child process by test/unit/tracing.test.ts (process-wide state: async hooks and the
// X-Ray SDK's namespace): builds an S3 client and runs a handler through lambdaHandler, then
// prints what was loaded and which clients carry the X-Ray middleware.
import { createS3Client } from "../../lambdas/shared/aws/clients";
import { lambdaHandler } from "../../lambdas/shared/lambda-handler";
import { loadTracer, tracerLoaded } from "../../lambdas/shared/tracing";

const xray = (client: { middlewareStack: { identify(): string[] } }) =>
  client.middlewareStack.identify().some((m) => m.startsWith("XRaySDKInstrumentation"));

const before = createS3Client({ endpoint: "http://127.0.0.1:9", region: "us-east-1" });
const handler = lambdaHandler({ name: "probe", run: async () => ({ ok: true }) });
const result = await handler({}, {
  functionName: "probe",
  awsRequestId: "r1",
  getRemainingTimeInMillis: () => 30_000,
} as never);
await loadTracer();
const after = createS3Client({ endpoint: "http://127.0.0.1:9", region: "us-east-1" });
process.stdout.write(
  `${JSON.stringify({
    result,
    tracerLoaded: tracerLoaded(),
    xraySdkLoaded: Boolean((process as unknown as { namespaces?: object }).namespaces),
    clientBefore: xray(before),
    clientAfter: xray(after),
  })}\n`,
);
