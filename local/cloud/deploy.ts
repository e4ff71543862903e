// "Deploys" a synthesized stack into the embedded environment, phase by phase: physical ids
// for every resource, then buckets, tables and buses (deploy-storage), functions in the
// Lambda runtime (deploy-functions), state machines in the runner (deploy-state-machines),
// rules in the EventBridge router (deploy-rules), queues, Scheduler schedules and where failed
// asynchronous invocations go (deploy-queues-schedules).
import { rmSync } from "node:fs";
import type { Clock } from "../clock";
import type { EventRouter } from "../eventbridge/router";
import type { LocalScheduler } from "../eventbridge/scheduler";
import type { LambdaRuntime } from "../lambda/runtime";
import type { SqsQueues } from "../sqs/queues";
import type { StepFunctionsRunner } from "../stepfunctions/runner";
import type { DeployContext, DeployedResource } from "./deploy-context";
import { deployFunctions } from "./deploy-functions";
import { deployAsyncInvokeConfigs, deployQueues, deploySchedules } from "./deploy-queues-schedules";
import { deployRules } from "./deploy-rules";
import { type LocalServices, type LocalServicesOptions, localServices } from "./deploy-services";
import { deployStateMachines } from "./deploy-state-machines";
import { deployStorage } from "./deploy-storage";
import { assignPhysicalIds } from "./physical-ids";
import {
  type CfnTemplate,
  loadAssemblyTemplate,
  type Physical,
  TemplateError,
  TemplateResolver,
} from "./template";

export type { DeployedResource } from "./deploy-context";

/** Resource types that have no local meaning and are skipped on purpose. */
export const IGNORED_TYPES = new Set([
  "AWS::IAM::Role",
  "AWS::IAM::Policy",
  "AWS::IAM::ManagedPolicy",
  "AWS::Logs::LogGroup",
  "AWS::CloudWatch::Alarm",
  "AWS::CloudWatch::Dashboard",
  "AWS::Lambda::Permission",
  "AWS::S3::BucketPolicy",
  "AWS::SQS::QueuePolicy",
  "AWS::CDK::Metadata",
  "Custom::S3AutoDeleteObjects",
  "AWS::SNS::Topic",
  "AWS::SNS::Subscription",
  // The REST API is served from the template by local/apigateway (the api component).
  "AWS::ApiGateway::RestApi",
  "AWS::ApiGateway::Resource",
  "AWS::ApiGateway::Method",
  "AWS::ApiGateway::Model",
  "AWS::ApiGateway::RequestValidator",
  "AWS::ApiGateway::GatewayResponse",
  "AWS::ApiGateway::Deployment",
  "AWS::ApiGateway::Account",
]);

/** The resource types the phases deploy. */
const DEPLOYED_TYPES = new Set([
  "AWS::S3::Bucket",
  "AWS::DynamoDB::Table",
  "AWS::Events::EventBus",
  "AWS::Lambda::Function",
  "AWS::StepFunctions::StateMachine",
  "AWS::Events::Rule",
  "AWS::SQS::Queue",
  "AWS::Scheduler::Schedule",
  "AWS::Lambda::EventInvokeConfig",
]);

export interface DeployOptions extends LocalServicesOptions {
  /** Stack to deploy when the assembly has several. */
  stackName?: string;
  region?: string;
  accountId?: string;
}

export interface LocalDeployment {
  stackName: string;
  runtime: LambdaRuntime;
  runner: StepFunctionsRunner;
  router: EventRouter;
  /** EventBridge Scheduler: the template's schedules (fire(), invocations). */
  scheduler: LocalScheduler;
  /** The template's SQS queues (also served by the SQS endpoint when one runs). */
  queues: SqsQueues;
  /** The clock rules and schedules run on. */
  clock: Clock;
  resources: DeployedResource[];
  /** Resource types skipped on purpose (IAM, logs, alarms, ...). */
  ignored: { logicalId: string; type: string }[];
  /** Resource types the local environment does not implement. */
  unsupported: { logicalId: string; type: string }[];
  outputs: Record<string, unknown>;
  /** Physical name/ARN of a resource by logical id (or by a logical id prefix, as CDK adds hashes). */
  physicalId(logicalIdOrPrefix: string): string;
  arn(logicalIdOrPrefix: string): string;
  invoke<T = unknown>(functionLogicalIdOrName: string, event: unknown): Promise<T>;
  close(): Promise<void>;
}

export async function deployLocally(
  assemblyDir: string,
  opts: DeployOptions,
): Promise<LocalDeployment> {
  const region = opts.region ?? opts.s3.region ?? "us-east-1";
  const accountId = opts.accountId ?? "000000000000";
  const { stackName, template } = loadAssemblyTemplate(assemblyDir, opts.stackName);
  const physical = new Map<string, Physical>();
  const parameters: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(template.Parameters ?? {})) parameters[k] = p.Default ?? "";
  const resolver = new TemplateResolver(template, {
    region,
    accountId,
    partition: "aws",
    urlSuffix: "amazonaws.com",
    stackName,
    physical,
    parameters,
  });
  const services = localServices(opts, region, accountId);
  const ctx: DeployContext = {
    assemblyDir,
    stackName,
    region,
    accountId,
    resources: Object.entries(template.Resources).filter(
      ([, r]) => !r.Condition || resolver.condition(r.Condition),
    ),
    physical,
    resolver,
    lambdaEnv: opts.lambdaEnv,
    deployed: [],
    unsupported: [],
    queueUrlOf: (name) => services.queues.queueUrlOf(name),
  };
  assignPhysicalIds(ctx);
  deployQueues(ctx, services.queues);
  await deployStorage(ctx, services.s3, services.ddb, services.router);
  const inlineCodeDirs = deployFunctions(ctx, services.runtime);
  deployAsyncInvokeConfigs(ctx, services.runtime);
  deployStateMachines(ctx, services.runner);
  deployRules(ctx, services.router);
  deploySchedules(ctx, services.scheduler);
  const ignored: { logicalId: string; type: string }[] = [];
  for (const [id, r] of ctx.resources) {
    if (DEPLOYED_TYPES.has(r.Type)) continue;
    (IGNORED_TYPES.has(r.Type) ? ignored : ctx.unsupported).push({ logicalId: id, type: r.Type });
  }
  return deployment(ctx, services, ignored, stackOutputs(template, resolver), inlineCodeDirs);
}

function stackOutputs(template: CfnTemplate, resolver: TemplateResolver): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (const [k, o] of Object.entries(template.Outputs ?? {})) {
    try {
      outputs[k] = resolver.resolve(o.Value);
    } catch {
      outputs[k] = undefined;
    }
  }
  return outputs;
}

/** A resource by logical id, or by a logical id without CDK's hash, or by a unique prefix. */
function lookupPhysical(physical: Map<string, Physical>, key: string): Physical {
  const exact = physical.get(key);
  if (exact) return exact;
  // CDK logical ids are the construct path plus an 8-character hash.
  const hashed = [...physical.keys()].filter(
    (k) =>
      k.length === key.length + 8 && k.startsWith(key) && /^[0-9A-F]{8}$/.test(k.slice(key.length)),
  );
  const matches =
    hashed.length > 0 ? hashed : [...physical.keys()].filter((k) => k.startsWith(key));
  if (matches.length !== 1)
    throw new TemplateError(
      `No single resource with logical id (prefix) '${key}' (matches: ${matches.join(", ") || "none"})`,
    );
  return physical.get(matches[0]!)!;
}

function deployment(
  ctx: DeployContext,
  services: LocalServices,
  ignored: { logicalId: string; type: string }[],
  outputs: Record<string, unknown>,
  inlineCodeDirs: string[],
): LocalDeployment {
  const { s3, ddb, runtime, router, runner, scheduler, queues } = services;
  const lookup = (key: string) => lookupPhysical(ctx.physical, key);
  return {
    stackName: ctx.stackName,
    runtime,
    runner,
    router,
    scheduler,
    queues,
    clock: router.clock,
    resources: ctx.deployed,
    ignored,
    unsupported: ctx.unsupported,
    outputs,
    physicalId: (k) => {
      const p = lookup(k);
      return p.attrs.Name ?? p.ref;
    },
    arn: (k) => {
      const p = lookup(k);
      if (!p.attrs.Arn) throw new TemplateError(`Resource '${k}' has no ARN`);
      return p.attrs.Arn;
    },
    invoke: (k, event) =>
      runtime.invokeJson(runtime.functionNames().includes(k) ? k : lookup(k).ref, event),
    close: async () => {
      router.stopSchedules();
      scheduler.stop();
      runner.stopAll();
      await runtime.close();
      s3.destroy();
      ddb.destroy();
      for (const dir of inlineCodeDirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}
