// Routes PutEvents entries to the targets of matching rules: state machine targets start
// executions, Lambda targets are invoked asynchronously. Scheduled rules (rate and cron
// expressions, UTC) send EventBridge's "Scheduled Event" to their targets: on the router's
// clock when `runSchedules` is set (`npm run local`, tests with a TestClock), or when a test
// calls fireSchedule. An event a target cannot take (unknown function or state machine, a
// refused StartExecution, a failed input transformation) goes to the target's dead-letter
// queue with EventBridge's message attributes.
import { randomUUID } from "node:crypto";
import { type Clock, systemClock } from "../clock";
import type { QueueSender } from "../lambda/async-invocation";
import type { EventEntry, EventSink } from "../stepfunctions/integrations";
import { matchesPattern, validatePattern } from "./pattern";
import { nextFireTime, parseSchedule, type Schedule } from "./schedule";
import { type TargetInputSpec, targetInput } from "./transform";

export interface RuleTarget extends TargetInputSpec {
  Id: string;
  Arn: string;
  /** Where events this target could not take go (an SQS queue ARN). */
  DeadLetterConfig?: { Arn: string };
}

export interface RuleDefinition {
  name: string;
  arn: string;
  eventBusName: string;
  /** A rule has an event pattern, a schedule expression, or both. */
  eventPattern?: Record<string, unknown>;
  /** `rate(5 minutes)` or `cron(0 3 ? * SUN *)` (UTC); others are refused (ScheduleError). */
  scheduleExpression?: string;
  targets: RuleTarget[];
  state?: "ENABLED" | "DISABLED";
}

export interface RouterDeps {
  startExecution?: (args: { stateMachineArn: string; input: string }) => Promise<unknown>;
  invokeAsync?: (functionArn: string, event: unknown, onFailure: (msg: string) => void) => void;
  region?: string;
  accountId?: string;
  /** Fire scheduled rules on the clock (default: only through fireSchedule). */
  runSchedules?: boolean;
  /** The clock schedules run on (default the system clock). */
  clock?: Clock;
  /** Sends to an SQS queue by ARN: the targets' dead-letter queues. */
  sendToQueue?: QueueSender;
}

export interface DeliveryRecord {
  eventId: string;
  rule: string;
  targetArn: string;
  input: string;
  error?: string;
}

export class EventRouter implements EventSink {
  private readonly buses = new Set<string>(["default"]);
  private readonly rules: RuleDefinition[] = [];
  /** Every delivery (newest last); tests and `npm run local` read it. */
  readonly deliveries: DeliveryRecord[] = [];
  /** Every accepted event (newest last). */
  readonly events: Record<string, unknown>[] = [];
  readonly region: string;
  readonly accountId: string;

  constructor(private deps: RouterDeps = {}) {
    this.region = deps.region ?? "us-east-1";
    this.accountId = deps.accountId ?? "000000000000";
  }

  setDeps(deps: RouterDeps): void {
    this.deps = { ...this.deps, ...deps };
  }

  createEventBus(name: string): string {
    this.buses.add(name);
    return `arn:aws:events:${this.region}:${this.accountId}:event-bus/${name}`;
  }

  private readonly timers = new Set<() => void>();

  get clock(): Clock {
    return this.deps.clock ?? systemClock;
  }

  putRule(rule: RuleDefinition): void {
    if (!rule.eventPattern && !rule.scheduleExpression) {
      throw new Error(`Rule ${rule.name}: needs an EventPattern or a ScheduleExpression`);
    }
    if (rule.eventPattern) validatePattern(rule.eventPattern, `Rule ${rule.name}.EventPattern`);
    const schedule = rule.scheduleExpression ? parseSchedule(rule.scheduleExpression) : undefined;
    this.buses.add(rule.eventBusName);
    this.rules.push(rule);
    if (schedule && this.deps.runSchedules) this.arm(rule, schedule, this.clock.now());
  }

  /** Sets the rule's next firing on the clock; each firing sets the one after. */
  private arm(rule: RuleDefinition, schedule: Schedule, anchorMs: number): void {
    const clock = this.clock;
    const at = nextFireTime(schedule, clock.now(), { anchorMs });
    if (at === undefined) return;
    const cancel = clock.at(at, () => {
      this.timers.delete(cancel);
      this.fireSchedule(rule.name, new Date(at));
      this.arm(rule, schedule, anchorMs);
    });
    this.timers.add(cancel);
  }

  /**
   * Sends the rule's "Scheduled Event" to its targets now, as EventBridge does at each
   * scheduled time; returns the event. Throws for an unknown or unscheduled rule.
   */
  fireSchedule(ruleNameOrArn: string, time = new Date(this.clock.now())): Record<string, unknown> {
    const rule = this.rules.find((r) => r.name === ruleNameOrArn || r.arn === ruleNameOrArn);
    if (!rule?.scheduleExpression) {
      throw new Error(`no scheduled rule ${ruleNameOrArn}`);
    }
    const event: Record<string, unknown> = {
      version: "0",
      id: randomUUID(),
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: this.accountId,
      time: time.toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: this.region,
      resources: [rule.arn],
      detail: {},
    };
    if (rule.state !== "DISABLED") {
      this.events.push(event);
      if (this.events.length > 10_000) this.events.shift();
      for (const t of rule.targets) this.deliver(rule, t, event);
    }
    return event;
  }

  /** Stops the timers of scheduled rules. */
  stopSchedules(): void {
    for (const cancel of this.timers) cancel();
    this.timers.clear();
  }

  listRules(): RuleDefinition[] {
    return [...this.rules];
  }

  private busName(nameOrArn: string | undefined): string {
    if (!nameOrArn) return "default";
    const m = /:event-bus\/(.+)$/.exec(nameOrArn);
    return m ? m[1]! : nameOrArn;
  }

  async putEvents(
    entries: EventEntry[],
  ): Promise<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }[]> {
    const out: { EventId?: string; ErrorCode?: string; ErrorMessage?: string }[] = [];
    for (const e of entries) {
      const bus = this.busName(e.EventBusName);
      if (!e.Source || !e.DetailType || e.Detail === undefined) {
        out.push({
          ErrorCode: "InvalidArgument",
          ErrorMessage: "Parameters Source, DetailType and Detail are required",
        });
        continue;
      }
      if (!this.buses.has(bus)) {
        out.push({
          ErrorCode: "ResourceNotFoundException",
          ErrorMessage: `Event bus ${bus} does not exist.`,
        });
        continue;
      }
      let detail: unknown;
      try {
        detail = JSON.parse(e.Detail);
      } catch {
        out.push({ ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." });
        continue;
      }
      if (detail === null || typeof detail !== "object" || Array.isArray(detail)) {
        out.push({ ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." });
        continue;
      }
      const id = randomUUID();
      const time = e.Time ? new Date(e.Time) : new Date();
      const event: Record<string, unknown> = {
        version: "0",
        id,
        "detail-type": e.DetailType,
        source: e.Source,
        account: this.accountId,
        time: time.toISOString().replace(/\.\d{3}Z$/, "Z"),
        region: this.region,
        resources: e.Resources ?? [],
        detail,
      };
      this.events.push(event);
      if (this.events.length > 10_000) this.events.shift();
      this.route(bus, event);
      out.push({ EventId: id });
    }
    return out;
  }

  private route(bus: string, event: Record<string, unknown>): void {
    for (const rule of this.rules) {
      if (rule.eventBusName !== bus || rule.state === "DISABLED" || !rule.eventPattern) continue;
      if (!matchesPattern(rule.eventPattern, event)) continue;
      for (const t of rule.targets) this.deliver(rule, t, event);
    }
  }

  private deliver(rule: RuleDefinition, t: RuleTarget, event: Record<string, unknown>): void {
    const record: DeliveryRecord = {
      eventId: String(event.id),
      rule: rule.name,
      targetArn: t.Arn,
      input: "",
    };
    this.deliveries.push(record);
    if (this.deliveries.length > 10_000) this.deliveries.shift();
    const fail = (msg: string) => {
      record.error = msg;
      console.error(`[eventbridge] rule ${rule.name} target ${t.Id}: ${msg}`);
    };
    // The target never got the event: EventBridge puts it in the target's dead-letter queue.
    const undelivered = (code: string, msg: string) => {
      fail(msg);
      this.deadLetter(rule, t, event, code, msg);
    };
    try {
      record.input = targetInput(t, event, { arn: rule.arn, name: rule.name });
    } catch (e) {
      undelivered(
        "INPUT_TRANSFORMATION_FAILED",
        `input transformation failed: ${(e as Error).message}`,
      );
      return;
    }
    if (/:states:[^:]+:\d+:stateMachine:/.test(t.Arn)) {
      if (!this.deps.startExecution) {
        undelivered("SDK_CLIENT_ERROR", "no Step Functions runner connected");
        return;
      }
      this.deps
        .startExecution({ stateMachineArn: t.Arn, input: record.input })
        .catch((e) => undelivered(errorCode(e), (e as Error).message));
    } else if (/:lambda:[^:]+:\d+:function:/.test(t.Arn)) {
      if (!this.deps.invokeAsync) {
        undelivered("SDK_CLIENT_ERROR", "no Lambda runtime connected");
        return;
      }
      let payload: unknown;
      try {
        payload = JSON.parse(record.input);
      } catch {
        payload = record.input;
      }
      try {
        // A function error is the function's own: its retries, destination or DLQ (Lambda).
        this.deps.invokeAsync(t.Arn, payload, fail);
      } catch (e) {
        undelivered(errorCode(e), (e as Error).message);
      }
    } else {
      undelivered("SDK_CLIENT_ERROR", `target type of ${t.Arn} is not supported locally`);
    }
  }

  private deadLetter(
    rule: RuleDefinition,
    t: RuleTarget,
    event: Record<string, unknown>,
    code: string,
    message: string,
  ): void {
    const queueArn = t.DeadLetterConfig?.Arn;
    if (!queueArn) return;
    const attr = (v: string) => ({ DataType: "String", StringValue: v });
    Promise.resolve()
      .then(() => {
        if (!this.deps.sendToQueue) throw new Error("no SQS queues connected");
        return this.deps.sendToQueue(queueArn, JSON.stringify(event), {
          RULE_ARN: attr(rule.arn),
          TARGET_ARN: attr(t.Arn),
          ERROR_CODE: attr(code),
          ERROR_MESSAGE: attr(message.slice(0, 1000)),
        });
      })
      .catch((e) =>
        console.error(`[eventbridge] dead-letter queue ${queueArn}: ${(e as Error).message}`),
      );
  }
}

/** EventBridge's ERROR_CODE for a target that refused the event. */
function errorCode(e: unknown): string {
  const name = (e as Error)?.name ?? "";
  return /NotFound|DoesNotExist/.test(name) ? "RESOURCE_NOT_FOUND" : "SDK_CLIENT_ERROR";
}
