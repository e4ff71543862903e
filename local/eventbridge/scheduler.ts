// EventBridge Scheduler for the embedded environment: schedules (rate, cron and one-time at
// expressions, in their time zone) fire on a clock, and each firing sends the target's Input
// to the target: a Lambda function invoked asynchronously, or a state machine execution.
// A firing the target does not take is retried (RetryPolicy.MaximumRetryAttempts) and then
// put in the target's dead-letter queue with the Scheduler's message attributes.
import { randomUUID } from "node:crypto";
import { type Clock, systemClock } from "../clock";
import type { QueueSender } from "../lambda/async-invocation";
import {
  checkTimeZone,
  nextFireTime,
  parseSchedule,
  type Schedule,
  ScheduleError,
} from "./schedule";

export interface ScheduleTarget {
  Arn: string;
  /** What the target receives (text; JSON for Lambda and Step Functions). */
  Input?: string;
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  DeadLetterConfig?: { Arn: string };
}

export interface ScheduleDefinition {
  name: string;
  arn: string;
  /** rate(...), cron(...) or at(...). */
  expression: string;
  /** IANA zone of cron and at expressions (default UTC). */
  timeZone?: string;
  state?: "ENABLED" | "DISABLED";
  target: ScheduleTarget;
}

export interface SchedulerDeps {
  clock?: Clock;
  /** Fire schedules on the clock (default: only through fire()). */
  runSchedules?: boolean;
  invokeAsync?: (functionArn: string, event: unknown, onFailure: (msg: string) => void) => void;
  startExecution?: (args: { stateMachineArn: string; input: string }) => Promise<unknown>;
  sendToQueue?: QueueSender;
}

export interface ScheduledInvocation {
  schedule: string;
  executionId: string;
  scheduledTime: string;
  targetArn: string;
  input: string;
  attempts: number;
  /** Why the target did not take it (then it went to the dead-letter queue, if any). */
  error?: string;
}

/** Retries the Scheduler makes when the target's RetryPolicy does not say (AWS's default). */
const DEFAULT_RETRIES = 185;

export class LocalScheduler {
  private readonly schedules = new Map<
    string,
    { def: ScheduleDefinition; schedule: Schedule; createdAt: number; cancel?: () => void }
  >();
  /** Every firing, newest last. */
  readonly invocations: ScheduledInvocation[] = [];

  constructor(private deps: SchedulerDeps = {}) {}

  setDeps(deps: SchedulerDeps): void {
    this.deps = { ...this.deps, ...deps };
  }

  get clock(): Clock {
    return this.deps.clock ?? systemClock;
  }

  /** CreateSchedule: checks the expression and time zone, then arms it (when running). */
  putSchedule(def: ScheduleDefinition): void {
    const schedule = parseSchedule(def.expression, { allowAt: true });
    if (def.timeZone) checkTimeZone(def.timeZone);
    if (!/:(lambda|states):/.test(def.target.Arn)) {
      throw new ScheduleError(`${def.name}: target ${def.target.Arn} is not supported locally`);
    }
    this.schedules.get(def.name)?.cancel?.();
    const entry = { def, schedule, createdAt: this.clock.now() };
    this.schedules.set(def.name, entry);
    if (this.deps.runSchedules && def.state !== "DISABLED") this.arm(def.name);
  }

  list(): ScheduleDefinition[] {
    return [...this.schedules.values()].map((s) => s.def);
  }

  /** When the schedule fires next on the clock, if ever. */
  nextFireTime(name: string): Date | undefined {
    const s = this.get(name);
    const at = nextFireTime(s.schedule, this.clock.now(), {
      anchorMs: s.createdAt,
      ...(s.def.timeZone ? { timeZone: s.def.timeZone } : {}),
    });
    return at === undefined ? undefined : new Date(at);
  }

  private get(name: string) {
    const s =
      this.schedules.get(name) ?? [...this.schedules.values()].find((x) => x.def.arn === name);
    if (!s) throw new Error(`no schedule ${name}`);
    return s;
  }

  private arm(name: string): void {
    const s = this.get(name);
    const at = this.nextFireTime(name)?.getTime();
    if (at === undefined) return;
    s.cancel = this.clock.at(at, () => {
      s.cancel = undefined;
      void this.fire(name, new Date(at));
      this.arm(name);
    });
  }

  /** Fires the schedule now (or as of `time`), as the Scheduler does at each scheduled time. */
  async fire(name: string, time = new Date(this.clock.now())): Promise<ScheduledInvocation> {
    const { def } = this.get(name);
    const executionId = randomUUID();
    const scheduledTime = time.toISOString().replace(/\.\d{3}Z$/, "Z");
    const retries = def.target.RetryPolicy?.MaximumRetryAttempts ?? DEFAULT_RETRIES;
    const record: ScheduledInvocation = {
      schedule: def.name,
      executionId,
      scheduledTime,
      targetArn: def.target.Arn,
      input: "",
      attempts: 0,
    };
    this.invocations.push(record);
    if (this.invocations.length > 10_000) this.invocations.shift();
    let lastError: Error | undefined;
    while (record.attempts <= retries) {
      record.attempts++;
      record.input = contextAttributes(def.target.Input ?? "{}", {
        "scheduled-time": scheduledTime,
        "execution-id": executionId,
        "schedule-arn": def.arn,
        "attempt-number": String(record.attempts),
      });
      try {
        await this.deliver(def.target.Arn, record.input);
        return record;
      } catch (e) {
        lastError = e as Error;
        // A target that does not exist stays so: no retry (as the Scheduler does).
        if (/NotFound|DoesNotExist/.test(lastError.name)) break;
      }
    }
    record.error = lastError?.message ?? "not delivered";
    console.error(`[scheduler] ${def.name} -> ${def.target.Arn}: ${record.error}`);
    await this.deadLetter(def, record, lastError);
    return record;
  }

  private async deliver(arn: string, input: string): Promise<void> {
    if (/:lambda:/.test(arn)) {
      if (!this.deps.invokeAsync) throw new Error("no Lambda runtime connected");
      let payload: unknown;
      try {
        payload = JSON.parse(input);
      } catch {
        payload = input;
      }
      this.deps.invokeAsync(arn, payload, (msg) => console.error(`[scheduler] ${msg}`));
    } else {
      if (!this.deps.startExecution) throw new Error("no Step Functions runner connected");
      await this.deps.startExecution({ stateMachineArn: arn, input });
    }
  }

  private async deadLetter(
    def: ScheduleDefinition,
    record: ScheduledInvocation,
    error: Error | undefined,
  ): Promise<void> {
    const queueArn = def.target.DeadLetterConfig?.Arn;
    if (!queueArn || !this.deps.sendToQueue) return;
    const s = (v: string) => ({ DataType: "String", StringValue: v });
    try {
      await this.deps.sendToQueue(queueArn, record.input, {
        ERROR_CODE: s(error?.name ?? "Unknown"),
        ERROR_MESSAGE: s((error?.message ?? "").slice(0, 1000)),
        EXECUTION_ID: s(record.executionId),
        RETRY_ATTEMPTS: { DataType: "Number", StringValue: String(record.attempts - 1) },
        SCHEDULE_ARN: s(def.arn),
        TARGET_ARN: s(def.target.Arn),
      });
    } catch (e) {
      console.error(`[scheduler] dead-letter queue ${queueArn}: ${(e as Error).message}`);
    }
  }

  /** Stops every schedule's timer. */
  stop(): void {
    for (const s of this.schedules.values()) {
      s.cancel?.();
      s.cancel = undefined;
    }
  }
}

/** The Scheduler's context attributes in a target's Input: <aws.scheduler.scheduled-time>, ... */
function contextAttributes(input: string, values: Record<string, string>): string {
  return input.replace(/<aws\.scheduler\.([a-z-]+)>/g, (m, name: string) => values[name] ?? m);
}
