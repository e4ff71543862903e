// The GC construct's template: the state machine's shape, least-privilege grants (only the
// sweep deletes, only in the storage buckets). Schedules are the Lakeport construct's
// (gcSchedules: Scheduler -> API GC start).
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as events from "aws-cdk-lib/aws-events";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import { beforeAll, expect, it } from "vitest";
import { GcWorkflow } from "../../infra/constructs/gc";
import { Storage } from "../../infra/constructs/storage";

let template: Template;

beforeAll(() => {
  // No esbuild bundling: the template is what this test reads.
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "GcInfra");
  const storage = new Storage(stack, "Storage");
  new GcWorkflow(stack, "Gc", {
    table: storage.table,
    workBucket: storage.workBucket,
    eventBus: new events.EventBus(stack, "Bus"),
    lakeFsEndpoint: "https://lakefs.example.com",
    lakeFsSecret: secrets.Secret.fromSecretCompleteArn(
      stack,
      "LakeFs",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:lakefs-AbCdEf",
    ),
    storageBuckets: ["lake-data"],
    exportBuckets: ["lake-exports"],
    maxConcurrency: 7,
    logRetention: logs.RetentionDays.ONE_WEEK,
  });
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
  for (const name of ["CollectAddresses", "MarkPartitions", "SweepParts"]) {
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
