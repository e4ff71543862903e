// Service integrations against the embedded S3 and DynamoDB, states:startExecution and
// events:putEvents, plus the status change event emitted when an execution ends.
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { EventRouter } from "../../local/eventbridge";
import { StepFunctionsRunner } from "../../local/stepfunctions";
import { testDynamoDbClient, testS3Client, uniqueName } from "../support/clients";

const s3 = testS3Client();
const ddb = testDynamoDbClient();
let bucket: string;
let table: string;

beforeAll(async () => {
  bucket = uniqueName("sfn-int");
  table = uniqueName("sfn-int");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await ddb.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
    }),
  );
});

describe("service integrations", () => {
  it("calls DynamoDB and S3 with the SDK's shapes and names their errors like Step Functions", async () => {
    const router = new EventRouter();
    const r = new StepFunctionsRunner({
      s3,
      dynamodb: ddb,
      events: router,
      emitStatusEvents: false,
    });
    const sm = r.createStateMachine({
      name: "integrations",
      definition: {
        StartAt: "Put",
        States: {
          Put: {
            Type: "Task",
            Resource: "arn:aws:states:::dynamodb:putItem",
            Parameters: { TableName: table, Item: { pk: { S: "a" }, n: { N: "1" } } },
            ResultPath: null,
            Next: "Update",
          },
          Update: {
            Type: "Task",
            Resource: "arn:aws:states:::dynamodb:updateItem",
            Parameters: {
              TableName: table,
              Key: { pk: { S: "a" } },
              UpdateExpression: "SET n = n + :one",
              ExpressionAttributeValues: { ":one": { N: "1" } },
              ReturnValues: "ALL_NEW",
            },
            ResultSelector: { "n.$": "$.Attributes.n.N" },
            ResultPath: "$.updated",
            Next: "Get",
          },
          Get: {
            Type: "Task",
            Resource: "arn:aws:states:::dynamodb:getItem",
            Parameters: { TableName: table, Key: { pk: { S: "a" } } },
            ResultSelector: { "n.$": "$.Item.n.N" },
            ResultPath: "$.got",
            Next: "Conditional",
          },
          Conditional: {
            Type: "Task",
            Resource: "arn:aws:states:::dynamodb:putItem",
            Parameters: {
              TableName: table,
              Item: { pk: { S: "a" } },
              ConditionExpression: "attribute_not_exists(pk)",
            },
            Catch: [
              {
                ErrorEquals: ["DynamoDB.ConditionalCheckFailedException"],
                ResultPath: "$.conditional",
                Next: "PutObject",
              },
            ],
            Next: "PutObject",
          },
          PutObject: {
            Type: "Task",
            Resource: "arn:aws:states:::aws-sdk:s3:putObject",
            Parameters: { Bucket: bucket, Key: "a.json", "Body.$": "States.JsonToString($.got)" },
            ResultPath: null,
            Next: "GetObject",
          },
          GetObject: {
            Type: "Task",
            Resource: "arn:aws:states:::aws-sdk:s3:getObject",
            Parameters: { Bucket: bucket, Key: "a.json" },
            ResultSelector: { "body.$": "States.StringToJson($.Body)" },
            ResultPath: "$.object",
            Next: "List",
          },
          List: {
            Type: "Task",
            Resource: "arn:aws:states:::aws-sdk:s3:listObjectsV2",
            Parameters: { Bucket: bucket },
            ResultSelector: { "keys.$": "$.Contents[*].Key" },
            ResultPath: "$.listed",
            Next: "Missing",
          },
          Missing: {
            Type: "Task",
            Resource: "arn:aws:states:::aws-sdk:s3:getObject",
            Parameters: { Bucket: bucket, Key: "missing" },
            Catch: [
              { ErrorEquals: ["S3.NoSuchKeyException"], ResultPath: "$.missing", Next: "Delete" },
            ],
            Next: "Delete",
          },
          Delete: {
            Type: "Task",
            Resource: "arn:aws:states:::dynamodb:deleteItem",
            Parameters: { TableName: table, Key: { pk: { S: "a" } } },
            ResultPath: null,
            Next: "Emit",
          },
          Emit: {
            Type: "Task",
            Resource: "arn:aws:states:::events:putEvents",
            Parameters: {
              Entries: [
                { Source: "lakeport.test", DetailType: "Done", Detail: { "n.$": "$.got.n" } },
              ],
            },
            ResultSelector: { "failed.$": "$.FailedEntryCount" },
            ResultPath: "$.emitted",
            End: true,
          },
        },
      },
    });
    const { executionArn } = await r.startExecution({
      stateMachineArn: sm.stateMachineArn,
      input: "{}",
    });
    const exec = await r.waitForExecution(executionArn);
    expect(exec.status).toBe("SUCCEEDED");
    const out = JSON.parse(exec.output!);
    expect(out.updated).toEqual({ n: "2" });
    expect(out.got).toEqual({ n: "2" });
    expect(out.conditional.Error).toBe("DynamoDB.ConditionalCheckFailedException");
    expect(out.object).toEqual({ body: { n: "2" } });
    expect(out.listed.keys).toEqual(["a.json"]);
    expect(out.missing.Error).toBe("S3.NoSuchKeyException");
    expect(out.emitted).toEqual({ failed: 0 });
    expect(router.events.at(-1)).toMatchObject({
      source: "lakeport.test",
      "detail-type": "Done",
      detail: { n: "2" },
    });
  });

  it("starts another execution with states:startExecution and emits status change events on the default bus", async () => {
    const router = new EventRouter();
    const r = new StepFunctionsRunner({ events: router });
    router.setDeps({ startExecution: (a) => r.startExecution(a) });
    const child = r.createStateMachine({
      name: "child",
      definition: {
        StartAt: "F",
        States: { F: { Type: "Fail", Error: "ChildError", Cause: "child failed" } },
      },
    });
    const parent = r.createStateMachine({
      name: "parent",
      definition: {
        StartAt: "Start",
        States: {
          Start: {
            Type: "Task",
            Resource: "arn:aws:states:::states:startExecution",
            Parameters: {
              StateMachineArn: child.stateMachineArn,
              Name: "child-1",
              Input: { "from.$": "$$.Execution.Name" },
            },
            End: true,
          },
        },
      },
    });
    const { executionArn } = await r.startExecution({
      stateMachineArn: parent.stateMachineArn,
      name: "parent-1",
      input: "{}",
    });
    const exec = await r.waitForExecution(executionArn);
    expect(exec.status).toBe("SUCCEEDED");
    const childArn = JSON.parse(exec.output!).ExecutionArn;
    expect(childArn).toBe("arn:aws:states:us-east-1:000000000000:execution:child:child-1");
    const childExec = await r.waitForExecution(childArn);
    expect(childExec.status).toBe("FAILED");
    expect(JSON.parse(childExec.input)).toEqual({ from: "parent-1" });
    const statusEvents = router.events.filter((e) => e.source === "aws.states");
    const failed = statusEvents.find((e) => (e.detail as { name: string }).name === "child-1")!;
    expect(failed).toMatchObject({
      version: "0",
      "detail-type": "Step Functions Execution Status Change",
      account: "000000000000",
      region: "us-east-1",
      resources: [childArn],
      detail: {
        executionArn: childArn,
        stateMachineArn: child.stateMachineArn,
        name: "child-1",
        status: "FAILED",
        startDate: childExec.startDate.getTime(),
        stopDate: childExec.stopDate!.getTime(),
        input: '{"from":"parent-1"}',
        output: null,
        inputDetails: { included: true },
        outputDetails: null,
        error: "ChildError",
        cause: "child failed",
      },
    });
    const succeeded = statusEvents.find((e) => (e.detail as { name: string }).name === "parent-1")!;
    expect((succeeded.detail as { status: string; output: string }).status).toBe("SUCCEEDED");
    expect(JSON.parse((succeeded.detail as { output: string }).output).ExecutionArn).toBe(childArn);
  });

  it("emits exactly one ABORTED status change event when an execution is stopped", async () => {
    const router = new EventRouter();
    const r = new StepFunctionsRunner({ events: router });
    const sm = r.createStateMachine({
      name: "waits",
      definition: { StartAt: "W", States: { W: { Type: "Wait", Seconds: 60, End: true } } },
    });
    const { executionArn } = await r.startExecution({
      stateMachineArn: sm.stateMachineArn,
      input: "{}",
    });
    r.stopExecution({ executionArn, error: "Stopped", cause: "test" });
    await r.waitForExecution(executionArn);
    await new Promise((res) => setTimeout(res, 20));
    const events = router.events.filter(
      (e) => (e.detail as { executionArn: string }).executionArn === executionArn,
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.detail).toMatchObject({
      status: "ABORTED",
      error: "Stopped",
      cause: "test",
      output: null,
    });
  });
});
