// The Step Functions, SQS and EventBridge components of `npm run local` (see ../components.ts):
// "stepfunctions" serves the runner, "sqs" the queues, "eventbridge" serves PutEvents and then
// deploys the synthesized stack (functions need the endpoints in their environment); its
// scheduled rules and Scheduler schedules run on the system clock.
import { createDynamoDbClient, createS3Client } from "../../lambdas/shared/aws/clients";
import type { Component, ComponentContext, ComponentName } from "../component";
import type { Endpoints } from "../endpoints";
import { EventRouter } from "../eventbridge/router";
import { startEventBridgeServer } from "../eventbridge/server";
import { SqsQueues } from "../sqs/queues";
import { startSqsServer } from "../sqs/server";
import { type RunnerOptions, StepFunctionsRunner } from "../stepfunctions/runner";
import { startStepFunctionsServer } from "../stepfunctions/server";
import { deployLocally, type LocalDeployment } from "./deploy";

export interface LocalCloudComponentOptions {
  /** cdk.out of `cdk synth` (with asset metadata, the CLI default), or a function producing it. */
  assemblyDir: string | ((ctx: ComponentContext) => Promise<string>);
  stackName?: string;
  /** Extra environment for every function, from the endpoints known so far (lakeFS, tokens). */
  lambdaEnv?: (endpoints: Readonly<Partial<Endpoints>>) => Record<string, string>;
  /** Components the deployment waits for besides s3, dynamodb and stepfunctions (e.g. lakefs). */
  deployAfter?: ComponentName[];
  runnerOptions?: Omit<
    RunnerOptions,
    "lambda" | "s3" | "dynamodb" | "events" | "region" | "accountId"
  >;
  /** Receives the deployment once it exists (runtime stats, fault injection, router). */
  onDeployed?: (deployment: LocalDeployment) => void;
  /** Show the functions' output lines on this process's terminal (default: only kept). */
  echoLambdaOutput?: boolean;
}

export function localCloudComponents(opts: LocalCloudComponentOptions): Component[] {
  // `npm run local` runs scheduled rules on their timers, as EventBridge would.
  const router = new EventRouter({ runSchedules: true });
  const queues = new SqsQueues();
  let runner: StepFunctionsRunner | undefined;
  const clients = (e: Readonly<Partial<Endpoints>>) => {
    if (!e.s3 || !e.dynamodb || !e.accessKeyId || !e.secretAccessKey) {
      throw new Error("stepfunctions needs the s3 and dynamodb endpoints and credentials");
    }
    const credentials = { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey };
    return {
      credentials,
      s3: createS3Client({ endpoint: e.s3, region: e.region ?? "us-east-1", credentials }),
      dynamodb: createDynamoDbClient({
        endpoint: e.dynamodb,
        region: e.region ?? "us-east-1",
        credentials,
      }),
    };
  };
  const stepfunctions: Component = {
    name: "stepfunctions",
    after: ["s3", "dynamodb"],
    async start(ctx) {
      const c = clients(ctx.endpoints);
      runner = new StepFunctionsRunner({
        ...(opts.runnerOptions ?? {}),
        s3: c.s3,
        dynamodb: c.dynamodb,
        events: router,
      });
      const server = await startStepFunctionsServer({ port: ctx.port, runner });
      return {
        endpoints: { stepfunctions: server.endpoint },
        stop: async () => {
          runner?.stopAll();
          await server.stop();
          c.s3.destroy();
          c.dynamodb.destroy();
        },
      };
    },
  };
  const sqs: Component = {
    name: "sqs",
    async start(ctx) {
      const server = await startSqsServer({ port: ctx.port, queues });
      queues.setEndpoint(server.endpoint);
      return { endpoints: { sqs: server.endpoint }, stop: () => server.stop() };
    },
  };
  const eventbridge: Component = {
    name: "eventbridge",
    after: ["stepfunctions", "sqs", ...(opts.deployAfter ?? [])],
    async start(ctx) {
      if (!runner) throw new Error("eventbridge starts after stepfunctions");
      const server = await startEventBridgeServer({ port: ctx.port, router });
      const e = ctx.endpoints;
      try {
        const assemblyDir =
          typeof opts.assemblyDir === "string" ? opts.assemblyDir : await opts.assemblyDir(ctx);
        const { credentials } = clients(e);
        const deployment = await deployLocally(assemblyDir, {
          s3: { endpoint: e.s3!, credentials, region: e.region ?? "us-east-1" },
          dynamodbEndpoint: e.dynamodb!,
          runner,
          router,
          queues,
          runSchedules: true,
          endpoints: {
            stepfunctions: e.stepfunctions,
            eventbridge: server.endpoint,
            ...(e.sqs ? { sqs: e.sqs } : {}),
          },
          ...(opts.stackName ? { stackName: opts.stackName } : {}),
          ...(opts.lambdaEnv ? { lambdaEnv: opts.lambdaEnv(e) } : {}),
          ...(opts.echoLambdaOutput ? { echoLambdaOutput: true } : {}),
        });
        ctx.log(
          `deployed ${deployment.stackName}: ${deployment.resources.length} resources` +
            (deployment.unsupported.length
              ? `; not supported locally: ${summarizeTypes(deployment.unsupported)}`
              : ""),
        );
        opts.onDeployed?.(deployment);
        return {
          endpoints: { eventbridge: server.endpoint },
          stop: async () => {
            await server.stop();
            await deployment.close();
          },
        };
      } catch (err) {
        await server.stop();
        throw err;
      }
    },
  };
  return [stepfunctions, sqs, eventbridge];
}

/** "AWS::SQS::Queue x2, AWS::ApiGateway::Stage": one entry per type, with its count. */
function summarizeTypes(resources: { type: string }[]): string {
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  return [...counts].map(([t, n]) => (n > 1 ? `${t} x${n}` : t)).join(", ");
}
