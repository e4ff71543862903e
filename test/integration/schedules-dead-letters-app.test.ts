// Scheduled GC and dead letters on the real app: synthesized with `cdk deploy`'s
// LAKEPORT_GC_SCHEDULES (a cron schedule in a time zone), deployed on the local cloud with a
// test clock. The EventBridge Scheduler schedule starts a GC run at its scheduled time on
// that clock, through the deployed API function, as in AWS; a rule target that keeps failing
// leaves the event in the deployment's dead-letter queue, read back with @aws-sdk/client-sqs.
import { ListExecutionsCommand } from "@aws-sdk/client-sfn";
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { TestClock } from "../../local/clock";
import { testSqsClient } from "../support/clients";
import {
  createLakeFsRepository,
  eventually,
  type LakeportEnvironment,
  lakeportAssemblyDirWith,
  startLakeportEnvironment,
  type TestRepository,
} from "../support/lakeport-env";

const REPO = "scheduled-gc";
const SCHEDULES = [
  // 04:30 in Zurich: 03:30 UTC in December.
  {
    repository: REPO,
    expression: "cron(30 4 * * ? *)",
    timeZone: "Europe/Zurich",
    mode: "mark-only",
  },
];
const clock = new TestClock(Date.parse("2026-12-02T03:29:00Z"));
let env: LakeportEnvironment;
let repo: TestRepository;
let sqs: SQSClient;

beforeAll(async () => {
  const assemblyDir = await lakeportAssemblyDirWith({
    LAKEPORT_GC_SCHEDULES: JSON.stringify(SCHEDULES),
  });
  env = await startLakeportEnvironment({ assemblyDir, clock, runSchedules: true });
  sqs = testSqsClient(env.cloud.endpoints.sqs);
  repo = await createLakeFsRepository(env, { id: REPO, webhook: false });
  await env.lakefs.uploadObject(repo.id, "main", "a.txt", { content: "A" });
  await env.lakefs.commit(repo.id, "main", { message: "a" });
  const rules = await env.api.put(`/repositories/${repo.id}/settings/gc_rules`, {
    default_retention_days: 1,
    branches: [],
  });
  expect(rules.status, rules.text).toBe(204);
}, 300_000);

afterAll(async () => {
  sqs?.destroy();
  await env?.stop();
});

async function gcExecutions() {
  const r = await env.sfn.send(
    new ListExecutionsCommand({ stateMachineArn: env.resources.gcStateMachineArn }),
  );
  return r.executions ?? [];
}

it("deploys the gcSchedules entry as an EventBridge Scheduler schedule", () => {
  // Schedules, queues, rules and functions' async settings are all deployed (what stays
  // unsupported is the API Gateway and Secrets Manager resources, served otherwise locally).
  expect(
    env.deployment.unsupported.filter((r) => /Scheduler|SQS|Events|Lambda/.test(r.type)),
  ).toEqual([]);
  expect(env.deployment.resources.map((r) => r.type)).toEqual(
    expect.arrayContaining([
      "AWS::Scheduler::Schedule",
      "AWS::SQS::Queue",
      "AWS::Lambda::EventInvokeConfig",
    ]),
  );
  const [schedule] = env.deployment.scheduler.list();
  expect(env.deployment.scheduler.list()).toHaveLength(1);
  expect(schedule).toMatchObject({
    expression: "cron(30 4 * * ? *)",
    timeZone: "Europe/Zurich",
    target: {
      Arn: expect.stringMatching(/:function:/),
      RetryPolicy: { MaximumRetryAttempts: 3 },
      DeadLetterConfig: { Arn: expect.stringMatching(/^arn:aws:sqs:/) },
    },
  });
  expect(env.deployment.scheduler.nextFireTime(schedule!.name)?.toISOString()).toBe(
    "2026-12-02T03:30:00.000Z",
  );
});

it("starts a GC run at the scheduled time on the test clock, not before", async () => {
  await clock.advanceTo(Date.parse("2026-12-02T03:29:59Z"));
  await new Promise((r) => setTimeout(r, 500));
  expect(await gcExecutions()).toEqual([]);
  expect(env.deployment.scheduler.invocations).toEqual([]);

  await clock.advanceTo(Date.parse("2026-12-02T03:30:00Z"));
  expect(env.deployment.scheduler.invocations).toMatchObject([
    { scheduledTime: "2026-12-02T03:30:00Z", attempts: 1 },
  ]);
  const [run] = await eventually("the scheduled run to be recorded", async () => {
    const r = await env.api.get(`/repositories/${repo.id}/gc/runs`);
    return r.body?.results?.length ? r.body.results : undefined;
  });
  expect(run).toMatchObject({ mode: "mark-only" });
  const done = await eventually(
    "the scheduled run to end",
    async () => {
      const r = await env.api.get(`/repositories/${repo.id}/gc/runs/${run.run_id}`);
      return r.body?.status === "running" ? undefined : r.body;
    },
    120_000,
  );
  expect(done.status, JSON.stringify(done)).toBe("succeeded");
  expect(await gcExecutions()).toHaveLength(1);
}, 180_000);

it("a rule target that keeps failing: its event in the dead-letter queue, read with the SQS SDK", async () => {
  const stuckCheck = env.deployment.physicalId("LakeportExportStuckCheckFunction");
  for (let i = 0; i < 3; i++) {
    env.deployment.runtime.injectFault({
      function: stuckCheck,
      invocation: "next",
      kind: "error",
      errorType: "Injected.Unavailable",
      errorMessage: "the check cannot run",
    });
  }
  const before = env.deployment.runtime.stats(stuckCheck).invocations;
  const event = env.cloud.router.fireSchedule(
    env.deployment.physicalId("LakeportExportStuckCheckRule"),
  );
  const queueUrl = env.deployment.physicalId("LakeportEventDeadLetters");
  const r = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20, MaxNumberOfMessages: 10 }),
  );
  expect(r.Messages).toHaveLength(1);
  // Lambda's invocation record: the rule's event, after the function's retries (2).
  expect(JSON.parse(r.Messages![0]!.Body!)).toMatchObject({
    requestContext: {
      functionArn: expect.stringContaining(`:function:${stuckCheck}`),
      condition: "RetriesExhausted",
      approximateInvokeCount: 3,
    },
    requestPayload: { id: event.id, "detail-type": "Scheduled Event" },
    responsePayload: { errorType: "Injected.Unavailable", errorMessage: "the check cannot run" },
  });
  expect(env.deployment.runtime.stats(stuckCheck).invocations - before).toBe(3);
  await sqs.send(
    new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: r.Messages![0]!.ReceiptHandle }),
  );
  // The next firing succeeds: nothing more in the queue.
  env.cloud.router.fireSchedule(env.deployment.physicalId("LakeportExportStuckCheckRule"));
  const after = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 2 }),
  );
  expect(after.Messages).toBeUndefined();
}, 120_000);
