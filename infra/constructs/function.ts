// Every Lakeport Lambda is built the same way: esbuild bundle (no Docker), ESM, ARM64,
// Node.js 22, SDK bundled (the bundle is what was tested), source maps, its own log group.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Duration } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface LakeportFunctionProps {
  /** Handler module, relative to the project root (e.g. "lambdas/export/handlers/plan.ts"). */
  entry: string;
  environment?: Record<string, string>;
  memorySize?: number;
  timeout?: Duration;
  reservedConcurrentExecutions?: number;
  logRetention?: logs.RetentionDays;
  description?: string;
}

export function lakeportFunction(
  scope: Construct,
  id: string,
  props: LakeportFunctionProps,
): NodejsFunction {
  return new NodejsFunction(scope, id, {
    entry: path.join(PROJECT_ROOT, props.entry),
    handler: "handler",
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize ?? 512,
    timeout: props.timeout ?? Duration.minutes(1),
    ...(props.description ? { description: props.description } : {}),
    ...(props.reservedConcurrentExecutions !== undefined
      ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
      : {}),
    environment: { NODE_OPTIONS: "--enable-source-maps", ...props.environment },
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: path.join(PROJECT_ROOT, "package-lock.json"),
    loggingFormat: lambda.LoggingFormat.JSON,
    logGroup: new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    }),
    bundling: {
      format: OutputFormat.ESM,
      target: "node22",
      minify: true,
      sourceMap: true,
      externalModules: [],
      mainFields: ["module", "main"],
      banner:
        "import { createRequire as __lakeportCreateRequire } from 'node:module'; const require = __lakeportCreateRequire(import.meta.url);",
    },
  });
}
