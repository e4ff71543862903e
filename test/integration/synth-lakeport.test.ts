// biome-ignore-all lint/suspicious/noExplicitAny: the synthesized CloudFormation JSON is untyped
// The real app (infra/app.ts buildApp) synthesized ONCE with cdk-nag's AWS Solutions checks
// registered: the template must have the properties a production deployment relies on, and
// synthesis itself fails on any unacknowledged nag finding. CDK's per-function bundling is
// skipped (19 sequential esbuild runs take minutes on a busy machine); instead every
// function's handler is bundled here in one esbuild run with the same settings
// (LAKEPORT_BUNDLING) and its zipped size measured.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { deflateRawSync } from "node:zlib";
import aslValidator from "asl-validator";
import { App, type Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../infra/app";
import {
  LAKEPORT_ESBUILD_OPTIONS,
  LAKEPORT_FUNCTION_ENTRIES,
  PROJECT_ROOT,
} from "../../infra/constructs/function";
import { awsSolutionsFindings } from "../../infra/nag";
import { ROUTES } from "../../lambdas/api/routes";
import { LAKEPORT_METRIC_NAMESPACE, STUCK_EXPORTS_METRIC } from "../../lambdas/shared/metrics";
import { EXPORT_METRICS, GC_METRICS } from "../../lambdas/shared/run-metrics";
import { validateMachine } from "../../local/stepfunctions/validate";

const STORAGE_BUCKET = "lake-data-bucket";
const EXPORT_BUCKET = "lake-export-bucket";
const ONE_MB = 1024 * 1024;

let outdir: string;
let stack: Stack;
let template: Template;
let resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;

type Resource = { Type: string; Properties: Record<string, any> };

function ofType(type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type) as [string, Resource][];
}

/** A DefinitionString (plain or Fn::Join) as ASL, tokens replaced by "TOKEN". */
function definitionOf(sm: Resource): { States: Record<string, any> } {
  const d = sm.Properties.DefinitionString;
  const parts: unknown[] = typeof d === "string" ? [d] : d["Fn::Join"][1];
  return JSON.parse(parts.map((p) => (typeof p === "string" ? p : "TOKEN")).join(""));
}

const PSEUDO: Record<string, string> = {
  "AWS::Partition": "aws",
  "AWS::Region": "us-east-1",
  "AWS::AccountId": "000000000000",
  "AWS::URLSuffix": "amazonaws.com",
};
const ARN_OF_TYPE: Record<string, (id: string) => string> = {
  "AWS::Lambda::Function": (id) => `arn:aws:lambda:us-east-1:000000000000:function:${id}`,
  "AWS::StepFunctions::StateMachine": (id) =>
    `arn:aws:states:us-east-1:000000000000:stateMachine:${id}`,
  "AWS::DynamoDB::Table": (id) => `arn:aws:dynamodb:us-east-1:000000000000:table/${id}`,
  "AWS::S3::Bucket": (id) => `arn:aws:s3:::${id.toLowerCase()}`,
};

/** A DefinitionString as deployed: pseudo parameters, names and ARNs in place of the tokens. */
function deployedDefinitionOf(sm: Resource): Record<string, any> {
  const d = sm.Properties.DefinitionString;
  const parts: unknown[] = typeof d === "string" ? [d] : d["Fn::Join"][1];
  const value = (p: any): string => {
    if (typeof p === "string") return p;
    if (p.Ref) return PSEUDO[p.Ref] ?? p.Ref.toLowerCase();
    const [id, attr] = p["Fn::GetAtt"] as [string, string];
    const arn = ARN_OF_TYPE[resources[id]?.Type ?? ""];
    return attr === "Arn" && arn ? arn(id) : id.toLowerCase();
  };
  return JSON.parse(parts.map(value).join(""));
}

/** asl-validator's verdict (it marks states with their query language: given a copy). */
function aslErrors(definition: unknown): string[] {
  const r = aslValidator(structuredClone(definition));
  return r.isValid ? [] : r.errors.map((e) => `${e["Error code"]}: ${e.Message}`);
}

function mapStates(states: Record<string, any>): [string, any][] {
  return Object.entries(states).flatMap(([name, s]): [string, any][] => {
    if (s.Type === "Parallel") {
      return (s.Branches ?? []).flatMap((b: { States: Record<string, any> }) =>
        mapStates(b.States),
      );
    }
    return s.Type === "Map"
      ? [[name, s], ...mapStates(s.ItemProcessor?.States ?? s.Iterator?.States ?? {})]
      : [];
  });
}

function statementsOf(
  policy: Resource,
): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  return policy.Properties.PolicyDocument.Statement;
}
const list = <T>(v: T | T[]) => (Array.isArray(v) ? v : [v]);
/** An ARN as text: Fn::Join joined, the partition "aws", other references as JSON. */
function arnText(v: unknown): string {
  if (typeof v === "string") return v;
  const o = v as any;
  if (o?.["Fn::Join"]) return o["Fn::Join"][1].map(arnText).join(o["Fn::Join"][0]);
  if (o?.Ref === "AWS::Partition") return "aws";
  return JSON.stringify(v);
}
const resourceTexts = (st: { Resource: unknown }) => list(st.Resource).map(arnText);

/** Zip size of some files: deflated contents plus zip headers (about 100 bytes a file). */
function zippedSize(files: { path: string; contents: Uint8Array }[]): number {
  let total = 22;
  for (const f of files) {
    const name = path.basename(f.path);
    total += deflateRawSync(f.contents, { level: 9 }).length + 2 * name.length + 76;
  }
  return total;
}

beforeAll(() => {
  outdir = mkdtempSync(path.join(os.tmpdir(), "lakeport-synth-"));
  const app = new App({
    outdir,
    context: {
      "aws:cdk:bundling-stacks": [],
      lakeFsEndpoint: "https://lakefs.example.com",
      lakeFsSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:lakefs-AbCdEf",
      storageBuckets: STORAGE_BUCKET,
      exportBuckets: EXPORT_BUCKET,
      gcSchedules: [{ repository: "example-repo", expression: "cron(0 3 ? * SUN *)" }],
      alarmTopicArn: "arn:aws:sns:eu-west-1:123456789012:lakeport-alarms",
      maxConcurrency: 25,
      reservedConcurrency: 25,
    },
  });
  buildApp(app);
  // Throws when a registered validation plugin (cdk-nag) reports a violation.
  app.synth();
  stack = app.node.findChild("Lakeport") as Stack;
  const json = JSON.parse(readFileSync(path.join(outdir, "Lakeport.template.json"), "utf8"));
  resources = json.Resources;
  template = Template.fromJSON(json);
}, 240_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe("cdk-nag", () => {
  it("leaves no AWS Solutions finding unacknowledged, and no error or warning annotation", () => {
    expect(awsSolutionsFindings(stack)).toEqual([]);
    expect(Annotations.fromStack(stack).findError("*", Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning("*", Match.anyValue())).toEqual([]);
  });
});

describe("Lambda functions", () => {
  it("run Node.js 22 on ARM64 with JSON logs, every one of them", () => {
    const fns = ofType("AWS::Lambda::Function");
    expect(fns.length).toBeGreaterThanOrEqual(10);
    for (const [, fn] of fns) {
      expect(fn.Properties.Runtime).toBe("nodejs22.x");
      expect(fn.Properties.Architectures).toEqual(["arm64"]);
      expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: "JSON" });
      expect(fn.Properties.ReservedConcurrentExecutions).toBe(25);
    }
  });

  it("are esbuild bundles under 1 MB zipped", async () => {
    const fns = stack.node.findAll().filter((c) => c instanceof lambda.Function);
    const entries: Record<string, string> = {};
    for (const fn of fns) {
      const entry = LAKEPORT_FUNCTION_ENTRIES.get(fn as lambda.Function);
      expect(entry, `${fn.node.path} is built by lakeportFunction`).toBeDefined();
      entries[fn.node.path.replace(/[^A-Za-z0-9]/g, "")] = path.join(PROJECT_ROOT, entry!);
    }
    const result = await build({
      ...LAKEPORT_ESBUILD_OPTIONS,
      mainFields: [...LAKEPORT_ESBUILD_OPTIONS.mainFields],
      entryPoints: entries,
      write: false,
      outdir: path.join(outdir, "bundles"),
      logLevel: "silent",
    });
    const sizes: Record<string, number> = {};
    for (const name of Object.keys(entries)) {
      const files = result.outputFiles.filter((f) =>
        path.basename(f.path).startsWith(`${name}.mjs`),
      );
      expect(files.length, name).toBe(2); // index.mjs and its source map
      sizes[name] = zippedSize(files);
      // The tracer is imported lazily (only where tracing is on), yet bundled: no import of a
      // package is left for Lambda's runtime to resolve, where no node_modules exists.
      const code = files.find((f) => f.path.endsWith(".mjs"))!.text;
      expect(code, name).not.toMatch(/\bimport\(\s*["'](?!node:)[^"'./][^"']*["']\s*\)/);
      expect(code, name).toContain("captureAWSv3Client");
    }
    expect(Object.entries(sizes).filter(([, s]) => s >= ONE_MB)).toEqual([]);
    // The measurement is real: a bundle holds at least the SDK clients it uses.
    expect(Math.max(...Object.values(sizes))).toBeGreaterThan(100 * 1024);
  }, 180_000);

  it("alarm on errors per function, on throttles summed over all functions", () => {
    const alarms = ofType("AWS::CloudWatch::Alarm").map(([, a]) => a.Properties);
    const fnIds = ofType("AWS::Lambda::Function").map(([id]) => id);
    for (const id of fnIds) {
      const found = alarms.some(
        (a) =>
          a.MetricName === "Errors" &&
          a.Namespace === "AWS/Lambda" &&
          JSON.stringify(a.Dimensions) ===
            JSON.stringify([{ Name: "FunctionName", Value: { Ref: id } }]),
      );
      expect(found, `Errors alarm of ${id}`).toBe(true);
    }
    // No per-function throttle alarm: metric math alarms (at most 10 metrics each, CloudWatch's
    // limit) summing Throttles, covering every function exactly once.
    expect(alarms.filter((a) => a.MetricName === "Throttles")).toEqual([]);
    const throttleMath = alarms.filter((a) =>
      (a.Metrics ?? []).some(
        (m: { MetricStat?: { Metric: { MetricName: string } } }) =>
          m.MetricStat?.Metric.MetricName === "Throttles",
      ),
    );
    expect(throttleMath.length).toBe(Math.ceil(fnIds.length / 10));
    // Groups as even as can be (21 functions: 7, 7, 7).
    const groupSizes = throttleMath.map(
      (a) => a.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).length,
    );
    expect(Math.max(...groupSizes) - Math.min(...groupSizes)).toBeLessThanOrEqual(1);
    const covered: string[] = [];
    for (const a of throttleMath) {
      const stats = a.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat);
      expect(stats.length).toBeLessThanOrEqual(10);
      const [expression] = a.Metrics.filter((m: { ReturnData?: boolean }) => m.ReturnData);
      expect(expression.Expression).toBe(stats.map((m: { Id: string }) => m.Id).join(" + "));
      for (const m of stats) covered.push(m.MetricStat.Metric.Dimensions[0].Value.Ref);
    }
    expect(covered.sort()).toEqual([...fnIds].sort());
  });

  it("trace actively with X-Ray, through AWS's managed daemon-write policy", () => {
    const roles = Object.fromEntries(ofType("AWS::IAM::Role"));
    for (const [id, fn] of ofType("AWS::Lambda::Function")) {
      expect(fn.Properties.TracingConfig, id).toEqual({ Mode: "Active" });
      const role = roles[fn.Properties.Role["Fn::GetAtt"][0]]!;
      expect(JSON.stringify(role.Properties.ManagedPolicyArns), id).toContain(
        ":iam::aws:policy/AWSXRayDaemonWriteAccess",
      );
    }
  });
});

describe("alarms", () => {
  it("exactly one composite alarm: ALARM when any alarm is, the only one that notifies", () => {
    const composites = ofType("AWS::CloudWatch::CompositeAlarm");
    expect(composites).toHaveLength(1);
    const [[, composite]] = composites as [[string, Resource]];
    expect(JSON.stringify(composite.Properties.AlarmActions)).toContain("lakeport-alarms");
    expect(JSON.stringify(composite.Properties.OKActions)).toContain("lakeport-alarms");
    const rule = JSON.stringify(composite.Properties.AlarmRule);
    const alarms = ofType("AWS::CloudWatch::Alarm");
    expect(alarms.length).toBeGreaterThan(10);
    for (const [id, alarm] of alarms) {
      expect(rule, `${id} is in the composite`).toContain(`"${id}"`);
      expect(alarm.Properties.AlarmActions, `${id} notifies through the composite`).toBeUndefined();
    }
  });

  it("alarm on any API 5xx and on any dead letter in 5 minutes", () => {
    const alarms = ofType("AWS::CloudWatch::Alarm").map(([, a]) => a.Properties);
    const api = alarms.filter((a) => a.Namespace === "AWS/ApiGateway");
    expect(api).toEqual([
      expect.objectContaining({
        MetricName: "5XXError",
        Statistic: "Sum",
        Period: 300,
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
      }),
    ]);
    const queues = ofType("AWS::SQS::Queue").map(([id]) => id);
    expect(queues.length).toBeGreaterThan(0);
    for (const id of queues) {
      const alarm = alarms.find(
        (a) =>
          a.Namespace === "AWS/SQS" &&
          JSON.stringify(a.Dimensions).includes(`"${id}"`) &&
          a.MetricName === "ApproximateNumberOfMessagesVisible",
      );
      expect(alarm, `dead-letter alarm of ${id}`).toMatchObject({
        Period: 300,
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
      });
    }
  });

  it("alarm on export failures and lag from the exports' metrics, over several datapoints", () => {
    const alarms = ofType("AWS::CloudWatch::Alarm").map(([, a]) => a.Properties);
    for (const [metric, statistic] of [
      [EXPORT_METRICS.copyFailures, "Sum"],
      [EXPORT_METRICS.exportLagSeconds, "Maximum"],
    ] as const) {
      const alarm = alarms.find((a) => a.MetricName === metric);
      expect(alarm, metric).toMatchObject({
        Namespace: LAKEPORT_METRIC_NAMESPACE,
        Statistic: statistic,
        Dimensions: [{ Name: "service", Value: "lakeport-export" }],
        TreatMissingData: "notBreaching",
      });
      // README: "in 2 of the last 3 five-minute periods".
      expect(alarm?.EvaluationPeriods, metric).toBe(3);
      expect(alarm?.DatapointsToAlarm, metric).toBe(2);
      expect(alarm?.Period, metric).toBe(300);
    }
    expect(alarms.find((a) => a.MetricName === EXPORT_METRICS.copyFailures)).toMatchObject({
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
    expect(alarms.find((a) => a.MetricName === EXPORT_METRICS.exportLagSeconds)?.Threshold).toBe(
      900,
    );
  });

  it("the dashboard has export lag, throughput and GC panels", () => {
    const [[, dashboard]] = ofType("AWS::CloudWatch::Dashboard") as [[string, Resource]];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const name of [...Object.values(EXPORT_METRICS), ...Object.values(GC_METRICS)]) {
      expect(body, name).toContain(name);
    }
    expect(body).toContain("Export lag");
    expect(body).toContain("Export throughput");
    expect(body).toContain("GC run time");
  });
});

describe("state machines", () => {
  it("log at level ALL with execution data and trace with X-Ray", () => {
    const machines = ofType("AWS::StepFunctions::StateMachine");
    expect(machines.length).toBeGreaterThanOrEqual(2);
    for (const [, sm] of machines) {
      expect(sm.Properties.LoggingConfiguration).toMatchObject({
        Level: "ALL",
        IncludeExecutionData: true,
      });
      expect(sm.Properties.TracingConfiguration).toEqual({ Enabled: true });
    }
  });

  it("log to groups under /aws/vendedlogs/states/, named after the stack and its id", () => {
    // Step Functions adds every log group it writes to to the account's CloudWatch Logs
    // resource policy, which holds 5 120 characters: in an account with many, creating the
    // state machine fails (InvalidLoggingConfiguration) unless the group is a vended-logs one.
    for (const [id, sm] of ofType("AWS::StepFunctions::StateMachine")) {
      const arn = sm.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup
        .LogGroupArn as { "Fn::GetAtt": [string, string] };
      const group = resources[arn["Fn::GetAtt"][0]]!;
      expect(group.Type, id).toBe("AWS::Logs::LogGroup");
      // A name per stack creation: `<prefix>` then the UUID of the stack's ARN, so a stack
      // deployed again under the same name does not collide with retained groups.
      const name = group.Properties.LogGroupName as { "Fn::Join": [string, unknown[]] };
      const [sep, [prefix, uuid]] = name["Fn::Join"];
      expect(sep, id).toBe("");
      expect(prefix, id).toMatch(/^\/aws\/vendedlogs\/states\/Lakeport-\w+-$/);
      expect(uuid, id).toEqual({
        "Fn::Select": [2, { "Fn::Split": ["/", { Ref: "AWS::StackId" }] }],
      });
    }
  });

  it("fan out with distributed maps reading JSON Lines from S3 in batches", () => {
    const byMachine = Object.fromEntries(
      ofType("AWS::StepFunctions::StateMachine").map(([id, sm]) => [
        id,
        mapStates(definitionOf(sm).States),
      ]),
    );
    const exportMaps = Object.entries(byMachine).find(([id]) => id.includes("Export"))![1];
    const gcMaps = Object.entries(byMachine).find(
      ([id]) => /Gc\w*StateMachine/.test(id) && !id.includes("Copy"),
    )![1];
    expect(exportMaps.map(([n]) => n)).toEqual(
      expect.arrayContaining(["CopyShards", "CopySegment"]),
    );
    // Task shards per copy child: the plan call's, from the map's concurrency (copy-batches.ts);
    // the segment map reads the index of the call before the one beside it (plan-segments.ts).
    for (const name of ["CopyShards", "CopySegment"]) {
      const copyShards = exportMaps.find(([n]) => n === name)![1];
      expect(copyShards.ItemBatcher?.MaxItemsPerBatch).toBeUndefined();
      expect(copyShards.ItemBatcher?.MaxItemsPerBatchPath).toBe("$.plan.shardsPerBatch");
      expect(copyShards.ItemReader?.Parameters?.["Key.$"]).toBe("$.plan.indexKey");
      // Each child is told its retries: a retry leaves alone the shards already complete.
      const processor = copyShards.ItemProcessor;
      // (The function invoked directly, payloadResponseOnly: its Parameters are the payload.)
      expect(processor.States[processor.StartAt].Parameters, name).toEqual({
        "Items.$": "$.Items",
        "BatchInput.$": "$.BatchInput",
        "retryCount.$": "$$.State.RetryCount",
      });
    }
    expect(gcMaps.map(([n]) => n)).toEqual(
      expect.arrayContaining(["CollectAddresses", "MarkPartitions", "SweepParts"]),
    );
    for (const maps of Object.values(byMachine)) {
      for (const [name, map] of maps) {
        expect(map.ItemProcessor?.ProcessorConfig?.Mode, name).toBe("DISTRIBUTED");
        expect(map.ItemReader, name).toMatchObject({
          Resource: expect.stringMatching(/^arn:[^:]+:states:::s3:getObject$/),
          ReaderConfig: { InputType: "JSONL" },
        });
        if (name !== "CopyShards" && name !== "CopySegment") {
          expect(map.ItemBatcher?.MaxItemsPerBatch, name).toBeGreaterThanOrEqual(1);
        }
        expect(map.MaxConcurrency, name).toBeGreaterThanOrEqual(1);
        // Results to S3, never inline: an inline array of every child's output is held to
        // 256 KB even with ResultPath null (States.DataLimitExceeded, which no Catch takes).
        expect(map.ResultWriter, name).toMatchObject({
          Resource: expect.stringMatching(/^arn:[^:]+:states:::s3:putObject$/),
          Parameters: { Prefix: "tmp/map-results" },
        });
      }
    }
  });

  it("export: a plan call that is not the last has its shards copied while the next call lists", () => {
    const [, sm] = ofType("AWS::StepFunctions::StateMachine").find(([id]) =>
      id.includes("Export"),
    )!;
    const states = definitionOf(sm).States;
    const planDone = states["PlanDone?"];
    expect(planDone.Choices[0]).toEqual({
      Variable: "$.plan.done",
      BooleanEquals: false,
      Next: "CopyWhilePlanning",
    });
    const parallel = states.CopyWhilePlanning;
    expect(parallel).toMatchObject({ Type: "Parallel", OutputPath: "$[1]", Next: "PlanDone?" });
    expect(parallel.Catch[0]).toMatchObject({ ErrorEquals: ["States.ALL"], ResultPath: "$.error" });
    const [segment, next] = parallel.Branches;
    expect(segment.StartAt).toBe("SegmentShards?");
    expect(segment.States["SegmentShards?"].Choices[0].Next).toBe("CopySegment");
    expect(segment.States.CopySegment.Type).toBe("Map");
    expect(next.StartAt).toBe("PlanNext");
    expect(next.States.PlanNext).toMatchObject({ ResultPath: "$.plan", End: true });
    // The first call goes the same way; the last call's shards go to CopyShards.
    expect(states.Plan.Next).toBe("PlanDone?");
    expect(planDone.Choices[1].Next).toBe("CopyAndManifest");
  });

  it("pass asl-validator and the local runner's own validation, each of them", () => {
    const machines = ofType("AWS::StepFunctions::StateMachine");
    expect(machines.length).toBeGreaterThanOrEqual(3);
    for (const [id, sm] of machines) {
      const definition = deployedDefinitionOf(sm);
      expect({ id, errors: aslErrors(definition) }).toEqual({ id, errors: [] });
      expect(() => validateMachine(structuredClone(definition), id)).not.toThrow();
    }
    // The distributed maps are among what was checked.
    const maps = machines.flatMap(([, sm]) => mapStates(deployedDefinitionOf(sm).States));
    const distributed = maps.filter(([, m]) => m.ItemProcessor?.ProcessorConfig?.Mode);
    expect(distributed.length).toBeGreaterThan(0);
    expect(distributed.every(([, m]) => m.ItemReader && m.ItemBatcher)).toBe(true);
  });

  it("asl-validator also accepts the runner's distributed-map fixtures (ResultWriter included)", () => {
    const dir = path.join(PROJECT_ROOT, "test/fixtures/asl");
    const fixtures = ["distributed-jsonl-batched", "distributed-tolerated"];
    const withWriter = fixtures.filter((f) =>
      readFileSync(path.join(dir, `${f}.json`), "utf8").includes('"ResultWriter"'),
    );
    expect(withWriter.length).toBeGreaterThan(0);
    for (const f of fixtures) {
      const definition = JSON.parse(readFileSync(path.join(dir, `${f}.json`), "utf8"));
      expect({ f, errors: aslErrors(definition) }).toEqual({ f, errors: [] });
    }
  });

  it("a broken definition fails asl-validator and the runner's validation", () => {
    const [, sm] = ofType("AWS::StepFunctions::StateMachine")[0]!;
    const definition = deployedDefinitionOf(sm);
    const [first] = Object.keys(definition.States);
    // A transition to a state that does not exist, and a distributed map without a processor.
    const broken = structuredClone(definition);
    broken.States[first!] = { Type: "Pass", Next: "NoSuchState" };
    expect(aslErrors(broken).join("\n")).toMatch(/NoSuchState/);
    expect(() => validateMachine(structuredClone(broken), "broken")).toThrow(/NoSuchState/);
    const noProcessor = structuredClone(definition);
    noProcessor.States[first!] = {
      Type: "Map",
      ItemReader: { Resource: "arn:aws:states:::s3:getObject", Parameters: { Bucket: "b" } },
      End: true,
    };
    expect(aslErrors(noProcessor).length).toBeGreaterThan(0);
    expect(() => validateMachine(structuredClone(noProcessor), "broken")).toThrow();
  });

  it("every Lambda step waits out throttling for longer than a running invocation holds its slot", () => {
    // Lambda refuses a synchronous invoke beyond the function's free concurrency (its reserved
    // concurrency, or the account's: 10 in new accounts) at once; a slot frees only when a
    // running invocation ends, up to its timeout. A distributed map starts maxConcurrency
    // children together, and other runs' maps use the same functions: a throttled step must
    // keep retrying (in expectation, with full jitter) for twice the longest timeout.
    const tasks = (states: Record<string, any>): any[] =>
      Object.values(states).flatMap((s) => [
        ...(s.Type === "Task" ? [s] : []),
        ...tasks(s.ItemProcessor?.States ?? s.Iterator?.States ?? {}),
      ]);
    const timeoutOf = (resource: unknown) => {
      const id = (resource as any)?.["Fn::GetAtt"]?.[0] as string;
      return resources[id]!.Properties.Timeout as number;
    };
    for (const [id, sm] of ofType("AWS::StepFunctions::StateMachine")) {
      const d = sm.Properties.DefinitionString;
      const lambdaTokens = (typeof d === "string" ? [] : d["Fn::Join"][1]).filter(
        (p: any) => resources[p?.["Fn::GetAtt"]?.[0]]?.Type === "AWS::Lambda::Function",
      );
      const longest = Math.max(...lambdaTokens.map(timeoutOf));
      expect(longest, id).toBeGreaterThan(0);
      const lambdaTasks = tasks(definitionOf(sm).States);
      expect(lambdaTasks.length, id).toBeGreaterThan(0);
      for (const task of lambdaTasks) {
        const r = (task.Retry ?? []).find((x: any) =>
          x.ErrorEquals.some(
            (e: string) => e === "Lambda.TooManyRequestsException" || e === "States.ALL",
          ),
        );
        expect(r, `${id} ${task.Resource}`).toBeDefined();
        let expected = 0;
        for (let i = 0; i < (r.MaxAttempts ?? 3); i++) {
          const delay = Math.min(
            (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** i,
            r.MaxDelaySeconds ?? Number.POSITIVE_INFINITY,
          );
          expected += r.JitterStrategy === "FULL" ? delay / 2 : delay;
        }
        expect(expected, `${id}: throttled retries (s)`).toBeGreaterThanOrEqual(2 * longest);
      }
    }
  });

  it("alarm on failed, timed-out and aborted executions", () => {
    const alarms = ofType("AWS::CloudWatch::Alarm").map(([, a]) => a.Properties);
    for (const [id] of ofType("AWS::StepFunctions::StateMachine")) {
      for (const metric of ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"]) {
        const found = alarms.some(
          (a) =>
            a.MetricName === metric &&
            JSON.stringify(a.Dimensions) ===
              JSON.stringify([{ Name: "StateMachineArn", Value: { Ref: id } }]),
        );
        expect(found, `${metric} alarm of ${id}`).toBe(true);
      }
    }
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
  });
});

describe("exports stuck in progress", () => {
  it("a scheduled rule runs the stuck-export check every 5 minutes", () => {
    const scheduled = ofType("AWS::Events::Rule").filter(
      ([, r]) => r.Properties.ScheduleExpression,
    );
    expect(scheduled).toHaveLength(1);
    const [[, rule]] = scheduled as [[string, Resource]];
    expect(rule.Properties.ScheduleExpression).toBe("rate(5 minutes)");
    expect(rule.Properties.Targets[0].Arn["Fn::GetAtt"][0]).toMatch(
      /^LakeportExportStuckCheckFunction/,
    );
    const [[, fn]] = ofType("AWS::Lambda::Function").filter(([id]) =>
      id.startsWith("LakeportExportStuckCheckFunction"),
    ) as [[string, Resource]];
    expect(fn.Properties.Environment.Variables).toMatchObject({
      STUCK_EXPORT_AFTER_MINUTES: "360",
      EXPORT_STATE_MACHINE_ARN: expect.anything(),
      TABLE_NAME: expect.anything(),
    });
  });

  it("alarms on the metric the check publishes, in the namespace it publishes it", () => {
    const alarm = ofType("AWS::CloudWatch::Alarm")
      .map(([, a]) => a.Properties)
      .find((a) => a.MetricName === STUCK_EXPORTS_METRIC);
    expect(alarm).toMatchObject({
      Namespace: LAKEPORT_METRIC_NAMESPACE,
      Statistic: "Maximum",
      Period: 900,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });

  it("lets the check read executions and export states, and start a lost follow-up export", () => {
    const [[, policy]] = ofType("AWS::IAM::Policy").filter(([id]) =>
      id.startsWith("LakeportExportStuckCheckFunction"),
    ) as [[string, Resource]];
    const actions = statementsOf(policy).flatMap((st) => list(st.Action));
    expect(actions.sort()).toEqual(
      [
        "dynamodb:ConditionCheckItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "states:DescribeExecution",
        "states:StartExecution",
        // The lakeFS credentials (the follow-up reads the branch head).
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        // Its failed scheduled invocations go to the dead-letter queue.
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:SendMessage",
      ].sort(),
    );
    const describe = statementsOf(policy).find((st) =>
      list(st.Action).includes("states:DescribeExecution"),
    )!;
    expect(JSON.stringify(describe.Resource)).toMatch(/:execution:Lakeport-Export:\*/);
  });
});

describe("export starters", () => {
  it("lets every function that starts exports look its execution up by name", () => {
    // A lost StartExecution answer and a re-driven crashed start are settled by
    // DescribeExecution (lambdas/export/app/start-export.ts): without it the trigger and the
    // execution-ended handler got AccessDenied and left the branch to the stuck check.
    for (const prefix of ["LakeportExportTrigger", "LakeportExportWatchdog"]) {
      const [[, policy]] = ofType("AWS::IAM::Policy").filter(([id]) => id.startsWith(prefix)) as [
        [string, Resource],
      ];
      const describe = statementsOf(policy).find((st) =>
        list(st.Action).includes("states:DescribeExecution"),
      );
      expect(describe, prefix).toBeDefined();
      expect(JSON.stringify(describe!.Resource)).toMatch(/:execution:Lakeport-Export:\*/);
    }
  });

  it("lets every function that starts exports check the configuration a start was decided with", () => {
    // A start is recorded in a TransactWriteItems with a ConditionCheck on the configuration
    // (ExportStore.compareAndSetState): IAM authorizes it as dynamodb:ConditionCheckItem, so
    // without it every start (event, follow-up, lost follow-up) failed with AccessDenied.
    for (const prefix of [
      "LakeportExportTrigger",
      "LakeportExportWatchdog",
      "LakeportExportStuckCheck",
    ]) {
      const [[, policy]] = ofType("AWS::IAM::Policy").filter(([id]) => id.startsWith(prefix)) as [
        [string, Resource],
      ];
      const checks = statementsOf(policy).filter((st) =>
        list(st.Action).includes("dynamodb:ConditionCheckItem"),
      );
      expect(
        checks.map((st) => ({ actions: list(st.Action), condition: st.Condition })),
        prefix,
      ).toEqual([
        {
          actions: ["dynamodb:ConditionCheckItem"],
          condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["REPO#*"] } },
        },
      ]);
    }
  });
});

describe("export integrity", () => {
  const policyOf = (prefix: string) =>
    ofType("AWS::IAM::Policy").find(([id]) => id.startsWith(prefix))![1];
  const grants = (prefix: string, action: string) =>
    statementsOf(policyOf(prefix))
      .filter((st) => list(st.Action).includes(action))
      .flatMap(resourceTexts);

  it("gives the API's export routes the deployment's exportBuckets", () => {
    const fn = ofType("AWS::Lambda::Function").find(([id]) => id.includes("ApiExport"))!;
    expect(fn[1].Properties.Environment.Variables.EXPORT_BUCKETS).toBe(EXPORT_BUCKET);
  });

  it("lets full exports list the export buckets and the markers step delete emptied directories' markers there only", () => {
    expect(grants("LakeportExportPlanFunction", "s3:ListBucket").join()).toContain(
      `arn:aws:s3:::${EXPORT_BUCKET}`,
    );
    // An incremental export's plan reads the previous manifest's index (status files live in
    // an export bucket): without one to merge it plans the export as full-compare.
    expect(grants("LakeportExportPlanFunction", "s3:GetObject")).toContain(
      `arn:aws:s3:::${EXPORT_BUCKET}/*`,
    );
    const deletes = grants("LakeportExportMarkersFunction", "s3:DeleteObject");
    expect(deletes).toEqual([`arn:aws:s3:::${EXPORT_BUCKET}/*`]);
  });

  it("lets the copy step read the storage buckets and write, delete and abort uploads in the export buckets, nothing more", () => {
    // CopyObject/UploadPartCopy/HEAD of a source (no request names a version); CopyObject,
    // multipart uploads and DeleteObjects in the export buckets, read only by a HEAD. S3
    // asks for the tagging permissions on both sides when the source object has tags.
    const s3 = statementsOf(policyOf("LakeportExportCopyFunction"))
      .filter((st) => list(st.Action).some((a) => a.startsWith("s3:")))
      .filter((st) => !JSON.stringify(st.Resource).includes("LakeportStorageWork"))
      .map((st) => ({ actions: list(st.Action), resources: resourceTexts(st) }));
    expect(s3).toEqual([
      {
        actions: ["s3:GetObject", "s3:GetObjectTagging"],
        resources: [`arn:aws:s3:::${STORAGE_BUCKET}/*`],
      },
      {
        actions: [
          "s3:PutObject",
          "s3:PutObjectTagging",
          "s3:DeleteObject",
          "s3:AbortMultipartUpload",
        ],
        resources: [`arn:aws:s3:::${EXPORT_BUCKET}/*`],
      },
      // HEAD of a destination whose CompleteMultipartUpload answer was lost (NoSuchUpload on
      // the retry): did it complete? Refused, an object copied counted as a failure.
      { actions: ["s3:GetObject"], resources: [`arn:aws:s3:::${EXPORT_BUCKET}/*`] },
    ]);
  });

  it("lets GC's backup and restore copies read and write objects with their tags in the storage and export buckets", () => {
    const tagged = statementsOf(policyOf("LakeportGcCopyPartsFunction")).filter((st) =>
      list(st.Action).includes("s3:PutObjectTagging"),
    );
    expect(tagged.map((st) => list(st.Action))).toEqual([
      [
        "s3:GetObject",
        "s3:GetObjectTagging",
        "s3:PutObject",
        "s3:PutObjectTagging",
        "s3:AbortMultipartUpload",
      ],
    ]);
    expect(tagged.flatMap(resourceTexts).sort()).toEqual(
      [`arn:aws:s3:::${STORAGE_BUCKET}/*`, `arn:aws:s3:::${EXPORT_BUCKET}/*`].sort(),
    );
  });

  it("lets the trigger and the execution-ended handler touch only items of the repository partition", () => {
    for (const prefix of ["LakeportExportTriggerFunction", "LakeportExportWatchdogFunction"]) {
      const dynamo = statementsOf(policyOf(prefix)).filter((st) =>
        list(st.Action).some((a) => a.startsWith("dynamodb:")),
      );
      expect(dynamo.length, prefix).toBeGreaterThan(0);
      for (const st of dynamo) {
        expect(st.Condition, prefix).toEqual({
          "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["REPO#*"] },
        });
      }
      expect(dynamo.flatMap((st) => list(st.Action)).sort(), prefix).toEqual([
        "dynamodb:ConditionCheckItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
      ]);
    }
  });

  it("lets the plan and copy steps update the export's progress item and no other item", () => {
    for (const prefix of ["LakeportExportPlanFunction", "LakeportExportCopyFunction"]) {
      const dynamo = statementsOf(policyOf(prefix)).filter((st) =>
        list(st.Action).some((a) => a.startsWith("dynamodb:")),
      );
      expect(
        dynamo.map((st) => list(st.Action)),
        prefix,
      ).toEqual([["dynamodb:UpdateItem"]]);
      expect(dynamo[0]!.Condition, prefix).toEqual({
        "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["EXPORTPROGRESS#*"] },
      });
    }
  });

  it("lets the status step update the export's progress item and read the branch's export state, nothing more", () => {
    const dynamo = statementsOf(policyOf("LakeportExportStatusFunction"))
      .filter((st) => list(st.Action).some((a) => a.startsWith("dynamodb:")))
      .map((st) => ({ actions: list(st.Action), condition: st.Condition }));
    expect(dynamo).toEqual([
      {
        actions: ["dynamodb:UpdateItem"],
        condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["EXPORTPROGRESS#*"] } },
      },
      {
        actions: ["dynamodb:GetItem"],
        condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["REPO#*"] } },
      },
    ]);
  });

  it("records an export's outcome only once its execution has ended: the finish step touches no state", () => {
    const finish = ofType("AWS::IAM::Policy").filter(([id]) =>
      id.startsWith("LakeportExportFinishFunction"),
    );
    for (const [, p] of finish) {
      for (const st of statementsOf(p)) {
        for (const a of list(st.Action)) expect(a).not.toMatch(/^dynamodb:/);
      }
    }
    const [[, sm]] = ofType("AWS::StepFunctions::StateMachine").filter(([id]) =>
      id.startsWith("LakeportExportStateMachine"),
    ) as [[string, Resource]];
    const states = definitionOf(sm).States;
    // The Finish step names the error: ExportFailed, or ExportFailedCopiesMayRun (settling.ts).
    expect(states.ExportFailed).toMatchObject({ Type: "Fail", ErrorPath: "$.finish.error" });
    expect(states.ExportFailed.CausePath).toBe("$.finish.errorMessage");
    expect(JSON.stringify(states["FinishedFailed?"])).toContain("$.finish.outcome");
    // After the status step's success line nothing can fail the execution: every state it
    // can reach leads to Succeed, and the one Lambda there (the writers check) catches all.
    expect(states.Status.Next).toBe("ExportSucceeded?");
    const succeeded = states["ExportSucceeded?"];
    expect(JSON.stringify(succeeded.Choices)).toContain("$.status.status");
    expect(succeeded.Default).toBe("Finish");
    const reached = new Set<string>();
    const walk = (name: string) => {
      if (reached.has(name)) return;
      reached.add(name);
      const st = states[name];
      if (st.Type === "Task") {
        expect(st.Catch?.[0]?.ErrorEquals).toEqual(["States.ALL"]);
        for (const c of st.Catch) walk(c.Next);
      }
      for (const c of st.Choices ?? []) walk(c.Next);
      if (st.Default) walk(st.Default);
      if (st.Next) walk(st.Next);
    };
    for (const c of succeeded.Choices) walk(c.Next);
    const types = [...reached].map((n) => states[n].Type);
    expect(types).toContain("Succeed");
    expect(types).not.toContain("Fail");
    // The writers still running are waited for, rechecked every few seconds (writers.ts).
    expect([...reached].filter((n) => states[n].Type === "Task")).toEqual(["WritersCheck"]);
    expect(JSON.stringify(states["WritersRunning?"])).toContain("$.status.writersRunUntil");
    expect(states.WaitForWritersDeadline.TimestampPath).toBe("$.status.writersRunUntil");
  });
});

describe("IAM", () => {
  const policies = () => ofType("AWS::IAM::Policy");

  it("names no role: CloudFormation names them <stackName>-..., which a cross-account bucket policy matches", () => {
    const roles = ofType("AWS::IAM::Role");
    expect(roles.length).toBeGreaterThan(0);
    expect(roles.filter(([, r]) => r.Properties.RoleName !== undefined)).toEqual([]);
  });

  it("grants no cloudwatch:PutMetricData: metrics are EMF lines on stdout", () => {
    const actions = policies().flatMap(([, p]) => statementsOf(p).flatMap((st) => list(st.Action)));
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((a) => /^cloudwatch:/i.test(a))).toEqual([]);
  });

  it("grants no service-wide wildcard action and no S3 action on every resource", () => {
    for (const [id, p] of policies()) {
      for (const st of statementsOf(p)) {
        for (const action of list(st.Action)) {
          expect(action, id).not.toBe("*");
          expect(action, id).not.toMatch(/^[a-z0-9-]+:\*$/);
          if (action.startsWith("s3:"))
            expect(list(st.Resource), `${id} ${action}`).not.toContain("*");
        }
      }
    }
  });

  it("lets only the GC sweep delete in the storage buckets", () => {
    const deleters = policies().filter(([, p]) =>
      statementsOf(p).some(
        (st) =>
          list(st.Action).some((a) => a.startsWith("s3:Delete")) &&
          resourceTexts(st).some((r) => r.startsWith(`arn:aws:s3:::${STORAGE_BUCKET}`)),
      ),
    );
    expect(deleters.map(([id]) => id)).toEqual([expect.stringMatching(/^LakeportGcSweepFunction/)]);
  });

  // README (Bucket access): in the export buckets only the export's plan, copy and markers
  // steps may delete.
  it("lets only the export's plan, copy and markers steps delete in the export buckets", () => {
    const deleters = policies().filter(([, p]) =>
      statementsOf(p).some(
        (st) =>
          list(st.Action).some((a) => a.startsWith("s3:Delete")) &&
          resourceTexts(st).some((r) => r.startsWith(`arn:aws:s3:::${EXPORT_BUCKET}`)),
      ),
    );
    expect(deleters.map(([id]) => id.replace(/Function.*/, "")).sort()).toEqual([
      "LakeportExportCopy",
      "LakeportExportMarkers",
      "LakeportExportPlan",
    ]);
  });

  it("lets the GC steps write in the storage buckets only under _lakefs/retention/gc/ and _lakefs/logs/gc/", () => {
    const prefixes = ["_lakefs/retention/gc/*", "_lakefs/logs/gc/*"].flatMap((p) => [
      `arn:aws:s3:::${STORAGE_BUCKET}/${p}`,
      `arn:aws:s3:::${STORAGE_BUCKET}/*/${p}`,
    ]);
    const writers = new Set<string>();
    for (const [id, p] of policies()) {
      // The GC steps; the backup/restore copy workflow (CopyPlan, CopyParts) writes restored
      // objects back where they were, by design.
      if (!/^LakeportGc\w+Function/.test(id) || /^LakeportGcCopy/.test(id)) continue;
      for (const st of statementsOf(p)) {
        if (!list(st.Action).some((a) => a.startsWith("s3:Put"))) continue;
        for (const r of resourceTexts(st)) {
          if (!r.includes(STORAGE_BUCKET)) continue;
          writers.add(id.replace(/Function.*/, ""));
          expect(prefixes, `${id} ${r}`).toContain(r);
        }
      }
    }
    expect([...writers].sort()).toEqual([
      "LakeportGcCommits",
      "LakeportGcMark",
      "LakeportGcSummary",
      "LakeportGcSweep",
    ]);
  });

  it("lets workflow steps only read, write and list the work bucket, never delete", () => {
    const work = ofType("AWS::S3::Bucket").find(([id]) => id.startsWith("LakeportStorageWork"))![0];
    for (const [id, p] of policies()) {
      if (!/^Lakeport(Export|Gc)\w+Function/.test(id)) continue;
      for (const st of statementsOf(p)) {
        if (!JSON.stringify(st.Resource).includes(work)) continue;
        for (const action of list(st.Action)) {
          expect(["s3:GetObject", "s3:PutObject", "s3:ListBucket"], `${id} ${action}`).toContain(
            action,
          );
        }
      }
    }
  });

  it("never lets the API or export functions touch the storage buckets except to read", () => {
    for (const [id, p] of policies()) {
      if (/^LakeportGc/.test(id)) continue;
      for (const st of statementsOf(p)) {
        if (!resourceTexts(st).some((r) => r.includes(STORAGE_BUCKET))) continue;
        for (const action of list(st.Action)) {
          expect(
            ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:ListBucket"],
            `${id}`,
          ).toContain(action);
        }
      }
    }
  });
});

describe("API", () => {
  it("requires IAM auth on every route but the webhook, and validates every request", () => {
    const methods = ofType("AWS::ApiGateway::Method");
    expect(methods.length).toBe(ROUTES.length);
    const unauthenticated = methods.filter(([, m]) => m.Properties.AuthorizationType !== "AWS_IAM");
    expect(unauthenticated.map(([id]) => id)).toEqual([
      expect.stringMatching(/webhookslakefsPOST/),
    ]);
    expect(unauthenticated[0]![1].Properties.AuthorizationType).toBe("NONE");
    for (const [, m] of methods) expect(m.Properties.RequestValidatorId).toBeDefined();
  });

  it("throttles and writes access logs", () => {
    template.hasResourceProperties("AWS::ApiGateway::Stage", {
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
      ]),
    });
  });

  it("reads the webhook token from Secrets Manager", () => {
    const webhook = ofType("AWS::Lambda::Function").find(([id]) => id.includes("ApiWebhook"))!;
    expect(webhook[1].Properties.Environment.Variables.WEBHOOK_SECRET_ARN).toEqual({
      Ref: expect.stringMatching(/^LakeportWebhookSecret/),
    });
  });
});

describe("storage", () => {
  it("table: point-in-time recovery and encryption", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it("work bucket: encrypted, public access blocked, TLS only, access logs, shards expire", () => {
    const prefixes = ["exports/", "gc/", "tmp/"].map((Prefix) =>
      Match.objectLike({ Prefix, ExpirationInDays: 7, Status: "Enabled" }),
    );
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: Match.objectLike({}),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
      LifecycleConfiguration: { Rules: Match.arrayWith(prefixes) },
    });
    const tlsOnly = ofType("AWS::S3::BucketPolicy").filter(([, p]) =>
      statementsOf(p).some(
        (st: any) =>
          st.Effect === "Deny" &&
          JSON.stringify(st.Condition) ===
            JSON.stringify({ Bool: { "aws:SecureTransport": "false" } }),
      ),
    );
    expect(tlsOnly.length).toBe(ofType("AWS::S3::Bucket").length);
  });
});

describe("events that could be dropped", () => {
  it("every rule target has a dead-letter queue, every function a rule invokes an on-failure destination", () => {
    const rules = ofType("AWS::Events::Rule");
    expect(rules.length).toBeGreaterThanOrEqual(1);
    const invokeConfigs = ofType("AWS::Lambda::EventInvokeConfig").map(([, c]) =>
      JSON.stringify(c.Properties.FunctionName),
    );
    for (const [id, rule] of rules) {
      for (const target of rule.Properties.Targets) {
        expect(target.DeadLetterConfig?.Arn, id).toEqual({
          "Fn::GetAtt": [expect.stringMatching(/^LakeportEventDeadLetters/), "Arn"],
        });
        const fnId = target.Arn["Fn::GetAtt"]?.[0];
        if (fnId) expect(invokeConfigs, id).toContain(JSON.stringify({ Ref: fnId }));
      }
    }
  });

  it("scheduled GC runs invoke the API's GC start with a dead-letter queue", () => {
    const [[, schedule]] = ofType("AWS::Scheduler::Schedule") as [[string, Resource]];
    expect(schedule.Properties.ScheduleExpression).toBe("cron(0 3 ? * SUN *)");
    const target = schedule.Properties.Target;
    expect(target.Arn["Fn::GetAtt"][0]).toMatch(/^LakeportApiGcFunction/);
    expect(target.DeadLetterConfig.Arn["Fn::GetAtt"][0]).toMatch(/^LakeportEventDeadLetters/);
    const event = JSON.parse(target.Input);
    expect(event).toMatchObject({
      httpMethod: "POST",
      resource: "/api/v1/repositories/{repository}/gc/runs",
      pathParameters: { repository: "example-repo" },
    });
    expect(JSON.parse(event.body)).toEqual({ mode: "mark-and-sweep" });
  });
});

describe("secrets", () => {
  const LAKEFS_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:lakefs-AbCdEf";
  /** A function's logical id by its role's, and each role's statements (inline policies). */
  function rolesAndStatements() {
    const fnOfRole = new Map<string, string>();
    for (const [id, fn] of ofType("AWS::Lambda::Function")) {
      fnOfRole.set(fn.Properties.Role["Fn::GetAtt"][0], id);
    }
    const statements = new Map<string, ReturnType<typeof statementsOf>>();
    for (const [, policy] of ofType("AWS::IAM::Policy")) {
      for (const role of policy.Properties.Roles ?? []) {
        statements.set(role.Ref, [...(statements.get(role.Ref) ?? []), ...statementsOf(policy)]);
      }
    }
    for (const [id, role] of ofType("AWS::IAM::Role")) {
      for (const p of role.Properties.Policies ?? []) {
        statements.set(id, [...(statements.get(id) ?? []), ...p.PolicyDocument.Statement]);
      }
    }
    return { fnOfRole, statements };
  }
  const readsSecret = (sts: ReturnType<typeof statementsOf>, arn: (r: string) => boolean) =>
    sts.some(
      (st) =>
        list(st.Action).some((a) => /^secretsmanager:(GetSecretValue|\*)$|^\*$/.test(a)) &&
        resourceTexts(st).some(arn),
    );

  it("lets only the functions that call lakeFS read its secret, and only the webhook the token", () => {
    const { fnOfRole, statements } = rolesAndStatements();
    const lakeFsReaders: string[] = [];
    const tokenReaders: string[] = [];
    for (const [role, sts] of statements) {
      const who = fnOfRole.get(role) ?? `role ${role}`;
      if (readsSecret(sts, (r) => r === LAKEFS_SECRET || r === "*")) lakeFsReaders.push(who);
      if (readsSecret(sts, (r) => r.includes("LakeportWebhookSecret") || r === "*"))
        tokenReaders.push(who);
    }
    // The functions told where the secret is are the ones that may read it...
    const told = ofType("AWS::Lambda::Function")
      .filter(([, fn]) => "LAKEFS_SECRET_ARN" in (fn.Properties.Environment?.Variables ?? {}))
      .map(([id]) => id);
    expect(lakeFsReaders.sort()).toEqual(told.sort());
    // ...and they are the ones whose work calls lakeFS (by logical id, hash left off): the API's
    // export and GC routes, the export's start, plan, markers, status, execution-ended handler
    // (a continuous branch's head) and stuck check, GC's commits, addresses, revalidation and
    // sweep steps and the backup copy's plan (lakeFS's repositories). Not the webhook, the copy,
    // the finish, GC's mark, summary or copies: a new reader is a decision, made here.
    expect(lakeFsReaders.map((id) => id.replace(/[0-9A-F]{8}$/, "")).sort()).toEqual([
      "LakeportApiExportFunction",
      "LakeportApiGcFunction",
      "LakeportExportMarkersFunction",
      "LakeportExportPlanFunction",
      "LakeportExportStatusFunction",
      "LakeportExportStuckCheckFunction",
      "LakeportExportTriggerFunction",
      "LakeportExportWatchdogFunction",
      "LakeportGcAddressesFunction",
      "LakeportGcCommitsFunction",
      "LakeportGcCopyPlanFunction",
      "LakeportGcRevalidateFunction",
      "LakeportGcSweepFunction",
    ]);
    expect(tokenReaders).toEqual([expect.stringMatching(/^LakeportApiWebhookFunction/)]);
    // No role gets a managed policy that could read secrets.
    for (const [id, role] of ofType("AWS::IAM::Role")) {
      expect(JSON.stringify(role.Properties.ManagedPolicyArns ?? []), id).not.toMatch(
        /SecretsManager|AdministratorAccess|ReadOnlyAccess/,
      );
    }
  });

  it("API Gateway logs no request: no data trace, an access log without headers", () => {
    // A data trace writes each request's headers and body to CloudWatch: the webhook's
    // X-Lakeport-Token and every caller's Authorization.
    const stages = ofType("AWS::ApiGateway::Stage");
    expect(stages.length).toBeGreaterThan(0);
    for (const [id, stage] of stages) {
      const settings: { DataTraceEnabled?: boolean }[] = stage.Properties.MethodSettings ?? [];
      expect(settings.length, id).toBeGreaterThan(0);
      for (const m of settings) expect(m.DataTraceEnabled, id).toBe(false);
      expect(String(stage.Properties.AccessLogSetting?.Format), id).not.toMatch(
        /header|\$input|authorizer/i,
      );
    }
  });

  it("passes the secrets' ARNs, never a value, in environments, outputs and parameters", () => {
    const json = JSON.parse(readFileSync(path.join(outdir, "Lakeport.template.json"), "utf8"));
    for (const [id, fn] of ofType("AWS::Lambda::Function")) {
      const vars: Record<string, unknown> = fn.Properties.Environment?.Variables ?? {};
      for (const name of Object.keys(vars)) {
        // Names that would hold a secret's value (the local environment's, never deployed).
        expect(name, id).not.toMatch(/SECRET_ACCESS_KEY|SESSION_TOKEN|^WEBHOOK_TOKEN$|PASSWORD/);
      }
      if ("LAKEFS_SECRET_ARN" in vars) expect(vars.LAKEFS_SECRET_ARN, id).toBe(LAKEFS_SECRET);
      if ("WEBHOOK_SECRET_ARN" in vars) {
        expect(vars.WEBHOOK_SECRET_ARN, id).toEqual({
          Ref: expect.stringMatching(/^LakeportWebhookSecret/),
        });
      }
    }
    // A dynamic reference would put a secret's value into a resource's properties.
    expect(
      JSON.stringify(json).match(/.{0,80}(resolve:secretsmanager|"SecretString").{0,40}/g),
    ).toBeNull();
    expect(json.Outputs.WebhookSecretArn.Value).toEqual({
      Ref: expect.stringMatching(/^LakeportWebhookSecret/),
    });
    const outputs = JSON.stringify(json.Outputs);
    expect(outputs).not.toMatch(/SecretValue|secretAccessKey|Token"/i);
    // Parameters: CDK's own (bootstrap version, asset locations) only, none for a secret.
    for (const name of Object.keys(json.Parameters ?? {})) {
      expect(name).toMatch(/^BootstrapVersion$|^AssetParameters/);
    }
  });
});
