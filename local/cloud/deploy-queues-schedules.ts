// Deployment phase: SQS queues in the local queues, EventBridge Scheduler schedules on the
// local scheduler, and where each function's failed asynchronous invocations go
// (AWS::Lambda::EventInvokeConfig, the function's DeadLetterConfig).

import { ScheduleError } from "../eventbridge/schedule";
import type { LocalScheduler } from "../eventbridge/scheduler";
import type { LambdaRuntime } from "../lambda/runtime";
import type { SqsQueues } from "../sqs/queues";
import { type DeployContext, recordDeployed, resolvedProps } from "./deploy-context";

export function deployQueues(ctx: DeployContext, queues: SqsQueues): void {
  for (const [id, r] of ctx.resources) {
    if (r.Type !== "AWS::SQS::Queue") continue;
    const p = resolvedProps(ctx, r);
    const attributes: Record<string, string> = {};
    for (const k of ["VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"]) {
      if (p[k] !== undefined) attributes[k] = String(p[k]);
    }
    queues.createQueue(ctx.physical.get(id)!.attrs.QueueName!, attributes);
    recordDeployed(ctx, id, r.Type);
  }
}

export function deploySchedules(ctx: DeployContext, scheduler: LocalScheduler): void {
  for (const [id, r] of ctx.resources) {
    if (r.Type !== "AWS::Scheduler::Schedule") continue;
    const p = resolvedProps(ctx, r);
    const t = (p.Target ?? {}) as Record<string, unknown>;
    const retry = t.RetryPolicy as
      | { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number }
      | undefined;
    const dlq = t.DeadLetterConfig as { Arn?: string } | undefined;
    try {
      scheduler.putSchedule({
        name: ctx.physical.get(id)!.ref,
        arn: ctx.physical.get(id)!.attrs.Arn!,
        expression: String(p.ScheduleExpression ?? ""),
        ...(p.ScheduleExpressionTimezone ? { timeZone: String(p.ScheduleExpressionTimezone) } : {}),
        state: p.State === "DISABLED" ? "DISABLED" : "ENABLED",
        target: {
          Arn: String(t.Arn ?? ""),
          ...(t.Input !== undefined ? { Input: String(t.Input) } : {}),
          ...(retry ? { RetryPolicy: retry } : {}),
          ...(dlq?.Arn ? { DeadLetterConfig: { Arn: String(dlq.Arn) } } : {}),
        },
      });
    } catch (err) {
      if (!(err instanceof ScheduleError)) throw err;
      ctx.unsupported.push({ logicalId: id, type: `${r.Type} (${err.message})` });
      continue;
    }
    recordDeployed(ctx, id, r.Type);
  }
}

export function deployAsyncInvokeConfigs(ctx: DeployContext, runtime: LambdaRuntime): void {
  for (const [id, r] of ctx.resources) {
    if (r.Type === "AWS::Lambda::Function") {
      const dlq = resolvedProps(ctx, r).DeadLetterConfig as { TargetArn?: string } | undefined;
      if (dlq?.TargetArn && runtime.functionNames().includes(ctx.physical.get(id)!.ref)) {
        runtime.configureAsync(ctx.physical.get(id)!.ref, { deadLetterTargetArn: dlq.TargetArn });
      }
    }
    if (r.Type !== "AWS::Lambda::EventInvokeConfig") continue;
    const p = resolvedProps(ctx, r);
    const onFailure = (p.DestinationConfig as { OnFailure?: { Destination?: string } } | undefined)
      ?.OnFailure?.Destination;
    runtime.configureAsync(String(p.FunctionName), {
      ...(p.MaximumRetryAttempts !== undefined
        ? { maximumRetryAttempts: Number(p.MaximumRetryAttempts) }
        : {}),
      ...(onFailure ? { onFailureDestination: String(onFailure) } : {}),
    });
    recordDeployed(ctx, id, r.Type);
  }
}
