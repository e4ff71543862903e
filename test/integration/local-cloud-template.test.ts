// deployLocally on a hand-written cloud assembly: intrinsic functions, conditions, tables
// with GSIs and TTL, buckets, state machines with substitutions, and the resource report.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DescribeTableCommand, DescribeTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { deployLocally, type LocalDeployment, TemplateError } from "../../local/cloud";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/server";
import { TEST_REGION, testDynamoDbClient, testS3Client, uniqueName } from "../support/clients";

const tableName = uniqueName("tpl-table");
const template = {
  Parameters: {
    BootstrapVersion: {
      Type: "AWS::SSM::Parameter::Value<String>",
      Default: "/cdk-bootstrap/hnb659fds/version",
    },
    Stage: { Type: "String", Default: "dev" },
  },
  Conditions: {
    IsProd: { "Fn::Equals": [{ Ref: "Stage" }, "prod"] },
    NotProd: { "Fn::Not": [{ Condition: "IsProd" }] },
  },
  Resources: {
    Work1A2B3C4D: { Type: "AWS::S3::Bucket" },
    ProdOnly: { Type: "AWS::S3::Bucket", Condition: "IsProd" },
    State5E6F7A8B: {
      Type: "AWS::DynamoDB::Table",
      Properties: {
        TableName: tableName,
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
          { AttributeName: "gsi1pk", AttributeType: "S" },
        ],
        BillingMode: "PAY_PER_REQUEST",
        GlobalSecondaryIndexes: [
          {
            IndexName: "gsi1",
            KeySchema: [{ AttributeName: "gsi1pk", KeyType: "HASH" }],
            Projection: { ProjectionType: "ALL" },
          },
        ],
        TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
      },
    },
    Role1: { Type: "AWS::IAM::Role", Properties: { AssumeRolePolicyDocument: {} } },
    Queue1: { Type: "AWS::SQS::Queue", Properties: { VisibilityTimeout: 60 } },
    Stream1: { Type: "AWS::Kinesis::Stream" },
    Machine9: {
      Type: "AWS::StepFunctions::StateMachine",
      Properties: {
        RoleArn: { "Fn::GetAtt": ["Role1", "Arn"] },
        DefinitionString: {
          "Fn::Join": [
            "",
            [
              '{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"table":"',
              { Ref: "State5E6F7A8B" },
              '","bucketArn":"',
              { "Fn::GetAtt": ["Work1A2B3C4D", "Arn"] },
              '","sub":"',
              {
                "Fn::Sub": [
                  // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax
                  "${AWS::Region}/${AWS::AccountId}/${AWS::Partition}/${AWS::URLSuffix}/${Work1A2B3C4D}/${State5E6F7A8B.Arn}/${!Literal}/${Extra}",
                  { Extra: "x" },
                ],
              },
              '","select":"',
              { "Fn::Select": [1, { "Fn::Split": [",", "a,b,c"] }] },
              '","stage":"',
              { "Fn::If": ["NotProd", "not-prod", "prod"] },
              // biome-ignore lint/suspicious/noTemplateCurlyInString: DefinitionSubstitutions syntax
              '","subst":"${Subst}"},"End":true}}}',
            ],
          ],
        },
        DefinitionSubstitutions: { Subst: "substituted" },
      },
    },
  },
  Outputs: { MachineArn: { Value: { Ref: "Machine9" } } },
};
let dir: string;
let deployment: LocalDeployment;

function writeAssembly(d: string, t: unknown) {
  mkdirSync(d, { recursive: true });
  writeFileSync(
    path.join(d, "manifest.json"),
    JSON.stringify({
      version: "48.0.0",
      artifacts: {
        Tpl: {
          type: "aws:cloudformation:stack",
          properties: { templateFile: "Tpl.template.json" },
        },
      },
    }),
  );
  writeFileSync(path.join(d, "Tpl.template.json"), JSON.stringify(t));
}

const opts = () => ({
  s3: { endpoint: inject("s3Endpoint"), credentials: LOCAL_S3_CREDENTIALS, region: TEST_REGION },
  dynamodbEndpoint: inject("dynamoDbEndpoint"),
});

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "lakeport-tpl-"));
  writeAssembly(dir, template);
  deployment = await deployLocally(dir, opts());
});

afterAll(async () => {
  await deployment?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("deployLocally", () => {
  it("creates tables with their GSIs and TTL, and buckets", async () => {
    const ddb = testDynamoDbClient();
    const t = await ddb.send(new DescribeTableCommand({ TableName: tableName }));
    expect(t.Table?.KeySchema).toEqual([
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    expect(t.Table?.GlobalSecondaryIndexes?.map((g) => g.IndexName)).toEqual(["gsi1"]);
    const ttl = await ddb.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(ttl.TimeToLiveDescription?.AttributeName).toBe("ttl");
    await testS3Client().send(new HeadBucketCommand({ Bucket: deployment.physicalId("Work") }));
  });

  it("resolves Ref, GetAtt, Join, Sub (pseudo parameters, attributes, escapes, variables), Select, Split, If and substitutions", async () => {
    const sm = deployment.arn("Machine9");
    expect(deployment.outputs.MachineArn).toBe(sm);
    const { executionArn } = await deployment.runner.startExecution({
      stateMachineArn: sm,
      input: "{}",
    });
    const exec = await deployment.runner.waitForExecution(executionArn);
    const bucket = deployment.physicalId("Work");
    expect(JSON.parse(exec.output!)).toEqual({
      table: tableName,
      bucketArn: `arn:aws:s3:::${bucket}`,
      sub: `us-east-1/000000000000/aws/amazonaws.com/${bucket}/arn:aws:dynamodb:us-east-1:000000000000:table/${tableName}/\${Literal}/x`,
      select: "b",
      stage: "not-prod",
      subst: "substituted",
    });
    expect(deployment.runner.describeStateMachine(sm).roleArn).toBe(
      "arn:aws:iam::000000000000:role/Tpl-Role1",
    );
  });

  it("reports ignored and unsupported resource types and skips resources whose condition is false", () => {
    expect(deployment.ignored).toEqual([{ logicalId: "Role1", type: "AWS::IAM::Role" }]);
    expect(deployment.unsupported).toEqual([
      { logicalId: "Stream1", type: "AWS::Kinesis::Stream" },
    ]);
    // A queue is deployed: its Ref is its URL, its attributes as CloudFormation gives them.
    const url = deployment.physicalId("Queue1");
    expect(url).toMatch(/\/000000000000\/Tpl-Queue1-[0-9a-f]{8}$/);
    expect(deployment.queues.attributes(url)).toMatchObject({
      VisibilityTimeout: "60",
      QueueArn: deployment.arn("Queue1"),
    });
    expect(deployment.resources.map((r) => r.logicalId)).not.toContain("ProdOnly");
  });

  it("fails loudly on an unsupported definition or intrinsic", async () => {
    const bad = structuredClone(template) as typeof template & {
      Resources: Record<string, unknown>;
    };
    bad.Resources.State5E6F7A8B.Properties.TableName = uniqueName("tpl-bad");
    bad.Resources.Machine9.Properties.DefinitionString = {
      "Fn::Join": [
        "",
        ['{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}'],
      ],
    } as never;
    const d1 = path.join(dir, "bad1");
    writeAssembly(d1, bad);
    await expect(deployLocally(d1, opts())).rejects.toThrow(/JSONata/);
    const bad2 = structuredClone(template) as {
      Resources: Record<string, { Properties?: Record<string, unknown> }>;
    };
    bad2.Resources.State5E6F7A8B!.Properties!.TableName = uniqueName("tpl-bad");
    bad2.Resources.Machine9!.Properties!.DefinitionString = { "Fn::ImportValue": "x" };
    const d2 = path.join(dir, "bad2");
    writeAssembly(d2, bad2);
    await expect(deployLocally(d2, opts())).rejects.toThrow(TemplateError);
  });
});
