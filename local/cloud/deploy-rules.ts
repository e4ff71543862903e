// Deployment phase: EventBridge rules (event patterns, rate and cron schedules, targets with
// their input shaping and dead-letter queues) put on the router's buses.
import type { EventRouter, RuleTarget } from "../eventbridge/router";
import { parseSchedule, ScheduleError } from "../eventbridge/schedule";
import { type DeployContext, recordDeployed, resolvedProps } from "./deploy-context";

export function deployRules(ctx: DeployContext, router: EventRouter): void {
  for (const [id, r] of ctx.resources) {
    if (r.Type !== "AWS::Events::Rule") continue;
    const p = resolvedProps(ctx, r);
    const scheduleExpression =
      p.ScheduleExpression === undefined ? undefined : String(p.ScheduleExpression);
    if (scheduleExpression !== undefined) {
      try {
        parseSchedule(scheduleExpression);
      } catch (err) {
        if (!(err instanceof ScheduleError)) throw err;
        ctx.unsupported.push({ logicalId: id, type: `${r.Type} (${err.message})` });
        continue;
      }
    }
    const bus = p.EventBusName ? String(p.EventBusName).replace(/^.*:event-bus\//, "") : "default";
    router.putRule({
      name: ctx.physical.get(id)!.ref,
      arn: ctx.physical.get(id)!.attrs.Arn!,
      eventBusName: bus,
      ...(p.EventPattern
        ? {
            eventPattern: (typeof p.EventPattern === "string"
              ? JSON.parse(p.EventPattern)
              : p.EventPattern) as Record<string, unknown>,
          }
        : {}),
      ...(scheduleExpression !== undefined ? { scheduleExpression } : {}),
      targets: ((p.Targets ?? []) as Record<string, unknown>[]).map(ruleTarget),
      state: p.State === "DISABLED" ? "DISABLED" : "ENABLED",
    });
    recordDeployed(ctx, id, r.Type);
  }
}

function ruleTarget(t: Record<string, unknown>): RuleTarget {
  const target: RuleTarget = { Id: String(t.Id), Arn: String(t.Arn) };
  if (t.Input !== undefined) target.Input = String(t.Input);
  if (t.InputPath !== undefined) target.InputPath = String(t.InputPath);
  if (t.InputTransformer !== undefined)
    target.InputTransformer = t.InputTransformer as RuleTarget["InputTransformer"];
  const dlq = t.DeadLetterConfig as { Arn?: unknown } | undefined;
  if (dlq?.Arn !== undefined) target.DeadLetterConfig = { Arn: String(dlq.Arn) };
  return target;
}
