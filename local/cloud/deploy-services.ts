// The local services a deployment runs on: S3 and DynamoDB clients, the Lambda runtime (each
// function's environment points its SDK at the local endpoints), the EventBridge router and
// the Step Functions runner, wired to each other. Given ones are reused.
import path from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { createDynamoDbClient, createS3Client } from "../../lambdas/shared/aws/clients";
import type { Clock } from "../clock";
import { EventRouter } from "../eventbridge/router";
import { LocalScheduler } from "../eventbridge/scheduler";
import type { QueueSender } from "../lambda/async-invocation";
import { LambdaRuntime } from "../lambda/runtime";
import { SqsQueues } from "../sqs/queues";
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
    /** The SQS endpoint queue URLs name (the queues are served there). */
    sqs?: string;
  };
  /** The clock schedules run on (default the system clock; tests pass a TestClock). */
  clock?: Clock;
  /** Fire scheduled rules and Scheduler schedules on the clock (default: only when fired). */
  runSchedules?: boolean;
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
  queues?: SqsQueues;
}

export interface LocalServices {
  s3: S3Client;
  ddb: DynamoDBClient;
  runtime: LambdaRuntime;
  router: EventRouter;
  runner: StepFunctionsRunner;
  scheduler: LocalScheduler;
  queues: SqsQueues;
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
  const queues = opts.queues ?? new SqsQueues({ region, accountId });
  if (opts.endpoints?.sqs) queues.setEndpoint(opts.endpoints.sqs);
  const sendToQueue: QueueSender = (arn, body, attributes) => {
    queues.send(arn, body, attributes);
  };
  runner.setLambdaInvoker(runtime);
  runner.setEventSink(router);
  runtime.setQueueSender(sendToQueue);
  const targets = {
    startExecution: (a: { stateMachineArn: string; input: string }) => runner.startExecution(a),
    invokeAsync: (arn: string, event: unknown, onFailure: (msg: string) => void) =>
      runtime.invokeAsync(arn, event, onFailure),
    sendToQueue,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.runSchedules !== undefined ? { runSchedules: opts.runSchedules } : {}),
  };
  router.setDeps(targets);
  const scheduler = new LocalScheduler(targets);
  return { s3, ddb, runtime, router, runner, scheduler, queues };
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
    // A restore right after a sweep is not held back for the sweep function's timeout here
    // (tests and the demo restore at once); test/integration/gc-restore-after-sweep-app.test.ts
    // sets it back on the functions.
    GC_SWEEP_SETTLE_SECONDS: "0",
    // GC marks objects tests and the demo have just written (lakeFS's GC keeps an object for a
    // day); test/integration/gc-min-object-age-app.test.ts sets it back on the addresses function.
    GC_MIN_OBJECT_AGE_SECONDS: "0",
    ...(opts.lambdaEnv ?? {}),
  };
}
