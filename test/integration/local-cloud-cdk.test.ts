// End to end: a CDK stack synthesized here (NodejsFunction bundled by esbuild, bucket,
// distributed Map over JSON Lines with ItemBatcher and ResultWriter, EventBridge rules) is
// deployed locally and driven through the SFN and EventBridge endpoints with the AWS SDK.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeMapRunCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListMapRunsCommand,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createEventBridgeClient, createSfnClient } from "../../lambdas/shared/aws/clients";
import { type LocalCloudHandle, startLocalCloud } from "../../local/cloud";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/server";
import { synthTestStack } from "../fixtures/asl/cdk-app/stack";
import { TEST_REGION, testS3Client } from "../support/clients";

const s3 = testS3Client();
let outdir: string;
let cloud: LocalCloudHandle;
let sfn: SFNClient;
let bucket: string;
let machineArn: string;

async function waitDone(executionArn: string): Promise<DescribeExecutionCommandOutput> {
  for (let i = 0; i < 600; i++) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== "RUNNING") return d;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`execution ${executionArn} did not finish`);
}

async function text(key: string): Promise<string> {
  const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return o.Body!.transformToString("utf8");
}

async function eventually<T>(fn: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("condition not met");
}

beforeAll(async () => {
  outdir = mkdtempSync(path.join(os.tmpdir(), "lakeport-cdk-"));
  synthTestStack(outdir);
  cloud = await startLocalCloud({
    assemblyDir: outdir,
    s3: { endpoint: inject("s3Endpoint"), credentials: LOCAL_S3_CREDENTIALS, region: TEST_REGION },
    dynamodbEndpoint: inject("dynamoDbEndpoint"),
    runnerOptions: { retryDelayScale: 0.001 },
  });
  sfn = createSfnClient({
    endpoint: cloud.endpoints.stepfunctions,
    region: TEST_REGION,
    credentials: LOCAL_S3_CREDENTIALS,
  });
  bucket = cloud.deployment.physicalId("Data");
  machineArn = cloud.deployment.arn("Machine");
  const lines = Array.from({ length: 5 }, (_, i) => JSON.stringify({ n: i + 1 })).join("\n");
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "input/items.jsonl", Body: lines }));
});

afterAll(async () => {
  await cloud?.stop();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe("a synthesized stack deployed locally", () => {
  it("lists what it deployed, ignored and could not deploy", () => {
    const types = cloud.deployment.resources.map((r) => r.type).sort();
    expect(types).toEqual([
      "AWS::Events::EventBus",
      "AWS::Events::Rule",
      "AWS::Events::Rule",
      "AWS::Lambda::Function",
      "AWS::S3::Bucket",
      "AWS::StepFunctions::StateMachine",
    ]);
    expect(cloud.deployment.ignored.map((r) => r.type)).toContain("AWS::IAM::Role");
    expect(cloud.deployment.unsupported).toEqual([]);
  });

  it("runs the distributed map to completion through the SFN endpoint", async () => {
    const described = await sfn.send(
      new DescribeStateMachineCommand({ stateMachineArn: machineArn }),
    );
    expect(JSON.parse(described.definition!).States.Fan.ItemReader.Parameters.Bucket).toBe(bucket);

    const start = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: machineArn,
        name: "run-1",
        input: JSON.stringify({ run: "run-1" }),
      }),
    );
    const again = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: machineArn,
        name: "run-1",
        input: JSON.stringify({ run: "run-1" }),
      }),
    );
    expect(again.executionArn).toBe(start.executionArn);
    await expect(
      sfn.send(
        new StartExecutionCommand({
          stateMachineArn: machineArn,
          name: "run-1",
          input: JSON.stringify({ run: "other" }),
        }),
      ),
    ).rejects.toMatchObject({ name: "ExecutionAlreadyExists" });

    const done = await waitDone(start.executionArn!);
    expect(done.status).toBe("SUCCEEDED");
    expect(done.startDate).toBeInstanceOf(Date);
    expect(done.stopDate!.getTime()).toBeGreaterThanOrEqual(done.startDate!.getTime());
    const out = JSON.parse(done.output!);
    const mapRunArn = out.map.MapRunArn as string;
    const manifestKey = out.map.ResultWriterDetails.Key as string;
    expect(out.map.ResultWriterDetails.Bucket).toBe(bucket);
    const manifest = JSON.parse(await text(manifestKey));
    expect(manifest.MapRunArn).toBe(mapRunArn);
    const succeeded = JSON.parse(await text(manifest.ResultFiles.SUCCEEDED[0].Key)) as {
      Output: string;
    }[];
    const outputs = succeeded.map((e) => JSON.parse(e.Output)).sort((a, b) => a.sum - b.sum);
    expect(outputs.map((o) => o.sum)).toEqual([3, 5, 7]);
    expect(outputs[0]).toMatchObject({
      fn: cloud.deployment.physicalId("Worker"),
      remainingPositive: true,
      region: TEST_REGION,
    });

    // The bundled handler wrote to the embedded S3 through its own environment.
    const processed = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: "processed/run-1/" }),
    );
    expect(processed.Contents?.map((c) => c.Key).sort()).toEqual([
      "processed/run-1/1-2.json",
      "processed/run-1/3-4.json",
      "processed/run-1/5.json",
    ]);

    const mapRun = await sfn.send(new DescribeMapRunCommand({ mapRunArn }));
    expect(mapRun.status).toBe("SUCCEEDED");
    expect(mapRun.itemCounts).toMatchObject({ total: 5, succeeded: 5, failed: 0 });
    expect(mapRun.executionCounts).toMatchObject({ total: 3, succeeded: 3 });
    const runs = await sfn.send(new ListMapRunsCommand({ executionArn: start.executionArn }));
    expect(runs.mapRuns?.map((m) => m.mapRunArn)).toEqual([mapRunArn]);
    const children = await sfn.send(new ListExecutionsCommand({ mapRunArn }));
    expect(children.executions).toHaveLength(3);

    const history = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: start.executionArn }),
    );
    const types = history.events!.map((e) => e.type);
    expect(types[0]).toBe("ExecutionStarted");
    expect(types).toContain("MapRunStarted");
    expect(types.at(-1)).toBe("ExecutionSucceeded");
    expect(cloud.runtime.stats("Worker").invocations).toBeGreaterThanOrEqual(3);
    expect(cloud.runtime.stats("Worker").maxPeakHeapUsedBytes).toBeGreaterThan(0);
  });

  it("starts the state machine from a PutEvents call through the rule's input transformer", async () => {
    const eb = createEventBridgeClient({
      endpoint: cloud.endpoints.eventbridge,
      region: TEST_REGION,
      credentials: LOCAL_S3_CREDENTIALS,
    });
    const busName = cloud.deployment.physicalId("Bus");
    const res = await eb.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: busName,
            Source: "lakeport.test",
            DetailType: "Export Requested",
            Detail: JSON.stringify({ run: "run-eb" }),
          },
          {
            EventBusName: busName,
            Source: "lakeport.test",
            DetailType: "Export Requested",
            Detail: JSON.stringify({ run: "nope" }),
          },
        ],
      }),
    );
    expect(res.FailedEntryCount).toBe(0);
    expect(res.Entries).toHaveLength(2);
    const exec = await eventually(async () => {
      const list = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn }));
      return list.executions?.find((e) => e.name !== "run-1");
    });
    const done = await waitDone(exec.executionArn!);
    expect(done.status).toBe("SUCCEEDED");
    expect(JSON.parse(done.input!)).toEqual({ run: "run-eb", source: "lakeport.test" });
    const all = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn }));
    expect(all.executions?.filter((e) => e.name !== "run-1")).toHaveLength(1);
  });

  it("emits the execution status change event on failure, which a default-bus rule routes to a Lambda", async () => {
    cloud.runtime.injectFault({ function: "Worker", invocation: "next", kind: "crash" });
    const start = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: machineArn,
        name: "crashing",
        input: JSON.stringify({ run: "crash" }),
      }),
    );
    const done = await waitDone(start.executionArn!);
    expect(done.status).toBe("FAILED");
    expect(done.error).toBe("States.ExceedToleratedFailureThreshold");
    const mapRun = (await sfn.send(new ListMapRunsCommand({ executionArn: start.executionArn })))
      .mapRuns![0]!;
    const children = await sfn.send(
      new ListExecutionsCommand({ mapRunArn: mapRun.mapRunArn, statusFilter: "FAILED" }),
    );
    const failedChild = await sfn.send(
      new DescribeExecutionCommand({ executionArn: children.executions![0]!.executionArn }),
    );
    expect(failedChild.error).toBe("Runtime.ExitError");
    expect(cloud.runtime.stats("Worker").crashes).toBe(1);

    const notified = await eventually(() => text("notified/crashing.json"));
    expect(JSON.parse(notified)).toMatchObject({
      name: "crashing",
      status: "FAILED",
      error: "States.ExceedToleratedFailureThreshold",
    });
    const event = cloud.router.events.find(
      (e) => e.source === "aws.states" && (e.detail as { name: string }).name === "crashing",
    )!;
    expect(event["detail-type"]).toBe("Step Functions Execution Status Change");
    expect(event.resources).toEqual([start.executionArn]);
    expect(Object.keys(event.detail as object)).toEqual([
      "executionArn",
      "stateMachineArn",
      "name",
      "status",
      "startDate",
      "stopDate",
      "input",
      "output",
      "inputDetails",
      "outputDetails",
      "error",
      "cause",
    ]);
  });

  it("stops a running execution", async () => {
    cloud.runtime.injectFault({ function: /Worker/, invocation: "next", kind: "timeout" });
    const start = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: machineArn,
        input: JSON.stringify({ run: "stopped" }),
      }),
    );
    await sfn.send(
      new StopExecutionCommand({
        executionArn: start.executionArn,
        error: "Manual",
        cause: "test",
      }),
    );
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: start.executionArn }));
    expect(d.status).toBe("ABORTED");
    expect(d.error).toBe("Manual");
    const aborted = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: machineArn,
        statusFilter: "ABORTED",
        maxResults: 1,
      }),
    );
    expect(aborted.executions?.[0]?.executionArn).toBe(start.executionArn);
    cloud.runtime.clearFaults();
  });
});
