// README (The embedded environment): default ports 7070 S3, 7071 DynamoDB, 7072 lakeFS, 7073 API,
// 7074 Step Functions, 7075 EventBridge, 7076 SQS; --port-base N moves them all, --s3-port N one.
import { expect, it } from "vitest";
import { resolvePorts } from "../../local/environment";

it("uses the documented default ports", () => {
  expect(resolvePorts({})).toEqual({
    s3: 7070,
    dynamodb: 7071,
    lakefs: 7072,
    api: 7073,
    stepfunctions: 7074,
    eventbridge: 7075,
    sqs: 7076,
  });
});

it("moves every port with a port base, and one port with its own override", () => {
  expect(resolvePorts({ portBase: 9000, ports: { s3: 8000 } })).toEqual({
    s3: 8000,
    dynamodb: 9001,
    lakefs: 9002,
    api: 9003,
    stepfunctions: 9004,
    eventbridge: 9005,
    sqs: 9006,
  });
});

it("--print-env's exports point every AWS SDK client at the local endpoints", async () => {
  const { endpointsToEnv } = await import("../../local/endpoints");
  const env = endpointsToEnv({
    region: "us-east-1",
    accessKeyId: "AK",
    secretAccessKey: "SK",
    s3: "http://127.0.0.1:7070",
    dynamodb: "http://127.0.0.1:7071",
    lakefs: "http://127.0.0.1:7072",
    api: "http://127.0.0.1:7073",
    stepfunctions: "http://127.0.0.1:7074",
    eventbridge: "http://127.0.0.1:7075",
    sqs: "http://127.0.0.1:7076",
  } as Parameters<typeof endpointsToEnv>[0]);
  expect(env).toMatchObject({
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AK",
    AWS_SECRET_ACCESS_KEY: "SK",
    AWS_ENDPOINT_URL_S3: "http://127.0.0.1:7070",
    AWS_ENDPOINT_URL_DYNAMODB: "http://127.0.0.1:7071",
    AWS_ENDPOINT_URL_SFN: "http://127.0.0.1:7074",
    AWS_ENDPOINT_URL_EVENTBRIDGE: "http://127.0.0.1:7075",
    AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:7076",
  });
});
