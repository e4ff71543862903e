// The state stores against DynamoDB Local: the table definition, conditional transitions and
// their races, GC run/mark records, webhook dedupe with TTL.
import { DescribeTableCommand, DescribeTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { beforeAll, expect, test } from "vitest";
import { startExport } from "../../lambdas/export/start/start-export";
import { createStateStores, type StateStores } from "../../lambdas/shared/state";
import { createStateTable } from "../../lambdas/shared/state/create-table";
import { KIND_INDEX, TTL_ATTRIBUTE } from "../../lambdas/shared/state/table";
import { FakeLakeFs, FakeWorkflowStarter } from "../../local/api/fakes";
import { testDynamoDbClient, uniqueName } from "../support/clients";

const ddb = testDynamoDbClient();
const tableName = uniqueName("lakeport-state");
let stores: StateStores;
const now = () => new Date().toISOString();

beforeAll(async () => {
  await createStateTable(ddb, tableName);
  await createStateTable(ddb, tableName); // idempotent
  stores = createStateStores(ddb, tableName);
});

test("the table has the shared key schema, the kind index and TTL", async () => {
  const d = await ddb.send(new DescribeTableCommand({ TableName: tableName }));
  expect(d.Table?.KeySchema).toEqual([
    { AttributeName: "pk", KeyType: "HASH" },
    { AttributeName: "sk", KeyType: "RANGE" },
  ]);
  expect(d.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual([KIND_INDEX.name]);
  const ttl = await ddb.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  expect(ttl.TimeToLiveDescription).toMatchObject({
    AttributeName: TTL_ATTRIBUTE,
    TimeToLiveStatus: "ENABLED",
  });
});

function exportDeps(lakefs: FakeLakeFs, workflows = new FakeWorkflowStarter()) {
  return {
    exports: stores.exports,
    lakefs: lakefs.asLakeFsApi(),
    workflows,
    exportStateMachineArn: "arn:aws:states:us-east-1:000000000000:stateMachine:export",
    now: () => new Date(),
  };
}

async function configured(repo: string) {
  const lakefs = new FakeLakeFs().addRepository(repo, `s3://ns/${repo}`, { main: "c1" });
  await stores.exports.putConfig({
    repository: repo,
    branch: "main",
    exportPath: "s3://out/x",
    lastKeysInPrefixRegexp: [],
    isContinuous: true,
    updatedAt: now(),
  });
  return lakefs;
}

test("done applies only to the running export; follow-ups only while it runs", async () => {
  const repo = uniqueName("st");
  const lakefs = await configured(repo);
  const started = await startExport(exportDeps(lakefs), {
    repository: repo,
    branch: "main",
    trigger: "event",
  });
  if (started.status !== "started") throw new Error(started.status);
  const before = await stores.exports.getState(repo, "main");
  const wrong = await stores.exports.completeExport(
    {
      repository: repo,
      branch: "main",
      exportId: "other",
      currentRef: "c1",
      outcome: { status: "succeeded" },
    },
    now(),
  );
  expect(wrong).toMatchObject({ applied: false });
  expect(await stores.exports.getState(repo, "main")).toEqual(before);
  const ok = await stores.exports.completeExport(
    {
      repository: repo,
      branch: "main",
      exportId: started.exportId,
      currentRef: "c1",
      outcome: { status: "succeeded" },
    },
    now(),
  );
  expect(ok).toMatchObject({ applied: true, followUp: false });
  const twice = await stores.exports.completeExport(
    {
      repository: repo,
      branch: "main",
      exportId: started.exportId,
      currentRef: "c1",
      outcome: { status: "succeeded" },
    },
    now(),
  );
  expect(twice).toMatchObject({ applied: false });
  expect(await stores.exports.requestFollowUp(repo, "main", started.exportId, "c2", now())).toBe(
    false,
  );
});

test("a newer head asked for while an export finishes is never lost", async () => {
  for (let round = 0; round < 5; round++) {
    const repo = uniqueName("race");
    const lakefs = await configured(repo);
    const workflows = new FakeWorkflowStarter();
    const deps = exportDeps(lakefs, workflows);
    const first = await startExport(deps, { repository: repo, branch: "main", trigger: "event" });
    if (first.status !== "started") throw new Error(first.status);
    lakefs.setHead(repo, "main", "c2");
    const [done, ...starts] = await Promise.all([
      stores.exports.completeExport(
        {
          repository: repo,
          branch: "main",
          exportId: first.exportId,
          currentRef: "c1",
          outcome: { status: "succeeded" },
        },
        now(),
      ),
      ...Array.from({ length: 4 }, () =>
        startExport(deps, { repository: repo, branch: "main", trigger: "event" }),
      ),
    ]);
    const state = await stores.exports.getState(repo, "main");
    const startedC2 = starts.filter((s) => s.status === "started");
    expect(startedC2.length).toBeLessThanOrEqual(1);
    // Either c2 started after the finish, or the finish reports that a follow-up is needed.
    const followUp = done.applied && done.followUp;
    expect(startedC2.length === 1 || followUp).toBe(true);
    if (startedC2.length === 1)
      expect(state).toMatchObject({
        state: "in-progress",
        currentRef: "c2",
        lastExportedCommit: "c1",
      });
    expect(workflows.started.length).toBe(1 + startedC2.length);
  }
});

test("GC: a mark id is taken once; a run ends once and its mark follows", async () => {
  const repo = uniqueName("gc");
  const base = {
    repository: repo,
    mode: "mark-only" as const,
    status: "running" as const,
    counts: {},
    startedAt: now(),
  };
  expect(await stores.gc.createRun({ ...base, runId: "r1", markId: "m1" }, true)).toBe(true);
  expect(await stores.gc.createRun({ ...base, runId: "r2", markId: "m1" }, true)).toBe(false);
  expect(await stores.gc.getRun(repo, "r2")).toBeUndefined();
  expect(
    await stores.gc.completeRun(
      repo,
      "r1",
      { status: "succeeded", counts: { markedAddresses: 5 } },
      now(),
    ),
  ).toBe(true);
  expect(await stores.gc.completeRun(repo, "r1", { status: "failed" }, now())).toBe(false);
  expect(await stores.gc.getMark(repo, "m1")).toMatchObject({ status: "succeeded", runId: "r1" });
  expect(await stores.gc.getRun(repo, "r1")).toMatchObject({
    status: "succeeded",
    counts: { markedAddresses: 5 },
  });
});

test("webhook deliveries: claimed once, released on failure, expired records do not count", async () => {
  const key = uniqueName("delivery");
  const t = 1_800_000_000;
  expect(await stores.webhooks.claim(key, t)).toBe(true);
  expect(await stores.webhooks.claim(key, t + 10)).toBe(false);
  await stores.webhooks.release(key);
  expect(await stores.webhooks.claim(key, t + 20)).toBe(true);
  expect(await stores.webhooks.claim(key, t + 8 * 24 * 3600)).toBe(true);
});

test("finishExport completes and starts the follow-up from the newest head", async () => {
  const { finishExport } = await import("../../lambdas/export/start/finish-export");
  const repo = uniqueName("finish");
  const lakefs = await configured(repo);
  const workflows = new FakeWorkflowStarter();
  const deps = exportDeps(lakefs, workflows);
  const first = await startExport(deps, { repository: repo, branch: "main", trigger: "event" });
  if (first.status !== "started") throw new Error(first.status);
  lakefs.setHead(repo, "main", "c2");
  expect(
    await startExport(deps, { repository: repo, branch: "main", trigger: "event" }),
  ).toMatchObject({ status: "queued" });
  lakefs.setHead(repo, "main", "c3");
  expect(
    await startExport(deps, { repository: repo, branch: "main", trigger: "event" }),
  ).toMatchObject({ status: "queued", pendingHead: "c3" });
  const r = await finishExport(deps, {
    repository: repo,
    branch: "main",
    exportId: first.exportId,
    toCommit: "c1",
    outcome: { status: "succeeded" },
  });
  expect(r).toMatchObject({
    applied: true,
    followUp: { status: "started", fromCommit: "c1", toCommit: "c3" },
  });
  expect(workflows.started.map((s) => (s.input as { toCommit: string }).toCommit)).toEqual([
    "c1",
    "c3",
  ]);
});

test("a start that crashed before StartExecution is re-driven under the same name once stale", async () => {
  const repo = uniqueName("stalled");
  const lakefs = await configured(repo);
  const workflows = new FakeWorkflowStarter();
  // Simulate the crash: the state says in-progress, no execution was started.
  await stores.exports.compareAndSetState(repo, "main", undefined, {
    state: "in-progress",
    currentRef: "c1",
    exportId: "stalled-export-1",
    updatedAt: new Date(Date.now() - 10 * 60 * 1000).toISOString(),
    repaired: false,
    attempt: 1,
    version: 1,
  });
  const r = await startExport(exportDeps(lakefs, workflows), {
    repository: repo,
    branch: "main",
    trigger: "run",
  });
  expect(r).toMatchObject({
    status: "started",
    exportId: "stalled-export-1",
    toCommit: "c1",
    fromCommit: null,
  });
  expect(workflows.started.map((s) => s.name)).toEqual(["stalled-export-1"]);
  expect((await stores.exports.getState(repo, "main"))?.executionArn).toBe(
    workflows.started[0]?.executionArn,
  );
  // Now it has an execution: further starts queue behind it.
  expect(
    await startExport(exportDeps(lakefs, workflows), {
      repository: repo,
      branch: "main",
      trigger: "run",
    }),
  ).toMatchObject({ status: "queued" });
});
