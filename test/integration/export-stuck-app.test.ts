// Exports stuck in progress, through the real Lakeport app on the embedded environment: the
// scheduled rule runs the stuck-export check, which leaves a running export alone, records an
// aborted execution whose status event was lost (the watchdog crashed on every attempt) and a
// start that never reached Step Functions as export-failed, and writes the metric the
// "stuck in progress" alarm watches. A repair then exports the branch again.
import { CreateBucketCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { StopExecutionCommand } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createStateStores } from "../../lambdas/api/state-stores";
import type { StuckCheckResult } from "../../lambdas/export/app/stuck-exports";
import { createDynamoDbClient } from "../../lambdas/shared/aws/clients";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/credentials";
import { uniqueName } from "../support/clients";
import {
  createLakeFsRepository,
  eventually,
  type LakeportEnvironment,
  startLakeportEnvironment,
} from "../support/lakeport-env";

let env: LakeportEnvironment;
const outBucket = uniqueName("stuck-out");
const STUCK_CHECK = "LakeportExportStuckCheckFunction";

beforeAll(async () => {
  env = await startLakeportEnvironment({
    // Its own servers, so its own table: the check looks at every export state there is.
    servers: "own",
    // No grace: a start or an ended execution not recorded at once counts as stuck.
    lambdaEnv: { STUCK_EXPORT_GRACE_MINUTES: "0" },
  });
  await env.s3.send(new CreateBucketCommand({ Bucket: outBucket }));
}, 240_000);

afterAll(async () => {
  await env?.stop();
});

async function status(repo: string) {
  return (await env.api.get(`/repositories/${repo}/branches/main/export-status`)).body;
}

async function configure(repo: string) {
  const r = await env.api.put(`/repositories/${repo}/branches/main/continuous-export`, {
    exportPath: `s3://${outBucket}/${repo}`,
    isContinuous: false,
  });
  expect(r.status, r.text).toBe(200);
}

const emfLines = () =>
  env.deployment.runtime
    .logs(env.deployment.physicalId(STUCK_CHECK))
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

it("fails exports stuck in progress, leaves running ones, and publishes the count", async () => {
  // A: an export whose plan hangs (the execution keeps running).
  const a = await createLakeFsRepository(env, { webhook: false });
  await env.lakefs.uploadObject(a.id, "main", "data/a.txt", { content: "A" });
  const head = (await env.lakefs.commit(a.id, "main", { message: "a" })).id;
  await configure(a.id);
  env.deployment.runtime.injectFault({
    function: "LakeportExportPlanFunction",
    invocation: "next",
    kind: "timeout",
  });
  expect((await env.api.post(`/repositories/${a.id}/branches/main/export-hook`)).status).toBe(202);
  const running = await eventually("the export execution", async () => {
    const s = await status(a.id);
    return s?.state === "in-progress" && s.execution?.status === "RUNNING" ? s : undefined;
  });

  // The check leaves a running export alone.
  const first = await env.deployment.invoke<StuckCheckResult>(STUCK_CHECK, {});
  expect(first).toMatchObject({ inProgress: 1, stuck: [], markedFailed: 0 });
  expect((await status(a.id)).state).toBe("in-progress");

  // The execution is aborted and the watchdog fails on all three asynchronous attempts: the
  // status event is lost and the branch would stay in progress forever.
  for (let i = 0; i < 3; i++) {
    env.deployment.runtime.injectFault({
      function: "LakeportExportWatchdogFunction",
      invocation: "next",
      kind: "crash",
    });
  }
  const watchdog = env.deployment.physicalId("LakeportExportWatchdogFunction");
  const crashesBefore = env.deployment.runtime.stats(watchdog).crashes;
  await env.sfn.send(new StopExecutionCommand({ executionArn: running.execution.executionArn }));
  await eventually("three watchdog crashes", () =>
    env.deployment.runtime.stats(watchdog).crashes >= crashesBefore + 3 ? true : undefined,
  );
  expect((await status(a.id)).state).toBe("in-progress");

  // B: a start recorded in DynamoDB whose workflow never started (the trigger died between
  // the compare-and-set and StartExecution).
  const b = await createLakeFsRepository(env, { webhook: false });
  await configure(b.id);
  const ddb = createDynamoDbClient({
    endpoint: env.dynamoDbEndpoint,
    region: env.region,
    credentials: LOCAL_S3_CREDENTIALS,
  });
  const { exports } = createStateStores(ddb, env.resources.tableName);
  const bHead = (await env.lakefs.getBranch(b.id, "main")).commit_id;
  const started = await exports.compareAndSetState(b.id, "main", undefined, {
    state: "in-progress",
    commitId: bHead,
    exportId: `${b.id}-main-never-1`,
    updatedAt: new Date(Date.now() - 60_000).toISOString(),
    repaired: false,
    attempt: 1,
    version: 1,
  });
  expect(started).toBe(true);

  // The scheduled rule fires (every 5 minutes in AWS; here on demand).
  const linesBefore = emfLines().length;
  env.cloud.router.fireSchedule(env.deployment.physicalId("LakeportExportStuckCheckRule"));
  const failedA = await eventually("A recorded as failed", async () => {
    const s = await status(a.id);
    return s?.state === "export-failed" ? s : undefined;
  });
  expect(failedA.errorMessage).toMatch(
    /^export execution ABORTED.*\(recorded by the stuck-export check\)$/,
  );
  const failedB = await eventually("B recorded as failed", async () => {
    const s = await status(b.id);
    return s?.state === "export-failed" ? s : undefined;
  });
  expect(failedB.errorMessage).toMatch(/the export workflow of .*-main-never-1 never started/);
  const metric = await eventually("the metric line", () => emfLines()[linesBefore]);
  expect(metric).toMatchObject({
    _aws: {
      CloudWatchMetrics: [
        {
          Namespace: "Lakeport",
          Metrics: [
            { Name: "ExportsStuckInProgress", Unit: "Count" },
            { Name: "StuckExportsMarkedFailed", Unit: "Count" },
          ],
        },
      ],
    },
    ExportsStuckInProgress: 2,
    StuckExportsMarkedFailed: 2,
  });

  // A's functions may still write after the abort: the check records until when, as the
  // watchdog would have, and a repair waits (whatever grace the check itself waited).
  expect(Date.parse(failedA.settlesAt)).toBeGreaterThan(Date.now() + 15 * 60_000);
  const early = await env.api.post(`/repositories/${a.id}/branches/main/repair-export`, {});
  expect(early.status, early.text).toBe(409);
  expect(early.body.message).toContain(`until ${failedA.settlesAt}`);
  // Sixteen minutes later (the state's settling time moved into the past here) ...
  const settling = await exports.getState(a.id, "main");
  expect(
    await exports.compareAndSetState(a.id, "main", settling!.version, {
      ...settling!,
      settlesAt: new Date(Date.now() - 1_000).toISOString(),
      version: settling!.version + 1,
    }),
  ).toBe(true);

  // Unblocked: a repair exports A's head, and the next check finds nothing stuck.
  const repair = await env.lakeport(["export", "repair", `lakefs://${a.id}@main`, "--wait"]);
  expect(repair.code, repair.stderr + repair.stdout).toBe(0);
  expect(await status(a.id)).toMatchObject({ state: "export-repaired", lastExportedCommit: head });
  const exported = await env.s3.send(
    new GetObjectCommand({ Bucket: outBucket, Key: `${a.id}/data/a.txt` }),
  );
  expect(await exported.Body!.transformToString()).toBe("A");
  const linesBeforeLast = emfLines().length;
  const last = await env.deployment.invoke<StuckCheckResult>(STUCK_CHECK, {});
  expect(last).toMatchObject({ inProgress: 0, stuck: [], markedFailed: 0 });
  // A worker's output lines may reach the log after its result: wait for this invocation's.
  const lastMetric = await eventually("the last metric line", () => emfLines()[linesBeforeLast]);
  expect(lastMetric).toMatchObject({ ExportsStuckInProgress: 0 });
  ddb.destroy();
}, 180_000);

it("refuses a repair while an aborted execution's functions may still write, naming until when", async () => {
  // C: an export whose plan hangs; the execution is aborted and the watchdog records it at
  // once. The hung plan invocation is still running, as a Lambda would after an abort.
  const c = await createLakeFsRepository(env, { webhook: false });
  await env.lakefs.uploadObject(c.id, "main", "data/c.txt", { content: "C" });
  await env.lakefs.commit(c.id, "main", { message: "c" });
  await configure(c.id);
  env.deployment.runtime.injectFault({
    function: "LakeportExportPlanFunction",
    invocation: "next",
    kind: "timeout",
  });
  expect((await env.api.post(`/repositories/${c.id}/branches/main/export-hook`)).status).toBe(202);
  const running = await eventually("the export execution", async () => {
    const s = await status(c.id);
    return s?.state === "in-progress" && s.execution?.status === "RUNNING" ? s : undefined;
  });
  const abortedAt = Date.now();
  await env.sfn.send(new StopExecutionCommand({ executionArn: running.execution.executionArn }));
  const failed = await eventually("C recorded as failed", async () => {
    const s = await status(c.id);
    return s?.state === "export-failed" ? s : undefined;
  });
  expect(failed.errorMessage).toMatch(/^export execution ABORTED/);
  // The functions' 15-minute timeout and a minute of margin, from the abort.
  const until = Date.parse(failed.settlesAt);
  expect(until).toBeGreaterThanOrEqual(abortedAt + 16 * 60_000 - 5_000);
  expect(until).toBeLessThanOrEqual(Date.now() + 16 * 60_000 + 5_000);

  const repair = await env.api.post(`/repositories/${c.id}/branches/main/repair-export`, {});
  expect(repair.status, repair.text).toBe(409);
  expect(repair.body.message).toContain(`until ${failed.settlesAt}`);
  const full = await env.api.post(`/repositories/${c.id}/branches/main/repair-export`, {
    full: true,
  });
  expect(full.status, full.text).toBe(409);
  // Nothing started: the branch is as the watchdog left it.
  expect(await status(c.id)).toMatchObject({
    state: "export-failed",
    exportId: failed.exportId,
    settlesAt: failed.settlesAt,
  });
}, 120_000);
