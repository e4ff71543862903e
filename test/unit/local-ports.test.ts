// README (The embedded environment): default ports 7070 S3, 7071 DynamoDB, 7072 lakeFS, 7073 API,
// 7074 Step Functions, 7075 EventBridge, 7076 SQS; --port-base N moves them all, --s3-port N one;
// or LAKEPORT_PORT_BASE, LAKEPORT_S3_PORT, ... (a flag wins over its variable).
import { expect, it } from "vitest";
import { resolvePorts } from "../../local/environment";
import { portSettings } from "../../local/port-settings";

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

it("takes LAKEPORT_PORT_BASE and each LAKEPORT_<COMPONENT>_PORT; a flag wins over its variable", () => {
  const env = {
    LAKEPORT_PORT_BASE: "9100",
    LAKEPORT_S3_PORT: "8100",
    LAKEPORT_DYNAMODB_PORT: "8101",
    LAKEPORT_STEPFUNCTIONS_PORT: "8104",
    LAKEPORT_SQS_PORT: "",
  };
  const fromEnv = portSettings({}, env);
  expect(fromEnv).toEqual({
    ports: { s3: 8100, dynamodb: 8101, stepfunctions: 8104 },
    portBase: 9100,
  });
  expect(resolvePorts(fromEnv)).toEqual({
    s3: 8100,
    dynamodb: 8101,
    lakefs: 9102,
    api: 9103,
    stepfunctions: 8104,
    eventbridge: 9105,
    sqs: 9106,
  });
  expect(portSettings({ s3Port: 7000, portBase: 6000 }, env)).toEqual({
    ports: { s3: 7000, dynamodb: 8101, stepfunctions: 8104 },
    portBase: 6000,
  });
});

it("a variable that is not a port is refused, naming it", () => {
  expect(() => portSettings({}, { LAKEPORT_API_PORT: "http" })).toThrow(
    'LAKEPORT_API_PORT must be a port number, got "http"',
  );
  expect(() => portSettings({}, { LAKEPORT_PORT_BASE: "70000" })).toThrow(
    'LAKEPORT_PORT_BASE must be a port number, got "70000"',
  );
});
