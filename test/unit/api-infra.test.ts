// The storage and API constructs synthesize, with the properties the design relies on.
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as events from "aws-cdk-lib/aws-events";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { beforeAll, describe, expect, it, test } from "vitest";
import { Api } from "../../infra/constructs/api";
import { Storage } from "../../infra/constructs/storage";
import type { ApiDeps } from "../../lambdas/api/deps";
import { createExportHandler } from "../../lambdas/api/handlers/export";
import { createGcHandler } from "../../lambdas/api/handlers/gc";
import { ROUTES } from "../../lambdas/api/routes";
import { WebhookDeliveryStore } from "../../lambdas/api/webhook-store";
import { ExportStore } from "../../lambdas/export/adapters/export-store";
import { DynamoExportProgressStore } from "../../lambdas/export/adapters/progress-store";
import { BackupLocationStore } from "../../lambdas/gc/adapters/backup-location-store";
import { GcStore } from "../../lambdas/gc/adapters/gc-store";
import { KIND_INDEX, TTL_ATTRIBUTE } from "../../lambdas/shared/dynamodb/table";
import { FakeEventPublisher, FakeLakeFs, FakeWorkflowStarter } from "../support/api-fakes";
import {
  arnOf,
  dynamoRequests,
  leadingKeyRequest,
  partitionCalls,
  recordingTable,
  refused,
  roleStatementsOf,
} from "../support/iam-policy";

let template: Template;

beforeAll(() => {
  // Skip esbuild bundling here (assets are staged as-is): synthesis is what is under test.
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "ApiTest", {
    env: { account: "123456789012", region: "eu-west-1" },
  });
  const storage = new Storage(stack, "Storage");
  const arn = (name: string) => `arn:aws:states:eu-west-1:123456789012:stateMachine:${name}`;
  new Api(stack, "Api", {
    table: storage.table,
    eventBus: new events.EventBus(stack, "Bus"),
    exportStateMachine: sfn.StateMachine.fromStateMachineArn(stack, "ExportSm", arn("export")),
    gcStateMachine: sfn.StateMachine.fromStateMachineArn(stack, "GcSm", arn("gc")),
    lakeFsEndpoint: "https://lakefs.example.com",
    lakeFsSecret: new secrets.Secret(stack, "LakeFs"),
    webhookSecret: new secrets.Secret(stack, "Webhook"),
    exportBucketNames: ["exports-a", "exports-b"],
    workBucketName: storage.workBucket.bucketName,
  });
  template = Template.fromStack(stack);
});

test("table: on-demand, PITR, encrypted, TTL, the shared key schema", () => {
  template.hasResourceProperties("AWS::DynamoDB::Table", {
    BillingMode: "PAY_PER_REQUEST",
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    SSESpecification: { SSEEnabled: true },
    TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    GlobalSecondaryIndexes: [Match.objectLike({ IndexName: KIND_INDEX.name })],
  });
});

test("work bucket: encrypted, public access blocked, TLS only, temporary shards expire", () => {
  template.hasResourceProperties("AWS::S3::Bucket", {
    BucketEncryption: Match.objectLike({}),
    PublicAccessBlockConfiguration: {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    },
    LifecycleConfiguration: {
      Rules: Match.arrayWith([
        Match.objectLike({ Prefix: "tmp/", ExpirationInDays: 7, Status: "Enabled" }),
      ]),
    },
  });
  template.hasResourceProperties("AWS::S3::BucketPolicy", {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Effect: "Deny",
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        }),
      ]),
    },
  });
});

test("every route exists; IAM auth everywhere but the webhook", () => {
  const methods = template.findResources("AWS::ApiGateway::Method");
  const byAuth = Object.values(methods).map(
    (m) => (m as { Properties: { HttpMethod: string; AuthorizationType: string } }).Properties,
  );
  expect(byAuth.filter((m) => m.HttpMethod !== "OPTIONS")).toHaveLength(ROUTES.length);
  expect(byAuth.filter((m) => m.AuthorizationType === "NONE")).toHaveLength(1);
  expect(byAuth.filter((m) => m.AuthorizationType === "AWS_IAM")).toHaveLength(ROUTES.length - 1);
  template.hasResourceProperties("AWS::ApiGateway::Resource", { PathPart: "continuous-export" });
  template.hasResourceProperties("AWS::ApiGateway::Resource", { PathPart: "{runId}" });
  template.hasResourceProperties("AWS::ApiGateway::Model", {
    Schema: Match.objectLike({ additionalProperties: false, required: ["exportPath"] }),
  });
});

test("stage: throttling and access logs", () => {
  template.hasResourceProperties("AWS::ApiGateway::Stage", {
    StageName: "prod",
    AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
    MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 })],
  });
});

test("functions: Node.js 22 on ARM64 with their environment", () => {
  const fns = Object.values(template.findResources("AWS::Lambda::Function")).map(
    (f) =>
      (
        f as {
          Properties: {
            Runtime: string;
            Architectures: string[];
            Environment?: { Variables: Record<string, unknown> };
          };
        }
      ).Properties,
  );
  const api = fns.filter((f) => f.Runtime === "nodejs22.x");
  expect(api).toHaveLength(4);
  for (const f of api) expect(f.Architectures).toEqual(["arm64"]);
  const vars = api.map((f) =>
    Object.keys(f.Environment?.Variables ?? {})
      .sort()
      .join(","),
  );
  expect(vars).toContain(
    "LAKEFS_ENDPOINT,LAKEFS_SECRET_ARN,NODE_OPTIONS,TABLE_NAME,EXPORT_STATE_MACHINE_ARN,EXPORT_BUCKETS,WORK_BUCKET,LOG_LEVEL,POWERTOOLS_SERVICE_NAME"
      .split(",")
      .sort()
      .join(","),
  );
  // The export routes refuse export paths outside the deployment's exportBuckets.
  const exportFn = api.find((f) => f.Environment?.Variables.EXPORT_BUCKETS !== undefined);
  expect(exportFn?.Environment?.Variables.EXPORT_BUCKETS).toBe("exports-a,exports-b");
  // ... and in Lakeport's own work bucket (its name only: the API gets no grant on it).
  const workBucketId = Object.keys(template.findResources("AWS::S3::Bucket")).find((id) =>
    id.startsWith("StorageWork"),
  );
  expect(workBucketId).toBeDefined();
  expect(exportFn?.Environment?.Variables.WORK_BUCKET).toEqual({ Ref: workBucketId });
  expect(vars).toContain(
    "EVENT_BUS_NAME,LOG_LEVEL,NODE_OPTIONS,POWERTOOLS_SERVICE_NAME,TABLE_NAME,WEBHOOK_SECRET_ARN",
  );
});

test("least privilege: the webhook may only put/delete items and put events", () => {
  const policies = Object.values(template.findResources("AWS::IAM::Policy")).map((p) =>
    JSON.stringify(p),
  );
  const webhook = policies.find((p) => p.includes("events:PutEvents"));
  expect(webhook).toBeDefined();
  expect(webhook).toContain("dynamodb:PutItem");
  expect(webhook).not.toContain("dynamodb:Scan");
  expect(webhook).not.toContain("states:StartExecution");
  const exporter = policies.find(
    (p) => p.includes("states:StartExecution") && p.includes("stateMachine:export"),
  );
  expect(exporter).toContain("states:DescribeMapRun");
  expect(exporter).not.toContain("events:PutEvents");
});

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
/** The statements of the API function whose environment has `envName`. */
function statementsOfFunctionWith(envName: string): Statement[] {
  const fns = template.findResources("AWS::Lambda::Function");
  const [, fn] = Object.entries(fns).find(([, f]) =>
    Object.keys(
      (f as { Properties: { Environment?: { Variables: Record<string, unknown> } } }).Properties
        .Environment?.Variables ?? {},
    ).includes(envName),
  )!;
  const role = (fn as { Properties: { Role: { "Fn::GetAtt": [string, string] } } }).Properties.Role[
    "Fn::GetAtt"
  ][0];
  return Object.values(template.findResources("AWS::IAM::Policy"))
    .map(
      (p) =>
        (
          p as {
            Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } };
          }
        ).Properties,
    )
    .filter((p) => p.Roles.some((r) => r.Ref === role))
    .flatMap((p) => p.PolicyDocument.Statement);
}
const actionsOf = (st: Statement) => ([] as string[]).concat(st.Action);

test("least privilege: the export routes may check conditions on the repository's items (transactions)", () => {
  // ExportStore replaceConfig/deleteConfig/compareAndSetState put a ConditionCheck in their
  // TransactWriteItems: IAM authorizes it as dynamodb:ConditionCheckItem (else AccessDenied).
  const checks = statementsOfFunctionWith("EXPORT_BUCKETS").filter((st) =>
    actionsOf(st).includes("dynamodb:ConditionCheckItem"),
  );
  expect(checks.map((st) => ({ actions: actionsOf(st), condition: st.Condition }))).toEqual([
    {
      actions: ["dynamodb:ConditionCheckItem"],
      condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["REPO#*"] } },
    },
  ]);
});

test("least privilege: the GC routes touch only repository and lease items, read export paths, and send no ConditionCheck; the webhook writes only its dedupe records", () => {
  // GcStore's transactions are Put, Update and Delete items only.
  const gc = statementsOfFunctionWith("GC_STATE_MACHINE_ARN").filter((st) =>
    actionsOf(st).some((a) => a.startsWith("dynamodb:")),
  );
  // GcStore touches a repository's rules, runs, marks (REPO#) and its lease (GCLEASE#) only.
  expect(gc.map((st) => ({ actions: actionsOf(st), condition: st.Condition }))).toEqual([
    {
      actions: [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
      ],
      condition: {
        "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["REPO#*", "GCLEASE#*"] },
      },
    },
    // The backup location check reads the export paths: the path claims' partition and the
    // configurations' kind index, read-only.
    {
      actions: ["dynamodb:Query"],
      condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["EXPORTPATHS"] } },
    },
    {
      actions: ["dynamodb:Query"],
      condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["export-config"] } },
    },
    // The backup location routes claim, list and release GC backup locations (one partition).
    {
      actions: [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
      ],
      condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["GCBACKUPS"] } },
    },
  ]);
  // WebhookDeliveryStore: claim (PutItem), read back a claim not won (GetItem: without it a
  // repeated delivery answered 500 on AWS, where IAM applies) and release (DeleteItem) of
  // WEBHOOK# items.
  const table = statementsOfFunctionWith("WEBHOOK_SECRET_ARN").filter((st) =>
    actionsOf(st).some((a) => a.startsWith("dynamodb:")),
  );
  expect(table.map((st) => ({ actions: actionsOf(st), condition: st.Condition }))).toEqual([
    {
      actions: ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem"],
      condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["WEBHOOK#*"] } },
    },
  ]);
});

test("the webhook function's role allows every DynamoDB call its delivery store makes", async () => {
  // The embedded environment applies no IAM: a call the role does not allow fails only on AWS.
  const sent = new Set<string>();
  const doc = {
    send: async (command: { constructor: { name: string } }) => {
      sent.add(command.constructor.name);
      if (command.constructor.name === "PutCommand") {
        throw new ConditionalCheckFailedException({ message: "held", $metadata: {} });
      }
      return { Item: { claimToken: "another delivery's" } };
    },
  };
  const store = new WebhookDeliveryStore(doc as never, "table");
  expect(await store.claim("k", 1_000)).toBe(false);
  await store.release("k");
  const iamAction: Record<string, string> = {
    PutCommand: "dynamodb:PutItem",
    GetCommand: "dynamodb:GetItem",
    DeleteCommand: "dynamodb:DeleteItem",
  };
  expect([...sent].sort()).toEqual(["DeleteCommand", "GetCommand", "PutCommand"]);
  const granted = statementsOfFunctionWith("WEBHOOK_SECRET_ARN").flatMap(actionsOf);
  for (const command of sent) expect(granted, command).toContain(iamAction[command]);
});

describe("the export routes' table grants", () => {
  const tableArn = () => arnOf(template, "AWS::DynamoDB::Table", "StorageState");
  const exportRole = () => roleStatementsOf(template, "ApiExportFunction");
  const event = (httpMethod: string, route: string, body?: unknown) =>
    ({
      httpMethod,
      resource: `/api/v1/repositories/{repository}/branches/{branch}/${route}`,
      pathParameters: { repository: "repo1", branch: "main" },
      headers: { "content-type": "application/json" },
      body: body === undefined ? null : JSON.stringify(body),
    }) as never;

  it("allow every call the routes make: store, status, run, repair, delete", async () => {
    const { doc, sent } = recordingTable(otherBranchExport());
    const lakefs = new FakeLakeFs().addRepository("repo1", "s3://data/repo1", { main: "c1" });
    const deps = recordingDeps(doc, lakefs);
    const handler = createExportHandler(() => deps);
    const config = { exportPath: "s3://exports-a/repo1/", isContinuous: true };
    const answers = [
      await handler(event("PUT", "continuous-export", config)),
      await handler(event("GET", "export-status")),
      await handler(event("POST", "export-hook")),
      await handler(event("POST", "repair-export", { full: true })),
      await handler(event("DELETE", "continuous-export")),
    ];
    // Stored and started, read with its counts, further starts refused while it runs, deleted.
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 409, 409, 204]);
    const requests = sent.flatMap((c) => dynamoRequests(c, tableArn()));
    // Every partition and kind the routes use, each action on it.
    expect(partitionCalls(requests)).toEqual([
      "dynamodb:ConditionCheckItem REPO",
      "dynamodb:DeleteItem EXPORTPATHS",
      "dynamodb:DeleteItem REPO",
      "dynamodb:GetItem EXPORTPROGRESS",
      "dynamodb:GetItem REPO",
      "dynamodb:PutItem EXPORTPATHS",
      "dynamodb:PutItem REPO",
      "dynamodb:Query EXPORTPATHS",
      "dynamodb:Query GCBACKUPS",
      "dynamodb:Query export-config",
      "dynamodb:UpdateItem REPO",
    ]);
    expect(refused(exportRole(), requests)).toEqual([]);
  });

  it("refuse every other partition and kind", () => {
    const table = tableArn();
    const leading = leadingKeyRequest(table);
    const outside = [
      leading("GetItem", "GCLEASE#repo1"),
      leading("PutItem", "WEBHOOK#d1"),
      leading("UpdateItem", "EXPORTPROGRESS#e1"),
      leading("PutItem", "EXPORTPATHSX"),
      leading("Query", "REPO#repo1"),
      leading("Query", "gc-run", `${table}/index/byKind`),
      leading("Query", "export-state", `${table}/index/byKind`),
      { action: "dynamodb:Scan", resource: table },
    ];
    expect(refused(exportRole(), outside)).toEqual(outside);
  });
});

describe("the GC routes' table grants", () => {
  const tableArn = () => arnOf(template, "AWS::DynamoDB::Table", "StorageState");
  const gcRole = () => roleStatementsOf(template, "ApiGcFunction");
  const event = (httpMethod: string, query?: Record<string, string>, body?: unknown) =>
    ({
      httpMethod,
      resource: "/api/v1/repositories/{repository}/gc/backup-locations",
      pathParameters: { repository: "repo1" },
      queryStringParameters: query ?? null,
      headers: { "content-type": "application/json" },
      body: body === undefined ? null : JSON.stringify(body),
    }) as never;

  it("allow every call the backup location routes make: claim, list, release", async () => {
    const { doc, sent } = recordingTable([
      ...otherBranchExport(),
      { pk: "REPO#repo1", sk: "GCMARK#m1", repository: "repo1", markId: "m1" },
    ]);
    const lakefs = new FakeLakeFs().addRepository("repo1", "s3://data/repo1", { main: "c1" });
    const deps = recordingDeps(doc, lakefs);
    const handler = createGcHandler(() => deps);
    const location = "s3://backups/repo1/m1";
    const answers = [
      await handler(event("POST", undefined, { location, mark_id: "m1" })),
      await handler(event("GET")),
      await handler(event("DELETE", { location })),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([201, 200, 204]);
    expect(JSON.parse(answers[1]?.body ?? "{}").results).toEqual([
      expect.objectContaining({ repository: "repo1", location, mark_id: "m1" }),
    ]);
    const requests = sent.flatMap((c) => dynamoRequests(c, tableArn()));
    expect(partitionCalls(requests)).toEqual([
      "dynamodb:DeleteItem GCBACKUPS",
      "dynamodb:GetItem REPO",
      "dynamodb:PutItem GCBACKUPS",
      "dynamodb:Query EXPORTPATHS",
      "dynamodb:Query GCBACKUPS",
      "dynamodb:Query export-config",
    ]);
    expect(refused(gcRole(), requests)).toEqual([]);
  });
});

/** The API's dependencies over a recording table (the routes' DynamoDB calls) and a fake lakeFS. */
function recordingDeps(doc: ReturnType<typeof recordingTable>["doc"], lakefs: FakeLakeFs): ApiDeps {
  return {
    stores: {
      exports: new ExportStore(doc as never, "t"),
      exportProgress: new DynamoExportProgressStore(doc as never, "t"),
      gc: new GcStore(doc as never, "t"),
      backupLocations: new BackupLocationStore(doc as never, "t"),
      webhooks: new WebhookDeliveryStore(doc as never, "t"),
    },
    lakefs: lakefs.asLakeFsApi(),
    workflows: new FakeWorkflowStarter(),
    events: new FakeEventPublisher(),
    exportStateMachineArn: "arn:aws:states:eu-west-1:123456789012:stateMachine:export",
    gcStateMachineArn: "arn:aws:states:eu-west-1:123456789012:stateMachine:gc",
    exportBuckets: "any",
    webhookToken: async () => undefined,
    now: () => new Date("2027-01-01T00:00:00.000Z"),
  };
}

/** Another branch's configuration and path claim, for the routes' overlap checks to read. */
function otherBranchExport() {
  const other = { repository: "repo2", branch: "main", exportPath: "s3://exports-a/other/" };
  return [
    { pk: "REPO#repo2", sk: "EXPORT#main#CONFIG", kind: "export-config", ...other },
    { pk: "EXPORTPATHS", sk: "repo2#main", ...other },
  ];
}
