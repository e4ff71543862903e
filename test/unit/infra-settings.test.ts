// The app's settings (context or LAKEPORT_* environment) and the Lakeport construct's props
// are checked before anything is synthesized; errors name the setting.
// biome-ignore-all lint/suspicious/noExplicitAny: the synthesized CloudFormation JSON is untyped
import { App, type CfnElement, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import { describe, expect, it } from "vitest";
import { lakeportPropsFromSettings } from "../../infra/app";
import { isBucketName, Lakeport, type LakeportProps, validateProps } from "../../infra/lakeport";
import { validateSettings } from "../../infra/stack";

const SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:lakefs-AbCdEf";
const REQUIRED: Record<string, unknown> = {
  lakeFsEndpoint: "https://lakefs.example.com",
  lakeFsSecretArn: SECRET,
  storageBuckets: "lake-a, lake-b",
  exportBuckets: "exports-a",
};

/** Settings from context only (the environment reader sees nothing). */
const fromContext = (context: Record<string, unknown>) =>
  lakeportPropsFromSettings((key) => context[key]);

describe("lakeportPropsFromSettings", () => {
  it("reads the required settings and applies the documented defaults", () => {
    const { stackName, lakeport } = fromContext(REQUIRED);
    expect(stackName).toBe("Lakeport");
    expect(lakeport).toMatchObject({
      lakeFsEndpoint: "https://lakefs.example.com",
      storageBuckets: ["lake-a", "lake-b"],
      exportBuckets: ["exports-a"],
      logRetention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    expect(lakeport.maxConcurrency).toBeUndefined();
    expect(lakeport.reservedConcurrency).toBeUndefined();
  });

  it("takes the environment when the context has no value, context first", () => {
    const env: Record<string, string> = {
      LAKEPORT_LAKEFS_ENDPOINT: "https://env.example.com",
      LAKEPORT_LAKEFS_SECRET_ARN: SECRET,
      LAKEPORT_STORAGE_BUCKETS: "env-bucket",
      LAKEPORT_EXPORT_BUCKETS: "env-exports",
      LAKEPORT_MAX_CONCURRENCY: "20",
    };
    const context: Record<string, unknown> = { storageBuckets: ["ctx-bucket"] };
    const { lakeport } = lakeportPropsFromSettings((key, envName) => context[key] ?? env[envName]);
    expect(lakeport.lakeFsEndpoint).toBe("https://env.example.com");
    expect(lakeport.storageBuckets).toEqual(["ctx-bucket"]);
    expect(lakeport.maxConcurrency).toBe(20);
  });

  it("names the missing setting and both ways to pass it", () => {
    const { lakeFsSecretArn: _omit, ...rest } = REQUIRED;
    expect(() => fromContext(rest)).toThrow(
      "setting lakeFsSecretArn (-c lakeFsSecretArn=... or LAKEPORT_LAKEFS_SECRET_ARN): missing",
    );
  });

  it.each([
    [{ maxConcurrency: "lots" }, /setting maxConcurrency .*"lots" is not a whole number/],
    [{ logRetentionDays: "8" }, /setting logRetentionDays .*8 is not a CloudWatch Logs retention/],
    [{ removalPolicy: "snapshot" }, /setting removalPolicy .*"snapshot" is not retain or destroy/],
    [{ gcSchedules: "{not json" }, /setting gcSchedules .*is not JSON/],
    [{ gcSchedules: '{"repository":"r"}' }, /setting gcSchedules .*must be a JSON list/],
    [{ alarmTopicArn: "topic" }, /setting alarmTopicArn .*"topic" is not an SNS topic ARN/],
    [
      { stuckExportMinutes: "10" },
      /setting stuckExportMinutes \(.*LAKEPORT_STUCK_EXPORT_MINUTES\): 10 is not from 15 to 1440/,
    ],
    [{ stuckExportMinutes: "2000" }, /setting stuckExportMinutes .*2000 is not from 15 to 1440/],
  ])("rejects %j", (extra, message) => {
    expect(() => fromContext({ ...REQUIRED, ...extra })).toThrow(message);
  });

  it("reads the stuck-export limit in minutes", () => {
    expect(fromContext(REQUIRED).lakeport.stuckExportAfter).toBeUndefined();
    expect(
      fromContext({ ...REQUIRED, stuckExportMinutes: "90" }).lakeport.stuckExportAfter?.toMinutes(),
    ).toBe(90);
  });

  it("parses GC schedules given as JSON text (environment) or a list (cdk.json)", () => {
    const schedule = { repository: "example-repo", expression: "rate(1 day)" };
    expect(
      fromContext({ ...REQUIRED, gcSchedules: JSON.stringify([schedule]) }).lakeport.gcSchedules,
    ).toEqual([schedule]);
    expect(fromContext({ ...REQUIRED, gcSchedules: [schedule] }).lakeport.gcSchedules).toEqual([
      schedule,
    ]);
  });
});

describe("validateSettings (the stack's names and ARNs)", () => {
  const valid = {
    lakeFsEndpoint: "https://lakefs.example.com",
    lakeFsSecretArn: SECRET,
    storageBuckets: ["lake-a"],
    exportBuckets: ["exports-a"],
  };

  it("accepts valid settings", () => {
    expect(() => validateSettings(valid)).not.toThrow();
  });

  it.each([
    [
      { lakeFsSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:lakefs" },
      /lakeFsSecretArn: .*not a complete Secrets Manager ARN/,
    ],
    [
      { exportBuckets: ["Bad_Bucket"] },
      /exportBuckets: "Bad_Bucket" is not a valid S3 bucket name/,
    ],
  ])("rejects %j", (change, message) => {
    expect(() => validateSettings({ ...valid, ...change })).toThrow(message);
  });
});

describe("validateProps", () => {
  const stack = new Stack();
  const valid: LakeportProps = {
    lakeFsEndpoint: "https://lakefs.example.com",
    lakeFsSecret: secrets.Secret.fromSecretCompleteArn(stack, "LakeFs", SECRET),
    storageBuckets: [s3.Bucket.fromBucketName(stack, "LakeA", "lake-a")],
    exportBuckets: [s3.Bucket.fromBucketName(stack, "ExportsA", "exports-a")],
  };

  it("accepts valid props, bucket names that are tokens too", () => {
    expect(() => validateProps(valid)).not.toThrow();
    const inApp = new s3.Bucket(stack, "InApp");
    expect(() => validateProps({ ...valid, exportBuckets: [inApp] })).not.toThrow();
  });

  it.each([
    [{ lakeFsEndpoint: "lakefs.example.com" }, /lakeFsEndpoint: .* is not an http\(s\) URL/],
    [{ storageBuckets: [] }, /storageBuckets: at least one bucket/],
    [
      { exportBuckets: [{ bucketName: "Bad_Bucket" }] },
      /exportBuckets: "Bad_Bucket" is not a valid S3 bucket name/,
    ],
    [{ securityGroups: [{}] }, /securityGroups: given without vpc/],
    [{ maxConcurrency: 0 }, /maxConcurrency: must be a whole number from 1/],
    [{ reservedConcurrency: 2.5 }, /reservedConcurrency: must be a whole number/],
    // A distributed map runs maxConcurrency children invoking one function synchronously:
    // beyond its reserved concurrency Lambda throttles them, and a child's retries (about two
    // minutes) end long before a running batch (up to 15) frees a slot.
    [{ reservedConcurrency: 25 }, /reservedConcurrency: 25 is below maxConcurrency \(50\)/],
    [
      { reservedConcurrency: 10, maxConcurrency: 20 },
      /reservedConcurrency: 10 is below maxConcurrency \(20\)/,
    ],
    [
      { gcSchedules: [{ repository: "X", expression: "rate(1 day)" }] },
      /gcSchedules\[0\]\.repository: "X"/,
    ],
    [
      { gcSchedules: [{ repository: "repo", expression: "every day" }] },
      /gcSchedules\[0\]\.expression: "every day"/,
    ],
    [
      {
        gcSchedules: [
          { repository: "repo", expression: "rate(1 day)" },
          { repository: "repo", expression: "rate(2 days)" },
        ],
      },
      /gcSchedules\[1\]\.repository: "repo" twice/,
    ],
    [
      { gcSchedules: [{ repository: "repo", expression: "rate(1 day)", mode: "sweep" }] },
      /gcSchedules\[0\]\.mode: must be one of/,
    ],
    [
      { stuckExportAfter: Duration.minutes(5) },
      /stuckExportAfter: must be from 15 minutes to 24 hours \(got 5 minutes\)/,
    ],
    [
      { stuckExportAfter: Duration.hours(25) },
      /stuckExportAfter: must be from 15 minutes to 24 hours \(got 1 day 1 hour\)/,
    ],
  ])("rejects %j", (change, message) => {
    expect(() => validateProps({ ...valid, ...(change as Partial<LakeportProps>) })).toThrow(
      message,
    );
  });

  it("knows S3 bucket naming rules", () => {
    for (const ok of ["abc", "my.bucket-1", "a".repeat(63)])
      expect(isBucketName(ok), ok).toBe(true);
    for (const bad of [
      "ab",
      "a".repeat(64),
      "Upper",
      "a..b",
      "192.168.1.1",
      "xn--abc",
      "b-s3alias",
      "-ab",
    ]) {
      expect(isBucketName(bad), bad).toBe(false);
    }
  });
});

describe("accepted cdk-nag findings", () => {
  it("accept wildcard objects only of the configured buckets, below the Lakeport construct", () => {
    // No esbuild bundling: only the construct tree is read.
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "Nested");
    const lakeport = new Lakeport(stack, "Data", {
      lakeFsEndpoint: "https://lakefs.example.com",
      lakeFsSecret: secrets.Secret.fromSecretCompleteArn(stack, "LakeFs", SECRET),
      storageBuckets: [s3.Bucket.fromBucketName(stack, "LakeA", "lake-a")],
      exportBuckets: [s3.Bucket.fromBucketName(stack, "ExportsA", "exports-a")],
    });
    const accepted = lakeport.acceptedNagFindings();
    const path = "Gc/SweepFunction/ServiceRole/DefaultPolicy/Resource";
    const isAccepted = (rule: string, at = path) =>
      accepted.some((a) => a.rule.test(rule) && a.path.test(at));
    expect(isAccepted("AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::lake-a/*]")).toBe(
      true,
    );
    expect(isAccepted("AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::other/*]")).toBe(
      false,
    );
    // Paths are relative to the Lakeport construct: the stack's path is not assumed.
    expect(
      isAccepted("AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::lake-a/*]", `Data/${path}`),
    ).toBe(false);
    expect(isAccepted("AwsSolutions-IAM5[Resource::*]")).toBe(false);
    expect(isAccepted("AwsSolutions-IAM5[Action::s3:*]")).toBe(false);
    for (const a of accepted) expect(a.reason.length).toBeGreaterThan(40);
  });
});

describe("bucket keys", () => {
  it("grant the workflows a bucket's own key and the listed keys, not the API", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "Keys");
    const ownKey = new kms.Key(stack, "LakeKey");
    const listed = kms.Key.fromKeyArn(
      stack,
      "Listed",
      "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555",
    );
    new Lakeport(stack, "Lakeport", {
      lakeFsEndpoint: "https://lakefs.example.com",
      lakeFsSecret: secrets.Secret.fromSecretCompleteArn(stack, "LakeFs", SECRET),
      storageBuckets: [new s3.Bucket(stack, "Lake", { encryptionKey: ownKey })],
      exportBuckets: [s3.Bucket.fromBucketName(stack, "Exports", "exports-a")],
      bucketKeys: [listed],
    });
    const policies = Template.fromStack(stack).findResources("AWS::IAM::Policy");
    const kmsResources = (prefix: string) =>
      Object.entries(policies)
        .filter(([id]) => id.startsWith(prefix))
        .flatMap(([, p]) => (p as any).Properties.PolicyDocument.Statement)
        .filter((st: any) => [st.Action].flat().includes("kms:Decrypt"))
        .map((st: any) => JSON.stringify(st.Resource));
    const copy = kmsResources("LakeportExportCopyFunction").join();
    expect(copy).toContain(stack.getLogicalId(ownKey.node.defaultChild as CfnElement));
    expect(copy).toContain("11111111-2222-3333-4444-555555555555");
    expect(kmsResources("LakeportGcSweepFunction").join()).toContain("11111111");
    expect(kmsResources("LakeportApiExportFunction")).toEqual([]);
  });

  it("grant Lakeport's own key to what reaches the table or the work bucket, not to the functions that call no AWS service", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "OwnKey");
    new Lakeport(stack, "Lakeport", {
      lakeFsEndpoint: "https://lakefs.example.com",
      lakeFsSecret: secrets.Secret.fromSecretCompleteArn(stack, "LakeFs", SECRET),
      storageBuckets: [s3.Bucket.fromBucketName(stack, "Lake", "lake-a")],
      exportBuckets: [s3.Bucket.fromBucketName(stack, "Exports", "exports-a")],
      encryptionKey: new kms.Key(stack, "Own"),
    });
    const policies = Template.fromStack(stack).findResources("AWS::IAM::Policy");
    const decrypts = (prefix: string) =>
      Object.entries(policies)
        .filter(([id]) => id.startsWith(prefix))
        .flatMap(([, p]) => (p as any).Properties.PolicyDocument.Statement)
        .some((st: any) => [st.Action].flat().includes("kms:Decrypt"));
    for (const fn of ["ApiExport", "ApiWebhook", "ExportTrigger", "ExportCopy", "GcSummary"]) {
      expect(decrypts(`Lakeport${fn}Function`), fn).toBe(true);
    }
    expect(decrypts("LakeportExportStateMachineRole"), "export state machine").toBe(true);
    // The OpenAPI document and the export's finish step touch no table, bucket or secret.
    expect(decrypts("LakeportApiMetaFunction")).toBe(false);
    expect(decrypts("LakeportExportFinishFunction")).toBe(false);
  });
});

describe("export tuning context", () => {
  /** The synthesized export functions' properties by logical id (without the hash). */
  /** The app's template with `context`, the construct given `maxConcurrency` when set. */
  // Synthesized once per settings: the tests below read the same default template.
  const templates = new Map<string, Template>();
  const templateOf = (context: Record<string, unknown>, maxConcurrency?: number) => {
    const key = JSON.stringify([context, maxConcurrency]);
    const known = templates.get(key);
    if (known) return known;
    const template = synthesizedTemplateOf(context, maxConcurrency);
    templates.set(key, template);
    return template;
  };
  const synthesizedTemplateOf = (context: Record<string, unknown>, maxConcurrency?: number) => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [], ...context } });
    const stack = new Stack(app, "Tuned");
    new Lakeport(stack, "Data", {
      lakeFsEndpoint: "https://lakefs.example.com",
      lakeFsSecret: secrets.Secret.fromSecretCompleteArn(stack, "LakeFs", SECRET),
      storageBuckets: [s3.Bucket.fromBucketName(stack, "LakeA", "lake-a")],
      exportBuckets: [s3.Bucket.fromBucketName(stack, "ExportsA", "exports-a")],
      ...(maxConcurrency ? { maxConcurrency } : {}),
    });
    return Template.fromStack(stack);
  };
  const functionsOf = (context: Record<string, unknown>) => {
    const fns = templateOf(context).findResources("AWS::Lambda::Function");
    return Object.fromEntries(
      Object.entries(fns).map(([id, fn]) => [
        id.replace(/[0-9A-F]{8}$/, ""),
        (fn as any).Properties,
      ]),
    );
  };
  const copyConcurrencyOf = (context: Record<string, unknown>) =>
    functionsOf(context).DataExportCopyFunction.Environment.Variables.COPY_CONCURRENCY;
  const copyMemoryOf = () =>
    Object.fromEntries(Object.entries(functionsOf({})).map(([id, p]) => [id, p.MemorySize]));

  it("the copy Lambda has 1 769 MB (one vCPU), the other export steps 1 024 MB", () => {
    const memory = copyMemoryOf();
    expect(memory.DataExportCopyFunction).toBe(1769);
    expect(memory.DataExportPlanFunction).toBe(1024);
    expect(memory.DataExportStatusFunction).toBe(1024);
  });

  it("the export Lambdas set no heap flags: Lambda's bootstrap sizes the young generation by memory", () => {
    const nodeOptions = Object.fromEntries(
      Object.entries(functionsOf({})).map(([id, p]) => [id, p.Environment.Variables.NODE_OPTIONS]),
    );
    for (const f of ["Plan", "Copy", "Status", "Markers", "ManifestGroup"]) {
      expect(nodeOptions[`DataExport${f}Function`], f).toBe("--enable-source-maps");
    }
  });

  it("lakeport:exportCopyConcurrency sets the copies in flight per copy Lambda (default 32)", () => {
    expect(copyConcurrencyOf({})).toBe("32");
    expect(copyConcurrencyOf({ "lakeport:exportCopyConcurrency": "64" })).toBe("64");
  });

  it("lakeport:exportShardsPerBatch fixes the shards per copy map child; by default the plan sizes them by maxConcurrency", () => {
    const copyBatcherOf = (context: Record<string, unknown>) => {
      const template = templateOf(context, 20);
      const machines = template.findResources("AWS::StepFunctions::StateMachine");
      const text = JSON.stringify(machines);
      const batcher = /\\"CopyShards\\":\{.*?\\"ItemBatcher\\":(\{[^}]*\})/.exec(text)?.[1];
      const plan = Object.entries(template.findResources("AWS::Lambda::Function")).find(([id]) =>
        id.startsWith("DataExportPlanFunction"),
      )![1] as any;
      return {
        batcher,
        mapConcurrency: plan.Properties.Environment.Variables.COPY_MAP_CONCURRENCY,
      };
    };
    const planned = copyBatcherOf({});
    expect(planned.batcher).toContain('MaxItemsPerBatchPath\\":\\"$.plan.shardsPerBatch');
    expect(planned.mapConcurrency).toBe("20");
    const fixed = copyBatcherOf({ "lakeport:exportShardsPerBatch": "3" });
    expect(fixed.batcher).toContain('MaxItemsPerBatch\\":3');
    expect(fixed.batcher).not.toContain("MaxItemsPerBatchPath");
  });
});

describe("the construct's documented defaults (README: Deploying, Costs and removal)", () => {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "Defaults");
  new Lakeport(stack, "Data", {
    lakeFsEndpoint: "https://lakefs.example.com",
    lakeFsSecret: secrets.Secret.fromSecretCompleteArn(stack, "LakeFs", SECRET),
    storageBuckets: [s3.Bucket.fromBucketName(stack, "LakeA", "lake-a")],
    exportBuckets: [s3.Bucket.fromBucketName(stack, "ExportsA", "exports-a")],
  });
  const resources = Object.entries(Template.fromStack(stack).toJSON().Resources) as [string, any][];
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);

  it("every distributed map runs at most 50 child executions at a time", () => {
    const concurrency = ofType("AWS::StepFunctions::StateMachine").flatMap(([, sm]) =>
      [...JSON.stringify(sm.Properties.DefinitionString).matchAll(/MaxConcurrency\\":(\d+)/g)].map(
        (m) => Number(m[1]),
      ),
    );
    // Export segment copy, copy and manifest group maps (the two copy maps never run at the
    // same time), GC addresses/mark/revived/sweep maps, GC copy map.
    expect(concurrency).toEqual([50, 50, 50, 50, 50, 50, 50, 50]);
  });

  it("throttles the API at 50 requests per second, burst 100; apiRateLimit sets both", () => {
    const stage = ofType("AWS::ApiGateway::Stage")[0]![1];
    expect(stage.Properties.MethodSettings).toEqual([
      expect.objectContaining({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
    ]);
    const other = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Rate");
    new Lakeport(other, "Data", {
      lakeFsEndpoint: "https://lakefs.example.com",
      lakeFsSecret: secrets.Secret.fromSecretCompleteArn(other, "LakeFs", SECRET),
      storageBuckets: [s3.Bucket.fromBucketName(other, "LakeA", "lake-a")],
      exportBuckets: [s3.Bucket.fromBucketName(other, "ExportsA", "exports-a")],
      apiRateLimit: 20,
    });
    Template.fromStack(other).hasResourceProperties("AWS::ApiGateway::Stage", {
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 })],
    });
  });

  it("keeps logs 90 days, retains the table, buckets and log groups, reserves no concurrency", () => {
    const logGroups = ofType("AWS::Logs::LogGroup");
    expect(logGroups.length).toBeGreaterThan(20);
    for (const [id, g] of logGroups) {
      expect(g.Properties.RetentionInDays, id).toBe(90);
      expect(g.DeletionPolicy, id).toBe("Retain");
    }
    for (const [id, r] of [...ofType("AWS::DynamoDB::Table"), ...ofType("AWS::S3::Bucket")]) {
      expect(r.DeletionPolicy, id).toBe("Retain");
    }
    for (const [id, fn] of ofType("AWS::Lambda::Function")) {
      expect(fn.Properties.ReservedConcurrentExecutions, id).toBeUndefined();
    }
  });

  it("a mark older than 24 hours cannot be swept (the API's start and the revalidation step)", () => {
    const ages = ofType("AWS::Lambda::Function")
      .filter(([, fn]) => fn.Properties.Environment?.Variables?.GC_MAX_MARK_AGE_HOURS)
      .map(([id, fn]) => [
        id.replace(/[0-9A-F]{8}$/, ""),
        fn.Properties.Environment.Variables.GC_MAX_MARK_AGE_HOURS,
      ]);
    expect(Object.fromEntries(ages)).toEqual({
      DataApiGcFunction: "24",
      DataGcRevalidateFunction: "24",
    });
  });

  it("GC Lambdas: commits, addresses and sweep 1 024 MB, mark 2 048 MB (README: memory per Lambda)", () => {
    const memory = Object.fromEntries(
      ofType("AWS::Lambda::Function").map(([id, fn]) => [
        id.replace(/[0-9A-F]{8}$/, ""),
        fn.Properties.MemorySize,
      ]),
    );
    expect(memory).toMatchObject({
      DataGcCommitsFunction: 1024,
      DataGcAddressesFunction: 1024,
      DataGcMarkFunction: 2048,
      DataGcSweepFunction: 1024,
    });
  });

  it("function errors and failed, timed-out or aborted executions alarm on any one in 5 minutes", () => {
    const alarms = ofType("AWS::CloudWatch::Alarm").map(([, a]) => a.Properties);
    const any = alarms.filter(
      (a) =>
        (a.Namespace === "AWS/Lambda" && a.MetricName === "Errors") ||
        (a.Namespace === "AWS/States" &&
          ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"].includes(a.MetricName)),
    );
    expect(any).toHaveLength(24 + 3 * 3);
    for (const a of any) {
      expect(a, a.MetricName).toMatchObject({
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
      });
    }
  });

  it("38 single-metric alarms, 3 throttle alarms of 8, 8 and 8 metrics and one composite; missing data is nothing wrong", () => {
    const alarms = ofType("AWS::CloudWatch::Alarm").map(([, a]) => a.Properties);
    const math = alarms.filter((a) => a.Metrics);
    expect(alarms.length - math.length).toBe(38);
    expect(math.map((a) => a.Metrics.filter((m: any) => m.MetricStat).length)).toEqual([8, 8, 8]);
    expect(ofType("AWS::CloudWatch::CompositeAlarm")).toHaveLength(1);
    expect(new Set(alarms.map((a) => a.TreatMissingData))).toEqual(new Set(["notBreaching"]));
  });
});

describe("maxMarkAgeHours setting", () => {
  it.each([
    [
      "0",
      /setting maxMarkAgeHours \(.*LAKEPORT_MAX_MARK_AGE_HOURS\): "0" is not a whole number >= 1/,
    ],
    [
      "169",
      /setting maxMarkAgeHours \(.*LAKEPORT_MAX_MARK_AGE_HOURS\): 169 is not from 1 to 168 hours/,
    ],
  ])("rejects %s (1 to 168 hours)", (hours, message) => {
    expect(() => fromContext({ ...REQUIRED, maxMarkAgeHours: hours })).toThrow(message);
  });
  it("accepts 1 and 168", () => {
    expect(fromContext({ ...REQUIRED, maxMarkAgeHours: "1" }).lakeport.maxMarkAgeHours).toBe(1);
    expect(fromContext({ ...REQUIRED, maxMarkAgeHours: "168" }).lakeport.maxMarkAgeHours).toBe(168);
  });
});

describe("vpc (README: the construct in your own CDK app)", () => {
  const synth = (withGroup: boolean) => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "InVpc", {
      env: { account: "123456789012", region: "eu-west-1" },
    });
    const vpc = new ec2.Vpc(stack, "Vpc", { maxAzs: 2, natGateways: 1 });
    new Lakeport(stack, "Data", {
      lakeFsEndpoint: "https://lakefs.example.com",
      lakeFsSecret: secrets.Secret.fromSecretCompleteArn(stack, "LakeFs", SECRET),
      storageBuckets: [s3.Bucket.fromBucketName(stack, "LakeA", "lake-a")],
      exportBuckets: [s3.Bucket.fromBucketName(stack, "ExportsA", "exports-a")],
      vpc,
      ...(withGroup ? { securityGroups: [new ec2.SecurityGroup(stack, "Mine", { vpc })] } : {}),
    });
    return Object.entries(Template.fromStack(stack).toJSON().Resources) as [string, any][];
  };

  it("runs exactly the functions that call lakeFS in the VPC, with one outbound-only group by default", () => {
    const resources = synth(false);
    const fns = resources.filter(([, r]) => r.Type === "AWS::Lambda::Function");
    const callsLakeFs = fns.filter(([, f]) => f.Properties.Environment?.Variables?.LAKEFS_ENDPOINT);
    expect(callsLakeFs.length).toBeGreaterThan(5);
    for (const [id, f] of fns) {
      expect(f.Properties.VpcConfig !== undefined, id).toBe(
        f.Properties.Environment?.Variables?.LAKEFS_ENDPOINT !== undefined,
      );
    }
    const groups = resources.filter(([, r]) => r.Type === "AWS::EC2::SecurityGroup");
    expect(groups).toHaveLength(1);
    const [[groupId, group]] = groups as [[string, any]];
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    expect(group.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: "0.0.0.0/0", IpProtocol: "-1" }),
    ]);
    expect(resources.filter(([, r]) => r.Type === "AWS::EC2::SecurityGroupIngress")).toEqual([]);
    for (const [id, f] of callsLakeFs) {
      expect(JSON.stringify(f.Properties.VpcConfig.SecurityGroupIds), id).toContain(groupId);
    }
  });

  it("uses the given security groups instead of creating one", () => {
    const groups = synth(true).filter(([, r]) => r.Type === "AWS::EC2::SecurityGroup");
    expect(groups.map(([id]) => id)).toEqual([expect.stringMatching(/^Mine/)]);
  });
});
