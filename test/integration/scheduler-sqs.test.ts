// The embedded environment's SQS endpoint driven with @aws-sdk/client-sqs, EventBridge
// Scheduler schedules on a test clock, and where undeliverable and failed events go: a
// schedule's and a rule target's dead-letter queue, a function's on-failure destination and
// dead-letter queue after Lambda's retries of an asynchronous invocation.
import path from "node:path";
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClock } from "../../local/clock";
import { EventRouter } from "../../local/eventbridge/router";
import { ScheduleError } from "../../local/eventbridge/schedule";
import { LocalScheduler } from "../../local/eventbridge/scheduler";
import type { QueueSender } from "../../local/lambda/async-invocation";
import { LambdaRuntime } from "../../local/lambda/runtime";
import { SqsQueues } from "../../local/sqs/queues";
import { type SqsServerHandle, startSqsServer } from "../../local/sqs/server";
import { testSqsClient } from "../support/clients";

let queues: SqsQueues;
let server: SqsServerHandle;
let sqs: SQSClient;
const runtime = new LambdaRuntime({ concurrencyPerFunction: 1 });
runtime.register({
  name: "fixture",
  codeDir: path.join(__dirname, "../fixtures/asl/lambda-handler"),
  handler: "index.handler",
  timeoutSeconds: 5,
});
const send: QueueSender = (arn, body, attributes) => {
  queues.send(arn, body, attributes);
};

beforeAll(async () => {
  queues = new SqsQueues();
  server = await startSqsServer({ queues });
  queues.setEndpoint(server.endpoint);
  sqs = testSqsClient(server.endpoint);
  runtime.setQueueSender(send);
});

afterAll(async () => {
  sqs?.destroy();
  await server?.stop();
  await runtime.close();
});

/** Every message now in the queue (received with their attributes, then deleted). */
async function drain(queueUrl: string, waitTimeSeconds = 2) {
  const r = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: waitTimeSeconds,
      MessageAttributeNames: ["All"],
      MessageSystemAttributeNames: ["All"],
    }),
  );
  for (const m of r.Messages ?? []) {
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
    );
  }
  return r.Messages ?? [];
}

const attrs = (m: { MessageAttributes?: Record<string, { StringValue?: string }> }) =>
  Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]));

describe("SQS endpoint (AWS JSON 1.0, @aws-sdk/client-sqs)", () => {
  it("sends, receives with a visibility timeout, makes visible again, deletes", async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "conformance" }));
    expect(QueueUrl).toBe(`${server.endpoint}/000000000000/conformance`);
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: "conformance" }))).QueueUrl).toBe(
      QueueUrl,
    );
    // The SDK checks MD5OfMessageBody and MD5OfMessageAttributes of the answer.
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: "héllo",
        MessageAttributes: {
          kind: { DataType: "String", StringValue: "greeting" },
          n: { DataType: "Number", StringValue: "7" },
        },
      }),
    );
    expect(sent.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    const first = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
    );
    expect(first.Messages).toHaveLength(1);
    const m = first.Messages![0]!;
    expect(m).toMatchObject({ MessageId: sent.MessageId, Body: "héllo" });
    expect(m.Attributes).toEqual({ ApproximateReceiveCount: "1" });
    expect(attrs(m)).toEqual({ kind: "greeting", n: "7" });
    // Hidden for the visibility timeout...
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages).toBeUndefined();
    const counts = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }),
    );
    expect(counts.Attributes).toMatchObject({
      ApproximateNumberOfMessages: "0",
      ApproximateNumberOfMessagesNotVisible: "1",
      QueueArn: "arn:aws:sqs:us-east-1:000000000000:conformance",
    });
    // ...visible again once its visibility is set to 0.
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl,
        ReceiptHandle: m.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const again = await drain(QueueUrl!, 0);
    expect(again.map((x) => [x.MessageId, x.Attributes?.ApproximateReceiveCount])).toEqual([
      [sent.MessageId, "2"],
    ]);
    expect(await drain(QueueUrl!, 0)).toEqual([]);
  });

  it("long polling returns as soon as a message arrives", async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "long-poll" }));
    const t0 = Date.now();
    const pending = drain(QueueUrl!, 10);
    setTimeout(() => queues.send("long-poll", "late"), 300);
    expect((await pending).map((m) => m.Body)).toEqual(["late"]);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it("answers SQS's errors: unknown queue, bad parameters", async () => {
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: "nope" }))).rejects.toMatchObject({
      name: "QueueDoesNotExist",
    });
    await expect(
      sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: `${server.endpoint}/000000000000/conformance`,
          MaxNumberOfMessages: 11,
        }),
      ),
    ).rejects.toThrow(/MaxNumberOfMessages/);
  });
});

describe("EventBridge Scheduler on a test clock", () => {
  it("fires a cron schedule in its time zone with the target's Input and context attributes", async () => {
    const clock = new TestClock(Date.parse("2026-12-02T03:29:00Z"));
    const invoked: { arn: string; event: unknown }[] = [];
    const scheduler = new LocalScheduler({
      clock,
      runSchedules: true,
      invokeAsync: (arn, event) => invoked.push({ arn, event }),
    });
    scheduler.putSchedule({
      name: "gc-nightly",
      arn: "arn:aws:scheduler:us-east-1:000000000000:schedule/default/gc-nightly",
      // 04:30 in Zurich is 03:30 UTC in December.
      expression: "cron(30 4 * * ? *)",
      timeZone: "Europe/Zurich",
      target: {
        Arn: "arn:aws:lambda:us-east-1:000000000000:function:gc",
        Input: '{"at":"<aws.scheduler.scheduled-time>","try":"<aws.scheduler.attempt-number>"}',
      },
    });
    expect(scheduler.nextFireTime("gc-nightly")?.toISOString()).toBe("2026-12-02T03:30:00.000Z");
    await clock.advanceTo(Date.parse("2026-12-02T03:29:59Z"));
    expect(invoked).toEqual([]);
    await clock.advanceTo(Date.parse("2026-12-03T03:30:00Z"));
    expect(invoked).toEqual([
      {
        arn: "arn:aws:lambda:us-east-1:000000000000:function:gc",
        event: { at: "2026-12-02T03:30:00Z", try: "1" },
      },
      {
        arn: "arn:aws:lambda:us-east-1:000000000000:function:gc",
        event: { at: "2026-12-03T03:30:00Z", try: "1" },
      },
    ]);
    scheduler.stop();
  });

  it("a one-time at schedule fires once; bad expressions and zones are refused", async () => {
    const clock = new TestClock(Date.parse("2026-12-02T00:00:00Z"));
    const fired: unknown[] = [];
    const scheduler = new LocalScheduler({
      clock,
      runSchedules: true,
      invokeAsync: (_a, e) => fired.push(e),
    });
    const target = { Arn: "arn:aws:lambda:us-east-1:000000000000:function:f", Input: "{}" };
    scheduler.putSchedule({
      name: "once",
      arn: "a",
      expression: "at(2026-12-24T18:00:00)",
      target,
    });
    await clock.advance(60 * 86_400_000);
    expect(fired).toHaveLength(1);
    expect(() =>
      scheduler.putSchedule({ name: "x", arn: "b", expression: "cron(0 3 * * * *)", target }),
    ).toThrow(ScheduleError);
    expect(() =>
      scheduler.putSchedule({
        name: "y",
        arn: "c",
        expression: "rate(1 day)",
        timeZone: "Mars/Olympus",
        target,
      }),
    ).toThrow(/not a time zone name/);
  });

  it("retries a target that refuses, then puts the Input in the dead-letter queue", async () => {
    const dlq = queues.createQueue("scheduler-dlq");
    let calls = 0;
    const scheduler = new LocalScheduler({
      sendToQueue: send,
      startExecution: async () => {
        calls++;
        throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
      },
      invokeAsync: (arn) => runtime.invokeAsync(arn, {}),
    });
    scheduler.putSchedule({
      name: "throttled",
      arn: "arn:aws:scheduler:us-east-1:000000000000:schedule/default/throttled",
      expression: "rate(1 hour)",
      target: {
        Arn: "arn:aws:states:us-east-1:000000000000:stateMachine:sm",
        Input: '{"k":1}',
        RetryPolicy: { MaximumRetryAttempts: 2 },
        DeadLetterConfig: { Arn: dlq.arn },
      },
    });
    const record = await scheduler.fire("throttled");
    expect(calls).toBe(3);
    expect(record).toMatchObject({ attempts: 3, error: "Rate exceeded" });
    // A function that does not exist is not retried.
    scheduler.putSchedule({
      name: "gone",
      arn: "arn:aws:scheduler:us-east-1:000000000000:schedule/default/gone",
      expression: "rate(1 hour)",
      target: {
        Arn: "arn:aws:lambda:us-east-1:000000000000:function:deleted",
        RetryPolicy: { MaximumRetryAttempts: 5 },
        DeadLetterConfig: { Arn: dlq.arn },
      },
    });
    expect((await scheduler.fire("gone")).attempts).toBe(1);
    const letters = await drain(dlq.url);
    expect(letters.map((m) => [m.Body, attrs(m)])).toEqual([
      [
        '{"k":1}',
        expect.objectContaining({
          ERROR_CODE: "ThrottlingException",
          ERROR_MESSAGE: "Rate exceeded",
          RETRY_ATTEMPTS: "2",
          SCHEDULE_ARN: "arn:aws:scheduler:us-east-1:000000000000:schedule/default/throttled",
          TARGET_ARN: "arn:aws:states:us-east-1:000000000000:stateMachine:sm",
        }),
      ],
      [
        "{}",
        expect.objectContaining({
          ERROR_CODE: "Lambda.ResourceNotFoundException",
          RETRY_ATTEMPTS: "0",
        }),
      ],
    ]);
  });
});

describe("dead letters of rules and asynchronous invocations", () => {
  it("a rule target that cannot take the event: the event in the target's dead-letter queue", async () => {
    const dlq = queues.createQueue("rule-dlq");
    const router = new EventRouter({
      invokeAsync: (arn, e, onFailure) => runtime.invokeAsync(arn, e, onFailure),
      sendToQueue: send,
    });
    const ruleArn = "arn:aws:events:us-east-1:000000000000:rule/to-nowhere";
    const targetArn = "arn:aws:lambda:us-east-1:000000000000:function:deleted";
    router.putRule({
      name: "to-nowhere",
      arn: ruleArn,
      eventBusName: "default",
      eventPattern: { source: ["test"] },
      targets: [{ Id: "t", Arn: targetArn, DeadLetterConfig: { Arn: dlq.arn } }],
    });
    const [put] = await router.putEvents([
      { Source: "test", DetailType: "ping", Detail: '{"n":1}' },
    ]);
    const [letter] = await drain(dlq.url);
    expect(JSON.parse(letter!.Body!)).toMatchObject({ id: put!.EventId, detail: { n: 1 } });
    expect(attrs(letter!)).toEqual({
      RULE_ARN: ruleArn,
      TARGET_ARN: targetArn,
      ERROR_CODE: "RESOURCE_NOT_FOUND",
      ERROR_MESSAGE: expect.stringMatching(/Function not found/),
    });
    expect(router.deliveries.at(-1)?.error).toMatch(/Function not found/);
  });

  it("a function failing every attempt: Lambda's invocation record in its on-failure destination", async () => {
    const dlq = queues.createQueue("on-failure");
    runtime.configureAsync("fixture", { maximumRetryAttempts: 2, onFailureDestination: dlq.arn });
    const before = runtime.stats("fixture").invocations;
    runtime.invokeAsync("fixture", { action: "throw", n: 1 });
    const [letter] = await drain(dlq.url, 10);
    expect(runtime.stats("fixture").invocations - before).toBe(3);
    expect(JSON.parse(letter!.Body!)).toMatchObject({
      version: "1.0",
      requestContext: {
        functionArn: "arn:aws:lambda:us-east-1:000000000000:function:fixture:$LATEST",
        condition: "RetriesExhausted",
        approximateInvokeCount: 3,
      },
      requestPayload: { action: "throw", n: 1 },
      responseContext: { functionError: "Unhandled" },
      responsePayload: { errorType: "CustomError", errorMessage: "custom failure" },
    });
    // A success goes nowhere.
    runtime.invokeAsync("fixture", { ok: true });
    expect(await drain(dlq.url, 1)).toEqual([]);
  });

  it("without a destination, the function's dead-letter queue gets the event itself", async () => {
    const dlq = queues.createQueue("function-dlq");
    runtime.configureAsync("fixture", {
      maximumRetryAttempts: 0,
      onFailureDestination: undefined,
      deadLetterTargetArn: dlq.arn,
    });
    runtime.invokeAsync("fixture", { action: "throw", n: 2 });
    const [letter] = await drain(dlq.url, 10);
    expect(JSON.parse(letter!.Body!)).toEqual({ action: "throw", n: 2 });
    expect(attrs(letter!)).toMatchObject({ ErrorMessage: "custom failure" });
  });
});
