// The stepfunctions, sqs and eventbridge components as `npm run local` starts them.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { DescribeExecutionCommand, ListExecutionsCommand } from "@aws-sdk/client-sfn";
import { afterAll, expect, inject, it } from "vitest";
import { createEventBridgeClient, createSfnClient } from "../../lambdas/shared/aws/clients";
import { localCloudComponents } from "../../local/cloud/component";
import type { LocalDeployment } from "../../local/cloud/deploy";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/server";
import { TEST_REGION } from "../support/clients";

const dir = mkdtempSync(path.join(os.tmpdir(), "lakeport-component-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("starts both endpoints, deploys the assembly and routes PutEvents to the state machine", async () => {
  const template = {
    Resources: {
      Bus1: { Type: "AWS::Events::EventBus", Properties: { Name: "lakeport-events" } },
      Machine1: {
        Type: "AWS::StepFunctions::StateMachine",
        Properties: {
          DefinitionString: '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}',
          StateMachineName: "component-machine",
        },
      },
      Rule1: {
        Type: "AWS::Events::Rule",
        Properties: {
          EventBusName: { Ref: "Bus1" },
          EventPattern: { source: ["lakeport.api"] },
          Targets: [{ Id: "t", Arn: { Ref: "Machine1" }, InputPath: "$.detail" }],
        },
      },
    },
  };
  writeFileSync(
    path.join(dir, "manifest.json"),
    JSON.stringify({
      artifacts: {
        Comp: {
          type: "aws:cloudformation:stack",
          properties: { templateFile: "Comp.template.json" },
        },
      },
    }),
  );
  writeFileSync(path.join(dir, "Comp.template.json"), JSON.stringify(template));
  let deployment: LocalDeployment | undefined;
  const components = localCloudComponents({
    assemblyDir: dir,
    onDeployed: (d) => (deployment = d),
  });
  const named = (name: string) => components.find((c) => c.name === name);
  const [sfnComponent, sqsComponent, ebComponent] = ["stepfunctions", "sqs", "eventbridge"].map(
    named,
  );
  const endpoints = {
    region: TEST_REGION,
    s3: inject("s3Endpoint"),
    dynamodb: inject("dynamoDbEndpoint"),
    ...LOCAL_S3_CREDENTIALS,
  };
  const logs: string[] = [];
  const ctx = (port: number, e: object) => ({
    dataDir: dir,
    port,
    endpoints: e,
    log: (m: string) => logs.push(m),
  });
  const sfnRunning = await sfnComponent!.start(ctx(0, endpoints));
  const sqsRunning = await sqsComponent!.start(ctx(0, endpoints));
  const ebRunning = await ebComponent!.start(
    ctx(0, { ...endpoints, ...sfnRunning.endpoints, ...sqsRunning.endpoints }),
  );
  try {
    expect(ebComponent!.after).toEqual(expect.arrayContaining(["stepfunctions", "sqs"]));
    expect(sqsRunning.endpoints.sqs).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(logs[0]).toMatch(/deployed Comp: 3 resources/);
    const eb = createEventBridgeClient({
      endpoint: ebRunning.endpoints.eventbridge!,
      region: TEST_REGION,
      credentials: LOCAL_S3_CREDENTIALS,
    });
    await eb.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: "lakeport-events",
            Source: "lakeport.api",
            DetailType: "x",
            Detail: '{"hello":"world"}',
          },
        ],
      }),
    );
    const sfn = createSfnClient({
      endpoint: sfnRunning.endpoints.stepfunctions!,
      region: TEST_REGION,
      credentials: LOCAL_S3_CREDENTIALS,
    });
    const machineArn = deployment!.arn("Machine1");
    expect(machineArn).toBe("arn:aws:states:us-east-1:000000000000:stateMachine:component-machine");
    let executionArn: string | undefined;
    for (let i = 0; i < 100 && !executionArn; i++) {
      executionArn = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn })))
        .executions?.[0]?.executionArn;
      if (!executionArn) await new Promise((r) => setTimeout(r, 20));
    }
    await deployment!.runner.waitForExecution(executionArn!);
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(d.status).toBe("SUCCEEDED");
    expect(JSON.parse(d.output!)).toEqual({ hello: "world" });
  } finally {
    await ebRunning.stop();
    await sqsRunning.stop();
    await sfnRunning.stop();
  }
});
