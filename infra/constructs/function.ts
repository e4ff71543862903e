// Every Lakeport Lambda is built the same way: esbuild bundle (no Docker), ESM, ARM64,
// Node.js 22, SDK bundled (the bundle is what was tested), source maps, its own log group,
// the Powertools Logger's level and service name, active X-Ray tracing (Powertools Tracer).
// The installed package ships the bundles
// prebuilt (`npm run build`, dist/bundles/<name>/index.mjs) and uses them as they are; in
// this repository (no bundles next to this module) each function is bundled from source.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Aws, Duration, Fn, Names, Stack } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { type BundlingOptions, NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import type { Construct } from "constructs";

const MODULE_DIR = path.dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = path.resolve(MODULE_DIR, "../..");
/**
 * Prebuilt bundles next to the built module (dist/index.js -> dist/bundles); absent in the
 * source tree, where functions are bundled at synthesis.
 */
export const PREBUILT_BUNDLES_DIR = path.join(MODULE_DIR, "bundles");

/** Where the functions that call lakeFS run: a VPC from which lakeFS is reachable. */
export interface LakeFsNetwork {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups: ec2.ISecurityGroup[];
}

export interface LakeportFunctionProps {
  /** Handler module, relative to the project root (e.g. "lambdas/export/handlers/plan.ts"). */
  entry: string;
  environment?: Record<string, string>;
  memorySize?: number;
  timeout?: Duration;
  reservedConcurrentExecutions?: number;
  logRetention?: logs.RetentionDays;
  description?: string;
  /** The functions' LOG_LEVEL (Powertools Logger). Default INFO. */
  logLevel?: "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR" | "CRITICAL" | "SILENT";
  /** Applied when the function calls lakeFS (its environment has LAKEFS_ENDPOINT). */
  lakeFsNetwork?: LakeFsNetwork;
  /** Customer managed key of the function's log group (default: CloudWatch Logs' own). */
  logsKey?: kms.IKey;
}

/** `export-plan` for lambdas/export/handlers/plan.ts: the directory of its prebuilt bundle. */
export function bundleNameOf(entry: string): string {
  const m = /^lambdas\/([^/]+)\/handlers\/([^/]+)\.ts$/.exec(entry);
  if (!m)
    throw new Error(`${entry} is not a handler module (lambdas/<capability>/handlers/<name>.ts)`);
  return `${m[1]}-${m[2]}`;
}

/** `lakeport-export` for lambdas/export/handlers/..., the service name of its log lines. */
export function serviceNameOf(entry: string): string {
  const capability = /^lambdas\/([^/]+)\//.exec(entry)?.[1];
  return capability ? `lakeport-${capability}` : "lakeport";
}

/**
 * esbuild settings of every Lakeport bundle: ESM for Node.js 22, minified, the SDK bundled
 * (the bundle is what was tested, not the runtime's copy), source maps without the sources
 * (stack traces need only the mappings; with the sources a bundle is about 1.1 MB zipped).
 */
/** Every function's NODE_OPTIONS unless it sets its own (stack traces through the source maps). */
export const DEFAULT_NODE_OPTIONS = "--enable-source-maps";

export const LAKEPORT_BUNDLING = {
  format: OutputFormat.ESM,
  target: "node22",
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  externalModules: [],
  mainFields: ["module", "main"],
  banner:
    "import { createRequire as __lakeportCreateRequire } from 'node:module'; const require = __lakeportCreateRequire(import.meta.url);",
} satisfies BundlingOptions;

/**
 * The same bundling as esbuild options, for bundling outside CDK (`npm run build`'s prebuilt
 * bundles, the bundle-size check): one place decides how a Lambda is bundled.
 */
export const LAKEPORT_ESBUILD_OPTIONS = {
  bundle: true,
  outExtension: { ".js": ".mjs" },
  platform: "node",
  format: "esm",
  target: LAKEPORT_BUNDLING.target,
  minify: LAKEPORT_BUNDLING.minify,
  sourcemap: LAKEPORT_BUNDLING.sourceMap,
  sourcesContent: LAKEPORT_BUNDLING.sourcesContent,
  mainFields: LAKEPORT_BUNDLING.mainFields,
  banner: { js: LAKEPORT_BUNDLING.banner },
} as const;

/** The handler module of each function lakeportFunction built (for bundle checks). */
export const LAKEPORT_FUNCTION_ENTRIES = new WeakMap<lambda.Function, string>();

export function lakeportFunction(
  scope: Construct,
  id: string,
  props: LakeportFunctionProps,
): lambda.Function {
  const network =
    props.lakeFsNetwork && props.environment?.LAKEFS_ENDPOINT !== undefined
      ? props.lakeFsNetwork
      : undefined;
  const common = {
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize ?? 512,
    timeout: props.timeout ?? Duration.minutes(1),
    ...(props.description ? { description: props.description } : {}),
    ...(props.reservedConcurrentExecutions !== undefined
      ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
      : {}),
    environment: {
      NODE_OPTIONS: DEFAULT_NODE_OPTIONS,
      LOG_LEVEL: props.logLevel ?? "INFO",
      POWERTOOLS_SERVICE_NAME: serviceNameOf(props.entry),
      ...props.environment,
    },
    ...(network
      ? {
          vpc: network.vpc,
          securityGroups: network.securityGroups,
          ...(network.vpcSubnets ? { vpcSubnets: network.vpcSubnets } : {}),
        }
      : {}),
    loggingFormat: lambda.LoggingFormat.JSON,
    logGroup: new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      ...(props.logsKey ? { encryptionKey: props.logsKey } : {}),
    }),
  } satisfies Partial<lambda.FunctionProps>;
  const prebuilt = path.join(PREBUILT_BUNDLES_DIR, bundleNameOf(props.entry));
  const fn = existsSync(path.join(prebuilt, "index.mjs"))
    ? new lambda.Function(scope, id, {
        ...common,
        code: lambda.Code.fromAsset(prebuilt),
        handler: "index.handler",
      })
    : new NodejsFunction(scope, id, {
        ...common,
        entry: path.join(PROJECT_ROOT, props.entry),
        handler: "handler",
        projectRoot: PROJECT_ROOT,
        depsLockFilePath: path.join(PROJECT_ROOT, "package-lock.json"),
        bundling: LAKEPORT_BUNDLING,
      });
  activeTracing(fn);
  LAKEPORT_FUNCTION_ENTRIES.set(fn, props.entry);
  return fn;
}

/**
 * Active X-Ray tracing (sampled invocations; lambdas/shared/tracing.ts adds the subsegments),
 * with AWS's managed AWSXRayDaemonWriteAccess policy rather than the inline `Resource: *`
 * statement `tracing: ACTIVE` would add: a cdk-nag finding on it names exactly that policy.
 */
function activeTracing(fn: NodejsFunction): void {
  (fn.node.defaultChild as lambda.CfnFunction).tracingConfig = { mode: "Active" };
  fn.role?.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName("AWSXRayDaemonWriteAccess"));
}

/**
 * Every Lakeport state machine logs to its own log group at level ALL (with execution data,
 * for debugging failed runs) and is traced with X-Ray: this adds that configuration (and the
 * role permissions CDK would add for it). A no-op when the state machine already logs and
 * traces.
 */
export function ensureStateMachineObservability(
  stateMachine: sfn.StateMachine,
  logRetention: logs.RetentionDays,
  logsKey?: kms.IKey,
): void {
  const cfn = stateMachine.node.defaultChild as sfn.CfnStateMachine;
  if (!cfn.loggingConfiguration) {
    // Step Functions lists each log group it writes to in the account's CloudWatch Logs
    // resource policy (5 120 characters at most): past that, creating the state machine fails
    // with InvalidLoggingConfiguration, unless the group is under /aws/vendedlogs/. The name
    // ends with the stack's own id (the UUID of its ARN), so a stack deleted and deployed again
    // under the same name does not collide with the groups the first one retained.
    const stackUuid = Fn.select(2, Fn.split("/", Aws.STACK_ID));
    const logGroup = new logs.LogGroup(stateMachine, "Logs", {
      logGroupName: `/aws/vendedlogs/states/${Stack.of(stateMachine).stackName}-${Names.uniqueId(stateMachine)}-${stackUuid}`,
      retention: logRetention,
      ...(logsKey ? { encryptionKey: logsKey } : {}),
    });
    cfn.loggingConfiguration = {
      level: sfn.LogLevel.ALL,
      includeExecutionData: true,
      destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: logGroup.logGroupArn } }],
    };
    // The log delivery APIs take no resource ARNs (same statement CDK adds for `logs`).
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          "logs:CreateLogDelivery",
          "logs:GetLogDelivery",
          "logs:UpdateLogDelivery",
          "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries",
          "logs:PutResourcePolicy",
          "logs:DescribeResourcePolicies",
          "logs:DescribeLogGroups",
        ],
        resources: ["*"],
      }),
    );
  }
  const tracing = cfn.tracingConfiguration as sfn.CfnStateMachine.TracingConfigurationProperty;
  if (!tracing?.enabled) {
    cfn.tracingConfiguration = { enabled: true };
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          "xray:PutTraceSegments",
          "xray:PutTelemetryRecords",
          "xray:GetSamplingRules",
          "xray:GetSamplingTargets",
        ],
        resources: ["*"],
      }),
    );
  }
}

/** Errors of the Lambda service itself: retried with backoff and jitter. */
export const LAMBDA_SERVICE_ERRORS = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.ClientExecutionTimeoutException",
  "Lambda.Unknown",
];

/**
 * Lambda's refusal of a synchronous invoke beyond the function's free concurrency (its reserved
 * concurrency, or the account's). A slot frees only when a running invocation ends, up to 15
 * minutes later, and a distributed map starts maxConcurrency children at once beside other
 * runs' maps: 70 attempts of up to 60 s with full jitter wait about 33 minutes in all.
 */
export const LAMBDA_THROTTLED = "Lambda.TooManyRequestsException";

/**
 * A workflow step invoking a Lakeport function: the function's own result as the output, and
 * the Lambda service's errors retried (2 s, doubling to 60 s, full jitter, 6 attempts; 70 when
 * throttled). The function's own errors are not retried here: the steps retry S3 and lakeFS
 * themselves.
 */
export function lakeportLambdaStep(
  scope: Construct,
  id: string,
  fn: lambda.IFunction,
  options: Partial<tasks.LambdaInvokeProps> = {},
): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: fn,
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    ...options,
  });
  task.addRetry({
    errors: [LAMBDA_THROTTLED],
    interval: Duration.seconds(2),
    maxAttempts: 70,
    backoffRate: 2,
    maxDelay: Duration.seconds(60),
    jitterStrategy: sfn.JitterType.FULL,
  });
  task.addRetry({
    errors: LAMBDA_SERVICE_ERRORS,
    interval: Duration.seconds(2),
    maxAttempts: 6,
    backoffRate: 2,
    maxDelay: Duration.seconds(60),
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}
