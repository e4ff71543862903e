// The GC construct's template: the state machine's shape, least-privilege grants (only the
// sweep deletes, only in the storage buckets). Schedules are the Lakeport construct's
// (gcSchedules: Scheduler -> API GC start).
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, expect, it } from "vitest";
import { GcWorkflow } from "../../infra/constructs/gc";
import { Storage } from "../../infra/constructs/storage";
import { BackupLocationStore } from "../../lambdas/gc/adapters/backup-location-store";
import { GcStore } from "../../lambdas/gc/adapters/gc-store";
import { claimBackupLocationOutsideExports } from "../../lambdas/gc/app/backup-location-claim";
import { listAllExportPaths } from "../../lambdas/shared/dynamodb/export-paths";
import { completeMultipartUpload } from "../../lambdas/shared/s3-copy/copy-object";
import {
  arnOf,
  dynamoRequests,
  partitionCalls,
  recordingTable,
  refused,
  roleStatementsOf,
} from "../support/iam-policy";
import { workflowPropsOf } from "../support/workflow-props";

let template: Template;

beforeAll(() => {
  // No esbuild bundling: the template is what this test reads.
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "GcInfra");
  const storage = new Storage(stack, "Storage");
  new GcWorkflow(stack, "Gc", { ...workflowPropsOf(stack, storage), maxMarkAgeHours: 24 });
  template = Template.fromStack(stack);
}, 120_000);

function definitionOf(logicalPrefix: string) {
  const machines = template.findResources("AWS::StepFunctions::StateMachine");
  const [, machine] = Object.entries(machines).find(([id]) => id.startsWith(logicalPrefix))!;
  const parts = (
    machine as { Properties: { DefinitionString: { "Fn::Join": [string, unknown[]] } } }
  ).Properties.DefinitionString["Fn::Join"][1];
  return JSON.parse(parts.map((p) => (typeof p === "string" ? p : "REF")).join(""));
}

it("has distributed maps over work-bucket JSON Lines with the configured concurrency and a failure path", () => {
  const asl = definitionOf("GcStateMachine");
  for (const name of ["CollectAddresses", "MarkPartitions", "CollectRevived", "SweepParts"]) {
    const map = asl.States[name];
    expect(map.ItemProcessor.ProcessorConfig.Mode).toBe("DISTRIBUTED");
    expect(map.ItemReader.ReaderConfig.InputType).toBe("JSONL");
    expect(map.MaxConcurrency).toBe(7);
    expect(map.ItemBatcher.MaxItemsPerBatch).toBeGreaterThan(0);
    expect(map.Catch[0].Next).toBe("SummaryAfterFailure");
  }
  const retry = asl.States.Commits.Retry[0];
  expect(retry).toMatchObject({ JitterStrategy: "FULL", BackoffRate: 2 });
  expect(retry.ErrorEquals).toContain("Lambda.TooManyRequestsException");
  expect(asl.States.SummaryAfterFailure.Next).toBe("RunFailed");
  // The mark is recorded before any sweep; every sweep revalidates first.
  expect(asl.States.MarkPartitions.Next).toBe("EndMark");
  expect(asl.States.EndMark.Next).toBe("ShouldSweep?");
  expect(asl.States["ShouldSweep?"].Choices[0].Next).toBe("Revalidate");
  expect(asl.States.Revalidate.Next).toBe("CollectRevived");
  // What was committed while the revalidation map listed is listed too, round after round.
  expect(asl.States.CollectRevived.Next).toBe("CatchUp");
  expect(asl.States.CatchUp.Parameters).toMatchObject({
    catchUp: true,
    "revalidation.$": "$.revalidation",
  });
  expect(asl.States.CatchUp.ResultPath).toBe("$.revalidation");
  expect(asl.States.CatchUp.Next).toBe("Settled?");
  expect(asl.States["Settled?"].Choices[0].Next).toBe("SweepParts");
  expect(asl.States["Settled?"].Default).toBe("CollectRevived");
  expect(asl.States.CollectRevived.ItemBatcher.BatchInput.area).toBe("revived");
});

it("gives each mark child one partition: a partition may hold far more than planned (its count is a guess), and four took four times one's work into one Lambda's 15 minutes", () => {
  const asl = definitionOf("GcStateMachine");
  expect(asl.States.MarkPartitions.ItemBatcher.MaxItemsPerBatch).toBe(1);
});

type Statement = {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
};
function statementsOf(logicalPrefix: string): Statement[] {
  const policies = template.findResources("AWS::IAM::Policy");
  return Object.entries(policies)
    .filter(([id]) => id.startsWith(logicalPrefix))
    .flatMap(
      ([, p]) =>
        (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties
          .PolicyDocument.Statement,
    );
}
const actionsOf = (st: Statement) => ([] as string[]).concat(st.Action);

it("lets the GC steps write only under the namespace's GC report and log prefixes", () => {
  const allowed = new Set([
    "arn:aws:s3:::lake-data/_lakefs/retention/gc/*",
    "arn:aws:s3:::lake-data/*/_lakefs/retention/gc/*",
    "arn:aws:s3:::lake-data/_lakefs/logs/gc/*",
    "arn:aws:s3:::lake-data/*/_lakefs/logs/gc/*",
  ]);
  const writers: string[] = [];
  for (const fn of ["Commits", "Addresses", "Mark", "EndMark", "Revalidate", "Sweep", "Summary"]) {
    for (const st of statementsOf(`Gc${fn}Function`)) {
      if (!actionsOf(st).includes("s3:PutObject")) continue;
      const resources = ([] as unknown[]).concat(st.Resource).map((r) => JSON.stringify(r));
      // The work bucket (a reference to the construct's bucket) or the two GC prefixes.
      for (const r of resources) {
        if (r.includes("StorageWork")) continue;
        writers.push(fn);
        expect(allowed.has(JSON.parse(r)), `${fn}: ${r}`).toBe(true);
      }
    }
  }
  expect(new Set(writers)).toEqual(new Set(["Commits", "Mark", "Sweep", "Summary"]));
  // Reports go under retention/, logs under logs/.
  const put = (fn: string) =>
    statementsOf(`Gc${fn}Function`)
      .filter((st) => actionsOf(st).includes("s3:PutObject"))
      .flatMap((st) => ([] as unknown[]).concat(st.Resource))
      .filter((r) => typeof r === "string");
  expect(put("Commits")).toEqual([
    "arn:aws:s3:::lake-data/_lakefs/retention/gc/*",
    "arn:aws:s3:::lake-data/*/_lakefs/retention/gc/*",
  ]);
  expect(put("Sweep")).toEqual([
    "arn:aws:s3:::lake-data/_lakefs/logs/gc/*",
    "arn:aws:s3:::lake-data/*/_lakefs/logs/gc/*",
  ]);
});

it("lets every step renew only the repository lease, and only the record steps update runs", () => {
  for (const fn of ["Commits", "Addresses", "Mark", "Sweep"]) {
    const ddb = statementsOf(`Gc${fn}Function`).filter(
      (st) =>
        actionsOf(st).some((a) => a.startsWith("dynamodb:")) &&
        // The sweep also reads the rules (GetItem alone, checked below).
        !(fn === "Sweep" && actionsOf(st).join() === "dynamodb:GetItem"),
    );
    expect(ddb, fn).toHaveLength(1);
    expect(actionsOf(ddb[0]!).sort()).toEqual(["dynamodb:GetItem", "dynamodb:UpdateItem"]);
    expect(ddb[0]!.Condition).toEqual({
      "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["GCLEASE#*"] },
    });
  }
  const sweepReads = statementsOf("GcSweepFunction").filter(
    (st) => actionsOf(st).join() === "dynamodb:GetItem",
  );
  expect(sweepReads).toHaveLength(1);
  expect(sweepReads[0]!.Condition).toEqual({
    "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["REPO#*"] },
  });
  // No table statement without a partition condition: runs, marks and rules are REPO# items,
  // the lease a GCLEASE# item (GcStore.endMark, beginSweep, getMark, getRules, completeRun).
  const table = (fn: string) =>
    statementsOf(`Gc${fn}Function`)
      .filter((st) => actionsOf(st).some((a) => a.startsWith("dynamodb:")))
      .map((st) => ({ actions: actionsOf(st), condition: st.Condition }));
  const leading = (prefixes: string[]) => ({
    "ForAllValues:StringLike": { "dynamodb:LeadingKeys": prefixes },
  });
  const lease = {
    actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
    condition: leading(["GCLEASE#*"]),
  };
  // GetItem: an end whose update failed its condition is read back (its own lost answer).
  expect(table("EndMark")).toEqual([
    lease,
    { actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"], condition: leading(["REPO#*"]) },
  ]);
  expect(table("Revalidate")).toEqual([
    lease,
    { actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"], condition: leading(["REPO#*"]) },
  ]);
  expect(table("Summary")).toEqual([
    lease,
    { actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"], condition: leading(["REPO#*"]) },
    { actions: ["dynamodb:DeleteItem"], condition: leading(["GCLEASE#*"]) },
  ]);
});

it("lets only the sweep delete, and only objects of the storage buckets", () => {
  const policies = template.findResources("AWS::IAM::Policy");
  const deleters: string[] = [];
  for (const [id, p] of Object.entries(policies)) {
    const statements = (p as { Properties: { PolicyDocument: { Statement: unknown[] } } })
      .Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[];
    for (const st of statements) {
      if (!([] as string[]).concat(st.Action).includes("s3:DeleteObject")) continue;
      deleters.push(id);
      expect(JSON.stringify(st.Resource)).toBe(JSON.stringify("arn:aws:s3:::lake-data/*"));
    }
  }
  expect(deleters).toHaveLength(1);
  expect(deleters[0]).toMatch(/^GcSweepFunction/);
});

it("lets the copy plan retire a restore's mark and nothing more of the table; the copies not at all", () => {
  const tableStatements = (fn: string) =>
    statementsOf(fn).filter((st) => actionsOf(st).some((a) => a.startsWith("dynamodb:")));
  const leading = (prefixes: string[]) => ({
    "ForAllValues:StringLike": { "dynamodb:LeadingKeys": prefixes },
  });
  // GcStore.retireMark reads the mark and the lease, and updates the mark.
  expect(
    tableStatements("GcCopyPlanFunction").map((st) => ({
      actions: actionsOf(st),
      condition: st.Condition,
    })),
  ).toEqual([
    { actions: ["dynamodb:GetItem"], condition: leading(["REPO#*", "GCLEASE#*"]) },
    { actions: ["dynamodb:UpdateItem"], condition: leading(["REPO#*"]) },
    // A backup's location claim, and the export paths read around it.
    {
      actions: [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
      ],
      condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["GCBACKUPS"] } },
    },
    {
      actions: ["dynamodb:Query"],
      condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["EXPORTPATHS"] } },
    },
    {
      actions: ["dynamodb:Query"],
      condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["export-config"] } },
    },
  ]);
  expect(tableStatements("GcCopyPartsFunction")).toEqual([]);
});

it("lets the copy plan make every call of a backup's location claim: created, kept, withdrawn", async () => {
  // The embedded environment applies no IAM: a call the role does not allow fails only on AWS.
  const tableArn = arnOf(template, "AWS::DynamoDB::Table", "StorageState");
  const paths = { repository: "r2", branch: "main", exportPath: "s3://exports/r2/" };
  const { doc, sent } = recordingTable([
    { pk: "EXPORTPATHS", sk: "r2#main", ...paths },
    { pk: "REPO#r2", sk: "EXPORT#main#CONFIG", kind: "export-config", ...paths },
  ]);
  const store = new BackupLocationStore(doc as never, "t");
  const deps = {
    claims: store,
    exportPaths: () => listAllExportPaths(doc as never, "t"),
    now: () => new Date(),
  };
  const req = { repository: "r1", location: "s3://backups/r1/m1", markId: "m1" };
  expect(await claimBackupLocationOutsideExports(deps, req)).toHaveProperty("created", true);
  // A location claimed before: kept (UpdateItem), as a claim whose put the condition refuses.
  const kept = new BackupLocationStore(
    {
      send: async (c: { constructor: { name: string } }) => {
        if (c.constructor.name === "PutCommand") {
          sent.push(c as never);
          throw new ConditionalCheckFailedException({ message: "exists", $metadata: {} });
        }
        return doc.send(c as never);
      },
    } as never,
    "t",
  );
  expect(await kept.claim({ ...req, claimedAt: "t", claimToken: "x" })).toBe("existing");
  expect(await store.release("r1", req.location, "x")).toBe(true);
  const requests = sent.flatMap((c) => dynamoRequests(c, tableArn));
  expect(partitionCalls(requests)).toEqual([
    "dynamodb:DeleteItem GCBACKUPS",
    "dynamodb:PutItem GCBACKUPS",
    "dynamodb:Query EXPORTPATHS",
    "dynamodb:Query export-config",
    "dynamodb:UpdateItem GCBACKUPS",
  ]);
  expect(refused(roleStatementsOf(template, "GcCopyPlanFunction"), requests)).toEqual([]);
});

it("lets the copy plan read lakeFS's credentials (a backup goes outside every namespace); the copies not", () => {
  const readsSecret = (fn: string) =>
    statementsOf(fn).some((st) => actionsOf(st).includes("secretsmanager:GetSecretValue"));
  const envOf = (fn: string) => {
    const [, f] = Object.entries(template.findResources("AWS::Lambda::Function")).find(([id]) =>
      id.startsWith(fn),
    )!;
    return Object.keys(
      (f as { Properties: { Environment: { Variables: object } } }).Properties.Environment
        .Variables,
    );
  };
  expect(readsSecret("GcCopyPlanFunction")).toBe(true);
  expect(envOf("GcCopyPlanFunction")).toEqual(
    expect.arrayContaining(["LAKEFS_ENDPOINT", "LAKEFS_SECRET_ARN"]),
  );
  for (const fn of ["GcCopyPartsFunction", "GcCopyEndFunction"]) {
    expect(readsSecret(fn), fn).toBe(false);
    expect(envOf(fn), fn).not.toContain("LAKEFS_SECRET_ARN");
  }
});

it("runs the copy workflow CopyPlan -> CopyParts -> CopyEnd ($.end), acceptIncompleteBackup false unless given", () => {
  const asl = definitionOf("GcCopyStateMachine");
  expect(asl.StartAt).toBe("CopyOptionsGiven?");
  const options = asl.States["CopyOptionsGiven?"];
  expect(options.Choices[0]).toEqual({
    Variable: "$.acceptIncompleteBackup",
    IsPresent: true,
    Next: "CopyPlan",
  });
  expect(options.Default).toBe("CopyDefaults");
  expect(asl.States.CopyDefaults).toMatchObject({
    Type: "Pass",
    Result: false,
    ResultPath: "$.acceptIncompleteBackup",
    Next: "CopyPlan",
  });
  expect(asl.States.CopyPlan.Parameters).toMatchObject({
    "acceptIncompleteBackup.$": "$.acceptIncompleteBackup",
  });
  expect(asl.States.CopyPlan.Next).toBe("CopyParts");
  expect(asl.States.CopyParts.ItemBatcher.BatchInput).toMatchObject({
    "repository.$": "$.repository",
    "copyId.$": "$$.Execution.Name",
  });
  expect(asl.States.CopyParts.ResultPath).toBeNull();
  expect(asl.States.CopyParts.Next).toBe("CopyEnd");
  expect(asl.States.CopyEnd.Parameters).toMatchObject({
    "copyId.$": "$$.Execution.Name",
    "plan.$": "$.plan",
  });
  expect(asl.States.CopyEnd).toMatchObject({ ResultPath: "$.end", End: true });
});

it("lets the copy plan and end steps touch only the backup record of a location; the end step read only marks", () => {
  const recordStatements = (fn: string) =>
    statementsOf(fn)
      .filter((st) => JSON.stringify(st.Resource).includes("_lakeport_backup.json"))
      .map((st) => ({ actions: actionsOf(st), resources: st.Resource }));
  const records = [
    "arn:aws:s3:::lake-data/*_lakeport_backup.json",
    "arn:aws:s3:::lake-exports/*_lakeport_backup.json",
  ];
  expect(recordStatements("GcCopyPlanFunction")).toEqual([
    { actions: ["s3:GetObject", "s3:PutObject"], resources: records },
  ]);
  // The end step writes over the record it claimed and reads it again when it changed.
  expect(recordStatements("GcCopyEndFunction")).toEqual([
    { actions: ["s3:GetObject", "s3:PutObject"], resources: records },
  ]);
  // Besides the record, the end step reaches the work bucket (reading), and lists the copy
  // buckets (a removed record then reads as 404, not 403): nothing else of S3.
  for (const st of statementsOf("GcCopyEndFunction")) {
    const actions = actionsOf(st);
    if (!actions.some((a) => a.startsWith("s3:"))) continue;
    const text = JSON.stringify(st.Resource);
    if (text.includes("_lakeport_backup.json")) continue;
    if (text === JSON.stringify(["arn:aws:s3:::lake-data", "arn:aws:s3:::lake-exports"])) {
      expect(actions).toEqual(["s3:ListBucket"]);
      continue;
    }
    expect(text, actions.join()).toContain("StorageWork");
    expect(actions.every((a) => a === "s3:GetObject" || a === "s3:ListBucket")).toBe(true);
  }
  const table = statementsOf("GcCopyEndFunction").filter((st) =>
    actionsOf(st).some((a) => a.startsWith("dynamodb:")),
  );
  expect(table.map((st) => ({ actions: actionsOf(st), condition: st.Condition }))).toEqual([
    {
      actions: ["dynamodb:GetItem"],
      condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["REPO#*"] } },
    },
  ]);
  // The plan reads GC's own reports in the storage buckets (a mark's lists), nothing else there.
  const planReads = statementsOf("GcCopyPlanFunction")
    .filter((st) => actionsOf(st).includes("s3:GetObject"))
    .map((st) => JSON.stringify(st.Resource))
    .filter((text) => !text.includes("_lakeport_backup.json") && !text.includes("StorageWork"));
  expect(planReads).toEqual([expect.stringContaining("_lakefs/retention/gc/")]);
  expect(planReads[0]).not.toContain("lake-exports");
  // The copies write their counts to the work bucket.
  const partsWork = statementsOf("GcCopyPartsFunction").filter((st) =>
    JSON.stringify(st.Resource).includes("StorageWork"),
  );
  expect(partsWork.flatMap(actionsOf)).toContain("s3:PutObject");
});

it("grants the copy steps what their existence checks need on every copy bucket", () => {
  const grants = (fn: string, action: string, resource: string) =>
    statementsOf(fn).some(
      (st) =>
        actionsOf(st).includes(action) &&
        ([] as unknown[]).concat(st.Resource).some((r) => r === resource),
    );
  for (const bucket of ["lake-data", "lake-exports"]) {
    const arn = `arn:aws:s3:::${bucket}`;
    // The plan's recordless-location probe lists the location at each key (ListObjectsV2),
    // and its record read answers 404, not 403, when there is none.
    expect(grants("GcCopyPlanFunction", "s3:ListBucket", arn), bucket).toBe(true);
    // The copies HEAD an absent source's destination (copy-held.ts): GetObject, and
    // ListBucket for a 404 rather than a 403 when it does not hold it either.
    expect(grants("GcCopyPartsFunction", "s3:GetObject", `${arn}/*`), bucket).toBe(true);
    expect(grants("GcCopyPartsFunction", "s3:ListBucket", arn), bucket).toBe(true);
  }
});

it("lets the steps make the reads their recovery paths send (the embedded environment applies no IAM)", async () => {
  // EndMark: an end whose update failed its condition reads the mark back (its own earlier
  // write whose answer was lost counts as ended); without GetItem the run failed on AWS.
  const sent: string[] = [];
  const doc = {
    send: async (command: { constructor: { name: string } }) => {
      sent.push(command.constructor.name);
      if (command.constructor.name === "UpdateCommand") {
        throw new ConditionalCheckFailedException({ message: "ended", $metadata: {} });
      }
      return { Item: { runId: "run1", status: "succeeded", markId: "m1" } };
    },
  };
  await new GcStore(doc as never, "table").endMark("r1", "m1", "run1", {
    partitions: 1,
    markedAt: "2027-01-01T00:00:00.000Z",
  });
  expect(sent).toEqual(["UpdateCommand", "GetCommand"]);
  const repoActions = statementsOf("GcEndMarkFunction")
    .filter((st) => JSON.stringify(st.Condition ?? {}).includes("REPO#*"))
    .flatMap(actionsOf);
  expect(repoActions).toContain("dynamodb:GetItem");
  // Mark and Sweep: a list or log of more than a part is a multipart upload, and a lost
  // CompleteMultipartUpload answer (NoSuchUpload on the retry) is settled by a HEAD.
  const s3Sent: string[] = [];
  const s3 = {
    send: async (command: { constructor: { name: string } }) => {
      s3Sent.push(command.constructor.name);
      if (command.constructor.name === "CompleteMultipartUploadCommand") {
        throw Object.assign(new Error("gone"), { name: "NoSuchUpload" });
      }
      return { ETag: '"x-1"' };
    },
  };
  await completeMultipartUpload(
    s3 as never,
    { bucket: "lake-data", key: "repos/r1/_lakefs/logs/gc/x", uploadId: "u" },
    [{ PartNumber: 1, ETag: '"x"' }],
    { sleep: async () => undefined },
  ).catch(() => undefined);
  expect(s3Sent).toContain("HeadObjectCommand");
  const reads = (fn: string) =>
    statementsOf(`Gc${fn}Function`)
      .filter((st) => actionsOf(st).includes("s3:GetObject"))
      .flatMap((st) => ([] as unknown[]).concat(st.Resource))
      .filter((r) => typeof r === "string");
  for (const fn of ["Mark", "Sweep"]) {
    expect(reads(fn), fn).toContain("arn:aws:s3:::lake-data/*/_lakefs/logs/gc/*");
  }
  expect(reads("Mark")).toContain("arn:aws:s3:::lake-data/*/_lakefs/retention/gc/*");
});
