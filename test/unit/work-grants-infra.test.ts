// The export and GC workflows' grants on the state table and the work bucket, checked against
// the calls the real code sends (recording clients; the embedded environment applies no IAM):
// the stuck check by partition and kind, each function's work bucket files by prefix.
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { ExportWorkflow } from "../../infra/constructs/export";
import { GcWorkflow } from "../../infra/constructs/gc";
import { Storage } from "../../infra/constructs/storage";
import { ExportStore } from "../../lambdas/export/adapters/export-store";
import { closeWriters, registerWriter } from "../../lambdas/export/app/export-writers";
import { startExport } from "../../lambdas/export/app/start-export";
import { checkStuckExports } from "../../lambdas/export/app/stuck-exports";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import { S3GcObjectStore } from "../../lambdas/gc/adapters/s3-object-store";
import { gcWorkKeys } from "../../lambdas/gc/domain/paths";
import { S3ObjectStore } from "../../lambdas/shared/aws/s3-object-store";
import { FakeLakeFs, FakeWorkflowStarter } from "../support/api-fakes";
import {
  arnOf,
  dynamoRequests,
  type IamRequest,
  leadingKeyRequest,
  missingKeyRead,
  recordingS3,
  recordingTable,
  refused,
  roleStatementsOf,
  s3Requests,
} from "../support/iam-policy";

import { workflowPropsOf } from "../support/workflow-props";

let template: Template;

beforeAll(() => {
  // No esbuild bundling: the template is what this test reads.
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "WorkGrants");
  const storage = new Storage(stack, "Storage");
  const common = workflowPropsOf(stack, storage);
  new ExportWorkflow(stack, "Export", common);
  new GcWorkflow(stack, "Gc", { ...common, maxMarkAgeHours: 24 });
  template = Template.fromStack(stack);
}, 120_000);

const tableArn = () => arnOf(template, "AWS::DynamoDB::Table", "StorageState");
const bucketArn = () => arnOf(template, "AWS::S3::Bucket", "StorageWork");
const callsOf = (requests: IamRequest[]) =>
  [
    ...new Set(
      requests.map((r) => `${r.action} ${r.context?.["dynamodb:LeadingKeys"]}`.split("#")[0]),
    ),
  ].sort();

describe("the stuck check's table grants", () => {
  it("allow its calls: list the export states, fail a stuck export, start one as the watchdog would", async () => {
    const { doc, sent } = recordingTable();
    const exports = new ExportStore(doc as never, "t");
    const lakefs = new FakeLakeFs().addRepository("repo1", "s3://lake-data/repo1", {
      main: "c1",
      dev: "c2",
    });
    const startDeps = {
      exports,
      lakefs: lakefs.asLakeFsApi(),
      workflows: new FakeWorkflowStarter(),
      exportStateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:export",
      now: () => new Date("2027-01-01T00:00:00.000Z"),
    };
    for (const branch of ["main", "dev"]) {
      await exports.putConfig({
        repository: "repo1",
        branch,
        exportPath: `s3://lake-exports/repo1/${branch}/`,
        isContinuous: true,
        lastKeysInPrefixRegexp: [],
        configVersion: 1,
        updatedAt: "2027-01-01T00:00:00.000Z",
      } as never);
    }
    // A start (the stuck check's follow-up and missed-head starts are this one) ...
    expect(
      (await startExport(startDeps, { repository: "repo1", branch: "main", trigger: "event" }))
        .status,
    ).toBe("started");
    sent.length = 0;
    // ... and a day later the check finds it stuck, without an execution, and fails it.
    const result = await checkStuckExports({
      exports,
      executions: { lookup: async () => undefined },
      exportStateMachineArn: startDeps.exportStateMachineArn,
      now: () => new Date("2027-01-02T00:00:00.000Z"),
    });
    expect(result.inProgress).toBe(1);
    expect(result.markedFailed).toBe(1);
    // The start it makes of a lost follow-up or a missed head is the same start.
    const next = await startExport(startDeps, {
      repository: "repo1",
      branch: "dev",
      trigger: "event",
    });
    expect(next.status).toBe("started");
    const requests = sent.flatMap((c) => dynamoRequests(c, tableArn()));
    expect(callsOf(requests)).toEqual([
      "dynamodb:ConditionCheckItem REPO",
      "dynamodb:GetItem REPO",
      "dynamodb:PutItem REPO",
      "dynamodb:Query export-state",
      "dynamodb:UpdateItem REPO",
    ]);
    expect(refused(roleStatementsOf(template, "ExportStuckCheckFunction"), requests)).toEqual([]);
  });

  it("refuse every other partition and kind", () => {
    const table = tableArn();
    const leading = leadingKeyRequest(table);
    const outside = [
      leading("GetItem", "GCLEASE#repo1"),
      leading("UpdateItem", "EXPORTPROGRESS#e1"),
      leading("PutItem", "EXPORTPATHS"),
      leading("PutItem", "WEBHOOK#d1"),
      leading("Query", "REPO#repo1"),
      leading("Query", "gc-run", `${table}/index/byKind`),
      leading("Query", "export-config", `${table}/index/byKind`),
    ];
    const role = roleStatementsOf(template, "ExportStuckCheckFunction");
    expect(refused(role, outside)).toEqual(outside);
  });
});

describe("the work bucket grants", () => {
  const object = (action: string, key: string) => ({
    action: `s3:${action}`,
    resource: `${bucketArn()}/${key}`,
  });

  it("let the export steps read and write their export's files, and a missing one reads 404", async () => {
    const { client, sent } = recordingS3();
    const store = new S3ObjectStore(client as never);
    const deps = { store, workBucket: "work", now: () => new Date() };
    // A copy batch records itself as a writer; the status step closes the export's writers.
    expect(await registerWriter(deps as never, "exp1", "copy")).not.toBe("closed");
    await closeWriters(deps as never, "exp1");
    expect(await store.getText("work", exportWorkKeys("exp1").planResult)).toBeUndefined();
    const requests = sent.flatMap((c) => s3Requests(c, bucketArn()));
    expect(new Set(requests.map((r) => r.action))).toEqual(
      new Set(["s3:PutObject", "s3:ListBucket", "s3:GetObject"]),
    );
    for (const fn of ["Plan", "Copy", "Markers", "ManifestGroup", "Status"]) {
      const role = roleStatementsOf(template, `Export${fn}Function`);
      expect(refused(role, requests), fn).toEqual([]);
      expect(refused(role, [missingKeyRead(bucketArn())]), fn).toEqual([]);
    }
    const reads = requests.filter((r) => r.action !== "s3:PutObject");
    const writersCheck = roleStatementsOf(template, "ExportWritersCheckFunction");
    expect(refused(writersCheck, reads)).toEqual([]);
    expect(
      refused(
        writersCheck,
        requests.filter((r) => r.action === "s3:PutObject"),
      ),
    ).toHaveLength(requests.filter((r) => r.action === "s3:PutObject").length);
  });

  it("let the GC steps read and write their run's files, and a missing one reads 404", async () => {
    const { client, sent } = recordingS3();
    const store = new S3GcObjectStore(client as never);
    const work = gcWorkKeys("repo1", "20270101T000000Z-abcd1234");
    await store.put("work", work.commitsCounts, "{}");
    expect(await store.getText("work", work.revalidationCounts)).toBeUndefined();
    for await (const _ of store.list("work", work.addressesCountsPrefix())) break;
    const requests = sent.flatMap((c) => s3Requests(c, bucketArn()));
    const reads = requests.filter((r) => r.action !== "s3:PutObject");
    expect(reads.length).toBeGreaterThan(0);
    for (const fn of [
      "Commits",
      "Addresses",
      "Mark",
      "Revalidate",
      "Sweep",
      "CopyPlan",
      "CopyParts",
    ]) {
      const role = roleStatementsOf(template, `Gc${fn}Function`);
      expect(refused(role, requests), fn).toEqual([]);
      expect(refused(role, [missingKeyRead(bucketArn())]), fn).toEqual([]);
    }
    for (const fn of ["Summary", "CopyEnd"]) {
      const role = roleStatementsOf(template, `Gc${fn}Function`);
      expect(refused(role, reads), fn).toEqual([]);
      expect(refused(role, [object("PutObject", work.commitsCounts)]), fn).toHaveLength(1);
    }
    // The end of the mark reads and writes nothing there.
    const endMark = roleStatementsOf(template, "GcEndMarkFunction");
    expect(refused(endMark, requests)).toEqual(requests);
  });

  it("refuse another workflow's files and the rest of the bucket", () => {
    const exportFns = ["Plan", "Copy", "Markers", "ManifestGroup", "Status", "WritersCheck"];
    const gcFns = ["Commits", "Addresses", "Mark", "Revalidate", "Sweep", "Summary"];
    const outsideExports = [
      object("GetObject", "gc/repo1/run/commits.jsonl"),
      object("GetObject", "tmp/map-results/x.json"),
      object("PutObject", "exports"),
      object("GetObject", "other/exports/e1/plan/result.json"),
    ];
    for (const fn of exportFns) {
      const role = roleStatementsOf(template, `Export${fn}Function`);
      expect(refused(role, outsideExports), fn).toEqual(outsideExports);
    }
    const outsideGc = [
      object("GetObject", "exports/e1/plan/result.json"),
      object("PutObject", "tmp/x"),
      object("GetObject", "other/gc/x"),
    ];
    for (const fn of [...gcFns, "CopyPlan", "CopyParts", "CopyEnd"]) {
      const role = roleStatementsOf(template, `Gc${fn}Function`);
      expect(refused(role, outsideGc), fn).toEqual(outsideGc);
    }
  });
});
