// The local services a deployment runs on: S3 and DynamoDB clients, the Lambda runtime (each
// function's environment points its SDK at the local endpoints), the EventBridge router and
// the Step Functions runner, wired to each other. Given ones are reused.
import path from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { createDynamoDbClient, createS3Client } from "../../lambdas/shared/aws/clients";
import { EventRouter } from "../eventbridge/router";
import { LambdaRuntime } from "../lambda/runtime";
import { type RunnerOptions, StepFunctionsRunner } from "../stepfunctions/runner";

export interface LocalS3Options {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  region?: string;
}

export interface LocalServicesOptions {
  s3: LocalS3Options;
  dynamodbEndpoint: string;
  /** Extra environment for every function (e.g. LAKEFS_ENDPOINT, WEBHOOK_TOKEN); wins over the template's. */
  lambdaEnv?: Record<string, string>;
  /** Local endpoints the functions' SDK clients use. */
  endpoints?: {
    stepfunctions?: string;
    eventbridge?: string;
    scheduler?: string;
    secretsManager?: string;
  };
  /** Concurrent warm workers per function (default 4). */
  concurrencyPerFunction?: number;
  /** Show the functions' output lines on this process's terminal (default: only kept). */
  echoLambdaOutput?: boolean;
  runnerOptions?: Omit<
    RunnerOptions,
    "lambda" | "s3" | "dynamodb" | "events" | "region" | "accountId"
  >;
  /** Reuse existing components instead of creating new ones. */
  runner?: StepFunctionsRunner;
  runtime?: LambdaRuntime;
  router?: EventRouter;
}

export interface LocalServices {
  s3: S3Client;
  ddb: DynamoDBClient;
  runtime: LambdaRuntime;
  router: EventRouter;
  runner: StepFunctionsRunner;
}

const projectNodeModules = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  "../../node_modules",
);

export function localServices(
  opts: LocalServicesOptions,
  region: string,
  accountId: string,
): LocalServices {
  const s3 = createS3Client({
    endpoint: opts.s3.endpoint,
    region,
    credentials: opts.s3.credentials,
  });
  const ddb = createDynamoDbClient({
    endpoint: opts.dynamodbEndpoint,
    region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const runtime =
    opts.runtime ??
    new LambdaRuntime({
      region,
      accountId,
      concurrencyPerFunction: opts.concurrencyPerFunction,
      nodeModulesDirs: [projectNodeModules],
      baseEnvironment: functionEnvironment(opts),
      echoOutput: opts.echoLambdaOutput ?? false,
    });
  const router = opts.router ?? new EventRouter({ region, accountId });
  const runner =
    opts.runner ??
    new StepFunctionsRunner({
      ...(opts.runnerOptions ?? {}),
      region,
      accountId,
      lambda: runtime,
      s3,
      dynamodb: ddb,
      events: router,
    });
  runner.setLambdaInvoker(runtime);
  runner.setEventSink(router);
  router.setDeps({
    startExecution: (a) => runner.startExecution(a),
    invokeAsync: (arn, event, onFailure) => runtime.invokeAsync(arn, event, onFailure),
  });
  return { s3, ddb, runtime, router, runner };
}

/** What every function's environment adds: credentials and the local endpoints. */
function functionEnvironment(opts: LocalServicesOptions): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: opts.s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: opts.s3.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_S3: opts.s3.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: opts.dynamodbEndpoint,
    ...(opts.endpoints?.stepfunctions
      ? { AWS_ENDPOINT_URL_SFN: opts.endpoints.stepfunctions }
      : {}),
    ...(opts.endpoints?.eventbridge
      ? { AWS_ENDPOINT_URL_EVENTBRIDGE: opts.endpoints.eventbridge }
      : {}),
    ...(opts.endpoints?.scheduler ? { AWS_ENDPOINT_URL_SCHEDULER: opts.endpoints.scheduler } : {}),
    ...(opts.endpoints?.secretsManager
      ? { AWS_ENDPOINT_URL_SECRETS_MANAGER: opts.endpoints.secretsManager }
      : {}),
    LAKEPORT_S3_FORCE_PATH_STYLE: "true",
    ...(opts.lambdaEnv ?? {}),
  };
}
