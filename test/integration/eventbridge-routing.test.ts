// EventBridge locally: event patterns, input transformation, and the PutEvents endpoint
// driven with @aws-sdk/client-eventbridge.
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createEventBridgeClient } from "../../lambdas/shared/aws/clients";
import { TestClock } from "../../local/clock";
import {
  EventRouter,
  fillTemplate,
  matchesPattern,
  PatternError,
  rateIntervalMs,
  ScheduleError,
  startEventBridgeServer,
  targetInput,
} from "../../local/eventbridge";

const event = {
  version: "0",
  id: "e1",
  "detail-type": "Export Finished",
  source: "lakeport.export",
  account: "000000000000",
  time: "2026-01-01T00:00:00Z",
  region: "us-east-1",
  resources: ["arn:a", "arn:b"],
  detail: {
    repo: "Sales-Data",
    branch: "main",
    count: 42,
    tags: ["x", "y"],
    nested: { flag: true },
    empty: null,
  },
};

describe("event patterns", () => {
  const cases: [string, Record<string, unknown>, boolean][] = [
    ["exact", { source: ["lakeport.export"] }, true],
    ["exact miss", { source: ["other"] }, false],
    ["prefix", { detail: { branch: [{ prefix: "ma" }] } }, true],
    ["suffix", { detail: { repo: [{ suffix: "-Data" }] } }, true],
    ["anything-but", { detail: { branch: [{ "anything-but": ["dev", "test"] }] } }, true],
    ["anything-but miss", { detail: { branch: [{ "anything-but": "main" }] } }, false],
    ["anything-but prefix", { detail: { branch: [{ "anything-but": { prefix: "ma" } }] } }, false],
    ["numeric range", { detail: { count: [{ numeric: [">", 40, "<=", 42] }] } }, true],
    ["numeric miss", { detail: { count: [{ numeric: ["<", 10] }] } }, false],
    ["exists", { detail: { branch: [{ exists: true }] } }, true],
    ["not exists", { detail: { missing: [{ exists: false }] } }, true],
    ["exists on missing", { detail: { missing: [{ exists: true }] } }, false],
    ["equals-ignore-case", { detail: { repo: [{ "equals-ignore-case": "sales-data" }] } }, true],
    ["wildcard", { detail: { repo: [{ wildcard: "Sales-*" }] } }, true],
    ["wildcard miss", { detail: { repo: [{ wildcard: "*-Other" }] } }, false],
    ["array element", { detail: { tags: ["y"] } }, true],
    ["resources array", { resources: ["arn:b"] }, true],
    ["nested", { detail: { nested: { flag: [true] } } }, true],
    ["null", { detail: { empty: [null] } }, true],
    ["$or", { $or: [{ source: ["nope"] }, { detail: { count: [42] } }] }, true],
    ["$or miss", { $or: [{ source: ["nope"] }, { detail: { count: [41] } }] }, false],
    [
      "detail-type",
      { "detail-type": ["Export Finished"], source: [{ prefix: "lakeport." }] },
      true,
    ],
    ["missing field", { detail: { other: ["x"] } }, false],
  ];
  for (const [name, pattern, expected] of cases) {
    it(`${name} -> ${expected}`, () => {
      expect(matchesPattern(pattern, event)).toBe(expected);
    });
  }
  it("rejects unsupported matchers when a rule is added", () => {
    const router = new EventRouter();
    expect(() =>
      router.putRule({
        name: "r",
        arn: "a",
        eventBusName: "default",
        eventPattern: { source: [{ cidr: "10.0.0.0/8" }] },
        targets: [],
      }),
    ).toThrow(PatternError);
    expect(() =>
      router.putRule({
        name: "r",
        arn: "a",
        eventBusName: "default",
        eventPattern: { source: [{ bogus: 1 }] },
        targets: [],
      }),
    ).toThrow(PatternError);
  });
});

describe("target input", () => {
  const rule = { arn: "arn:aws:events:us-east-1:000000000000:rule/r", name: "r" };
  it("passes the whole event, a constant Input, or an InputPath", () => {
    expect(JSON.parse(targetInput({}, event, rule))).toEqual(event);
    expect(targetInput({ Input: '{"fixed":1}' }, event, rule)).toBe('{"fixed":1}');
    expect(JSON.parse(targetInput({ InputPath: "$.detail.nested" }, event, rule))).toEqual({
      flag: true,
    });
  });
  it("fills InputTransformer templates as EventBridge does (JSON values outside quotes, raw text inside)", () => {
    const out = targetInput(
      {
        InputTransformer: {
          InputPathsMap: { repo: "$.detail.repo", count: "$.detail.count", tags: "$.detail.tags" },
          InputTemplate:
            '{"repo":<repo>,"msg":"<repo> has <count> items","count":<count>,"tags":<tags>,"rule":"<aws.events.rule-name>","event":<aws.events.event>}',
        },
      },
      event,
      rule,
    );
    expect(JSON.parse(out)).toEqual({
      repo: "Sales-Data",
      msg: "Sales-Data has 42 items",
      count: 42,
      tags: ["x", "y"],
      rule: "r",
      event,
    });
    expect(fillTemplate('"<a> said \\"hi\\""', { a: 'q"t' })).toBe('"q\\"t said \\"hi\\""');
  });
});

describe("PutEvents endpoint", () => {
  const router = new EventRouter();
  const started: { stateMachineArn: string; input: string }[] = [];
  const invoked: unknown[] = [];
  let server: Awaited<ReturnType<typeof startEventBridgeServer>>;
  beforeAll(async () => {
    router.setDeps({
      startExecution: async (a) => {
        started.push(a);
        return {};
      },
      invokeAsync: (_arn, e) => {
        invoked.push(e);
      },
    });
    router.createEventBus("custom");
    router.putRule({
      name: "to-sfn",
      arn: "arn:aws:events:us-east-1:000000000000:rule/custom/to-sfn",
      eventBusName: "custom",
      eventPattern: { source: ["lakeport.api"], detail: { kind: ["export"] } },
      targets: [
        {
          Id: "t",
          Arn: "arn:aws:states:us-east-1:000000000000:stateMachine:sm",
          InputPath: "$.detail",
        },
      ],
    });
    router.putRule({
      name: "to-lambda",
      arn: "arn:aws:events:us-east-1:000000000000:rule/to-lambda",
      eventBusName: "default",
      eventPattern: { "detail-type": [{ prefix: "Step Functions" }] },
      targets: [{ Id: "l", Arn: "arn:aws:lambda:us-east-1:000000000000:function:notify" }],
    });
    server = await startEventBridgeServer({ router });
  });
  afterAll(() => server.stop());

  it("answers Entries with EventIds, routes by bus and pattern, and reports failed entries", async () => {
    const eb = createEventBridgeClient({
      endpoint: server.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
    });
    const res = await eb.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: "custom",
            Source: "lakeport.api",
            DetailType: "Requested",
            Detail: JSON.stringify({ kind: "export", repo: "r" }),
          },
          {
            EventBusName: "arn:aws:events:us-east-1:000000000000:event-bus/custom",
            Source: "lakeport.api",
            DetailType: "Requested",
            Detail: JSON.stringify({ kind: "gc" }),
          },
          {
            Source: "aws.states",
            DetailType: "Step Functions Execution Status Change",
            Detail: JSON.stringify({ status: "FAILED" }),
          },
          { EventBusName: "nope", Source: "s", DetailType: "d", Detail: "{}" },
          { Source: "s", DetailType: "d", Detail: "not json" },
        ],
      }),
    );
    expect(res.FailedEntryCount).toBe(2);
    expect(res.Entries?.slice(0, 3).every((e) => typeof e.EventId === "string")).toBe(true);
    expect(res.Entries?.[3]?.ErrorCode).toBe("ResourceNotFoundException");
    expect(res.Entries?.[4]?.ErrorCode).toBe("MalformedDetail");
    expect(started).toEqual([
      {
        stateMachineArn: "arn:aws:states:us-east-1:000000000000:stateMachine:sm",
        input: '{"kind":"export","repo":"r"}',
      },
    ]);
    expect(invoked).toHaveLength(1);
    expect(invoked[0]).toMatchObject({
      source: "aws.states",
      "detail-type": "Step Functions Execution Status Change",
      detail: { status: "FAILED" },
      account: "000000000000",
    });
  });

  it("refuses a request over 256 KB as AWS does, routing none of it", async () => {
    const eb = createEventBridgeClient({
      endpoint: server.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
    });
    const startedBefore = started.length;
    const entry = (bytes: number) => ({
      EventBusName: "custom",
      Source: "lakeport.api",
      DetailType: "Requested",
      Detail: JSON.stringify({ kind: "export", pad: "x".repeat(bytes) }),
    });
    await expect(
      eb.send(new PutEventsCommand({ Entries: [entry(200 * 1024), entry(60 * 1024)] })),
    ).rejects.toThrow("Total size of the entries in the request is over the limit.");
    expect(started.length).toBe(startedBefore);
    // Just under the limit: taken.
    const fits =
      256 * 1024 - "lakeport.api".length - "Requested".length - '{"kind":"export","pad":""}'.length;
    const res = await eb.send(new PutEventsCommand({ Entries: [entry(fits)] }));
    expect(res.FailedEntryCount).toBe(0);
    expect(started.length).toBe(startedBefore + 1);
  });
});

describe("scheduled rules", () => {
  const arn = "arn:aws:events:us-east-1:000000000000:rule/every-five";
  const target = { Id: "check", Arn: "arn:aws:lambda:us-east-1:000000000000:function:check" };

  it("reads rate expressions as EventBridge does and refuses malformed ones", () => {
    expect(rateIntervalMs("rate(1 minute)")).toBe(60_000);
    expect(rateIntervalMs("rate(5 minutes)")).toBe(300_000);
    expect(rateIntervalMs("rate(2 hours)")).toBe(7_200_000);
    expect(rateIntervalMs("rate(1 day)")).toBe(86_400_000);
    expect(() => rateIntervalMs("rate(5 minute)")).toThrow(/use "minutes" with 5/);
    expect(() => rateIntervalMs("rate(1 hours)")).toThrow(/use "hour" with 1/);
    expect(() => rateIntervalMs("rate(0 minutes)")).toThrow(ScheduleError);
    expect(() => rateIntervalMs("rate(5 weeks)")).toThrow(ScheduleError);
    expect(() => rateIntervalMs("cron(0 3 ? * SUN *)")).toThrow(/not a rate expression/);
  });

  it("sends a Scheduled Event to the targets when fired, and never on a pattern match", async () => {
    const invoked: { arn: string; event: Record<string, unknown> }[] = [];
    const router = new EventRouter({
      invokeAsync: (a, e) => invoked.push({ arn: a, event: e as Record<string, unknown> }),
    });
    router.putRule({
      name: "every-five",
      arn,
      eventBusName: "default",
      scheduleExpression: "rate(5 minutes)",
      targets: [target],
    });
    await router.putEvents([{ Source: "aws.events", DetailType: "Scheduled Event", Detail: "{}" }]);
    expect(invoked).toEqual([]);
    const fired = router.fireSchedule("every-five", new Date("2026-11-24T10:05:00.000Z"));
    expect(invoked).toEqual([{ arn: target.Arn, event: fired }]);
    expect(fired).toMatchObject({
      version: "0",
      "detail-type": "Scheduled Event",
      source: "aws.events",
      time: "2026-11-24T10:05:00Z",
      resources: [arn],
      detail: {},
    });
    expect(router.deliveries.at(-1)).toMatchObject({ rule: "every-five", targetArn: target.Arn });
    expect(() => router.fireSchedule("nope")).toThrow(/no scheduled rule nope/);
  });

  it("fires on a timer only when asked to run schedules", async () => {
    vi.useFakeTimers();
    try {
      const calls: string[] = [];
      const make = (runSchedules: boolean) => {
        const router = new EventRouter({
          runSchedules,
          invokeAsync: () => calls.push(runSchedules ? "timer" : "manual-only"),
        });
        router.putRule({
          name: "r",
          arn,
          eventBusName: "default",
          scheduleExpression: "rate(1 minute)",
          targets: [target],
        });
        return router;
      };
      const running = make(true);
      const quiet = make(false);
      vi.advanceTimersByTime(3 * 60_000 + 1);
      expect(calls).toEqual(["timer", "timer", "timer"]);
      running.stopSchedules();
      vi.advanceTimersByTime(5 * 60_000);
      expect(calls).toHaveLength(3);
      quiet.stopSchedules();
    } finally {
      vi.useRealTimers();
    }
  });

  it("refuses a rule with neither a pattern nor a schedule, and a malformed cron schedule", () => {
    const router = new EventRouter();
    expect(() =>
      router.putRule({ name: "empty", arn, eventBusName: "default", targets: [target] }),
    ).toThrow(/needs an EventPattern or a ScheduleExpression/);
    expect(() =>
      router.putRule({
        name: "weekly",
        arn,
        eventBusName: "default",
        scheduleExpression: "cron(0 3 * * * *)",
        targets: [target],
      }),
    ).toThrow(ScheduleError);
  });

  it("runs a cron rule (UTC) on its clock: a Scheduled Event at each scheduled time", async () => {
    const clock = new TestClock(Date.parse("2026-12-05T02:58:00Z"));
    const invoked: Record<string, unknown>[] = [];
    const router = new EventRouter({
      clock,
      runSchedules: true,
      invokeAsync: (_a, e) => invoked.push(e as Record<string, unknown>),
    });
    router.putRule({
      name: "weekly",
      arn,
      eventBusName: "default",
      scheduleExpression: "cron(0 3 ? * SUN *)",
      targets: [target],
    });
    await clock.advanceTo(Date.parse("2026-12-06T02:59:59Z"));
    expect(invoked).toEqual([]);
    await clock.advanceTo(Date.parse("2026-12-13T03:00:00Z"));
    expect(invoked.map((e) => e.time)).toEqual(["2026-12-06T03:00:00Z", "2026-12-13T03:00:00Z"]);
    router.stopSchedules();
    await clock.advance(14 * 86_400_000);
    expect(invoked).toHaveLength(2);
  });
});
