// startLocalCloud: deploys a synthesized stack locally and serves the Step Functions,
// EventBridge and SQS endpoints for it. The integration tests call this.
import { createDynamoDbClient, createS3Client } from "../../lambdas/shared/aws/clients";
import type { Clock } from "../clock";
import { EventRouter } from "../eventbridge/router";
import { type EventBridgeServerHandle, startEventBridgeServer } from "../eventbridge/server";
import { SqsQueues } from "../sqs/queues";
import { type SqsServerHandle, startSqsServer } from "../sqs/server";
import { type RunnerOptions, StepFunctionsRunner } from "../stepfunctions/runner";
import { type StepFunctionsServerHandle, startStepFunctionsServer } from "../stepfunctions/server";
import { type DeployOptions, deployLocally, type LocalDeployment } from "./deploy";
import type { LocalS3Options } from "./deploy-services";

export { type LocalCloudComponentOptions, localCloudComponents } from "./component";
export { type DeployOptions, deployLocally, IGNORED_TYPES, type LocalDeployment } from "./deploy";
export { loadAssemblyTemplate, TemplateError, TemplateResolver } from "./template";

export interface LocalCloudOptions {
  assemblyDir: string;
  s3: LocalS3Options;
  dynamodbEndpoint: string;
  stackName?: string;
  /** 0 or absent picks free ports. */
  ports?: { stepfunctions?: number; eventbridge?: number; sqs?: number };
  lambdaEnv?: Record<string, string>;
  /** Other local endpoints the functions should see (scheduler, secrets manager). */
  extraEndpoints?: { scheduler?: string; secretsManager?: string };
  region?: string;
  accountId?: string;
  concurrencyPerFunction?: number;
  /** Show the functions' output lines on this process's terminal (default: only kept). */
  echoLambdaOutput?: boolean;
  /**
   * Fire scheduled rules and Scheduler schedules on the clock (default: only through
   * router.fireSchedule and scheduler.fire).
   */
  runSchedules?: boolean;
  /** The clock schedules run on (default the system clock; tests pass a TestClock). */
  clock?: Clock;
  runnerOptions?: Omit<
    RunnerOptions,
    "lambda" | "s3" | "dynamodb" | "events" | "region" | "accountId"
  >;
}

export interface LocalCloudHandle {
  endpoints: { stepfunctions: string; eventbridge: string; sqs: string };
  deployment: LocalDeployment;
  runtime: LocalDeployment["runtime"];
  runner: StepFunctionsRunner;
  router: EventRouter;
  stop(): Promise<void>;
}

export async function startLocalCloud(opts: LocalCloudOptions): Promise<LocalCloudHandle> {
  const region = opts.region ?? opts.s3.region ?? "us-east-1";
  const accountId = opts.accountId ?? "000000000000";
  const router = new EventRouter({
    region,
    accountId,
    ...(opts.runSchedules ? { runSchedules: true } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  const queues = new SqsQueues({ region, accountId });
  let sfn: StepFunctionsServerHandle | undefined;
  let events: EventBridgeServerHandle | undefined;
  let sqs: SqsServerHandle | undefined;
  const s3 = createS3Client({
    endpoint: opts.s3.endpoint,
    region,
    credentials: opts.s3.credentials,
  });
  const dynamodb = createDynamoDbClient({
    endpoint: opts.dynamodbEndpoint,
    region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const runner = new StepFunctionsRunner({
    ...(opts.runnerOptions ?? {}),
    region,
    accountId,
    s3,
    dynamodb,
    events: router,
  });
  try {
    sfn = await startStepFunctionsServer({ port: opts.ports?.stepfunctions ?? 0, runner });
    events = await startEventBridgeServer({ port: opts.ports?.eventbridge ?? 0, router });
    sqs = await startSqsServer({ port: opts.ports?.sqs ?? 0, queues });
    const deployOpts: DeployOptions = {
      s3: opts.s3,
      dynamodbEndpoint: opts.dynamodbEndpoint,
      region,
      accountId,
      runner,
      router,
      queues,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.runSchedules ? { runSchedules: true } : {}),
      endpoints: {
        stepfunctions: sfn.endpoint,
        eventbridge: events.endpoint,
        sqs: sqs.endpoint,
        ...(opts.extraEndpoints ?? {}),
      },
      ...(opts.stackName ? { stackName: opts.stackName } : {}),
      ...(opts.lambdaEnv ? { lambdaEnv: opts.lambdaEnv } : {}),
      ...(opts.concurrencyPerFunction
        ? { concurrencyPerFunction: opts.concurrencyPerFunction }
        : {}),
      ...(opts.echoLambdaOutput ? { echoLambdaOutput: true } : {}),
    };
    const deployment = await deployLocally(opts.assemblyDir, deployOpts);
    const sfnHandle = sfn;
    const ebHandle = events;
    const sqsHandle = sqs;
    return {
      endpoints: { stepfunctions: sfn.endpoint, eventbridge: events.endpoint, sqs: sqs.endpoint },
      deployment,
      runtime: deployment.runtime,
      runner,
      router,
      stop: async () => {
        await Promise.all([sfnHandle.stop(), ebHandle.stop(), sqsHandle.stop()]);
        await deployment.close();
        s3.destroy();
        dynamodb.destroy();
      },
    };
  } catch (e) {
    await Promise.all([sfn?.stop(), events?.stop(), sqs?.stop()]);
    throw e;
  }
}
