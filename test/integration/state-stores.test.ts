// The state stores against DynamoDB Local: the table definition, conditional transitions and
// their races, GC run/mark records, webhook dedupe with TTL.
import { DescribeTableCommand, DescribeTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { beforeAll, expect, test } from "vitest";
import { createStateStores, type StateStores } from "../../lambdas/api/state-stores";
import { startExport } from "../../lambdas/export/app/start-export";
import { KIND_INDEX, TTL_ATTRIBUTE } from "../../lambdas/shared/dynamodb/table";
import { createStateTable } from "../../local/dynamodb/create-table";
import { FakeLakeFs, FakeWorkflowStarter } from "../support/api-fakes";
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
      commitId: "c1",
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
      commitId: "c1",
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
      commitId: "c1",
      outcome: { status: "succeeded" },
    },
    now(),
  );
  expect(twice).toMatchObject({ applied: false });
  expect(await stores.exports.requestFollowUp(repo, "main", started.exportId, "c2", now())).toBe(
    false,
  );
});

test("a head a person asked for stays marked so after a later commit event's request", async () => {
  const repo = uniqueName("ex");
  const lakefs = await configured(repo);
  const started = await startExport(exportDeps(lakefs), {
    repository: repo,
    branch: "main",
    trigger: "event",
  });
  if (started.status !== "started") throw new Error(started.status);
  const ask = (head: string, explicit?: boolean) =>
    stores.exports.requestFollowUp(repo, "main", started.exportId, head, now(), explicit);
  expect(await ask("c2")).toBe(true);
  expect((await stores.exports.getState(repo, "main"))?.pendingExplicit).toBeUndefined();
  expect(await ask("c3", true)).toBe(true);
  expect(await ask("c4")).toBe(true);
  expect(await stores.exports.getState(repo, "main")).toMatchObject({
    pendingHead: "c4",
    pendingExplicit: true,
  });
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
          commitId: "c1",
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
        commitId: "c2",
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
  const t = 1_800_000_000;
  const marking = { nowSeconds: t, leaseSeconds: 60, mark: { markNow: t } };
  expect(await stores.gc.createRun({ ...base, runId: "r1", markId: "m1" }, marking)).toMatchObject({
    created: true,
  });
  // The lease is free again once r1 ends; the mark id is not.
  expect(
    await stores.gc.completeRun(
      repo,
      "r1",
      { status: "succeeded", counts: { markedAddresses: 5 } },
      now(),
    ),
  ).toBe(true);
  expect(await stores.gc.createRun({ ...base, runId: "r2", markId: "m1" }, marking)).toEqual({
    created: false,
    reason: "mark-id-taken",
  });
  expect(await stores.gc.getRun(repo, "r2")).toBeUndefined();
  expect(await stores.gc.getLease(repo)).toBeUndefined();
  expect(await stores.gc.completeRun(repo, "r1", { status: "failed" }, now())).toBe(false);
  expect(await stores.gc.getMark(repo, "m1")).toMatchObject({ status: "succeeded", runId: "r1" });
  expect(await stores.gc.getRun(repo, "r1")).toMatchObject({
    status: "succeeded",
    counts: { markedAddresses: 5 },
  });
});

test("GC lease: one run per repository, renewed by its holder, taken over only after expiry", async () => {
  const repo = uniqueName("lease");
  const run = (runId: string) => ({
    repository: repo,
    runId,
    mode: "mark-and-sweep" as const,
    markId: runId,
    status: "running" as const,
    counts: {},
    startedAt: now(),
  });
  const t = 1_800_000_000;
  const start = (runId: string, at: number) =>
    stores.gc.createRun(run(runId), { nowSeconds: at, leaseSeconds: 100, mark: { markNow: at } });
  expect(await start("a", t)).toMatchObject({ created: true });
  const refused = await start("b", t + 10);
  expect(refused).toMatchObject({ created: false, reason: "lease", holder: { runId: "a" } });
  expect(await stores.gc.getRun(repo, "b")).toBeUndefined();
  expect(await stores.gc.getMark(repo, "b")).toBeUndefined();
  // Renewals keep it: still refused after the first expiry time.
  await stores.gc.renewLease(repo, "a", t + 90, 100);
  expect(await start("c", t + 150)).toMatchObject({ created: false, reason: "lease" });
  await expect(stores.gc.renewLease(repo, "zzz", t + 150, 100)).rejects.toThrow(
    /lost the lease .* to run a/,
  );
  // Run out: taken for dead (a restore may retire its mark), so it can no longer renew.
  await expect(stores.gc.renewLease(repo, "a", t + 195, 100)).rejects.toThrow(
    /lost the lease .*\(it expired at /,
  );
  // After expiry: taken over, the dead run recorded as failed, and it can no longer renew.
  const taken = await start("d", t + 200);
  expect(taken).toMatchObject({ created: true, tookOverFrom: { runId: "a" } });
  expect(await stores.gc.getRun(repo, "a")).toMatchObject({
    status: "failed",
    errorMessage: expect.stringMatching(/stopped without ending: its lease expired/),
  });
  await expect(stores.gc.renewLease(repo, "a", t + 201, 100)).rejects.toThrow(/lost the lease/);
  // The holder's end releases it; a stale release by the old run changes nothing.
  await stores.gc.releaseLease(repo, "a");
  expect((await stores.gc.getLease(repo))?.runId).toBe("d");
  await stores.gc.completeRun(repo, "d", { status: "succeeded" }, now());
  expect(await stores.gc.getLease(repo)).toBeUndefined();
  expect(await start("e", t + 210)).toMatchObject({ created: true });
});

test("GC lease: a run's end frees the repository in the same write; racing starts take it once", async () => {
  const repo = uniqueName("lease-race");
  const t = 1_800_000_000;
  const start = (runId: string) =>
    stores.gc.createRun(
      {
        repository: repo,
        runId,
        mode: "mark-only",
        markId: runId,
        status: "running",
        counts: {},
        startedAt: now(),
      },
      { nowSeconds: t, leaseSeconds: 600, mark: { markNow: t } },
    );
  let holder = "r0";
  expect(await start(holder)).toMatchObject({ created: true });
  for (let round = 1; round <= 15; round++) {
    const [ended, ...starts] = await Promise.all([
      stores.gc.completeRun(repo, holder, { status: "succeeded" }, now()),
      start(`r${round}a`),
      start(`r${round}b`),
    ]);
    expect(ended).toBe(true);
    const created = starts.filter((s) => s.created);
    expect(created.length).toBeLessThanOrEqual(1);
    // Whoever reads the run as ended finds the repository free (or taken by one new run).
    expect((await stores.gc.getRun(repo, holder))?.status).toBe("succeeded");
    const lease = await stores.gc.getLease(repo);
    if (created.length === 1) {
      holder = (created[0] as { run: { runId: string } }).run.runId;
      expect(lease?.runId).toBe(holder);
    } else {
      expect(lease).toBeUndefined();
      holder = `r${round}c`;
      expect(await start(holder)).toMatchObject({ created: true });
    }
  }
});

test("GC marks: swept at most once, resumable after an interrupted sweep, retired by a restore", async () => {
  const repo = uniqueName("marks");
  const t = 1_800_000_000;
  const mk = {
    repository: repo,
    runId: "m-run",
    mode: "mark-only" as const,
    markId: "m1",
    status: "running" as const,
    counts: {},
    startedAt: now(),
  };
  await stores.gc.createRun(mk, { nowSeconds: t, leaseSeconds: 100, mark: { markNow: t } });
  await stores.gc.endMark(repo, "m1", "m-run", { partitions: 3, markedAt: now() });
  await stores.gc.completeRun(repo, "m-run", { status: "succeeded" }, now());
  expect(await stores.gc.getMark(repo, "m1")).toMatchObject({ status: "succeeded", partitions: 3 });

  const sweep = (runId: string, at: number) =>
    stores.gc.createRun(
      { ...mk, runId, mode: "sweep-only" },
      { nowSeconds: at, leaseSeconds: 100, sweepsMark: true },
    );
  expect(await sweep("s1", t + 10)).toMatchObject({ created: true });
  expect(await stores.gc.getMark(repo, "m1")).toMatchObject({
    sweepRunId: "s1",
    sweepStatus: "running",
  });
  // A restore while the sweep runs is refused.
  expect(
    await stores.gc.retireMark(repo, "m1", "restore", { iso: now(), seconds: t + 20 }),
  ).toEqual({ sweeping: "s1" });
  // Interrupted: the sweep fails; a new sweep resumes it.
  await stores.gc.completeRun(repo, "s1", { status: "failed" }, now());
  expect(await stores.gc.getMark(repo, "m1")).toMatchObject({ sweepStatus: "failed" });
  expect(await sweep("s2", t + 30)).toMatchObject({ created: true });
  expect(await stores.gc.beginSweep(repo, "m1", "s2")).toMatchObject({ sweepRunId: "s2" });
  await stores.gc.completeRun(repo, "s2", { status: "succeeded" }, now());
  // Swept: never again.
  expect(await sweep("s3", t + 40)).toEqual({ created: false, reason: "mark-not-sweepable" });
  expect(await stores.gc.beginSweep(repo, "m1", "s3")).toBeUndefined();
  expect(await stores.gc.getLease(repo)).toBeUndefined();

  // Another mark, retired by a restore before any sweep: never swept.
  await stores.gc.createRun(
    { ...mk, runId: "m2-run", markId: "m2" },
    { nowSeconds: t + 50, leaseSeconds: 100, mark: { markNow: t + 50 } },
  );
  await stores.gc.endMark(repo, "m2", "m2-run", { partitions: 1, markedAt: now() });
  await stores.gc.completeRun(repo, "m2-run", { status: "succeeded" }, now());
  const retired = await stores.gc.retireMark(repo, "m2", "restored from s3://b/x", {
    iso: "2027-01-01T00:00:00.000Z",
    seconds: t + 60,
  });
  expect(retired).toMatchObject({ retired: { retiredAt: "2027-01-01T00:00:00.000Z" } });
  expect(
    await stores.gc.createRun(
      { ...mk, runId: "s4", markId: "m2", mode: "sweep-only" },
      { nowSeconds: t + 70, leaseSeconds: 100, sweepsMark: true },
    ),
  ).toEqual({ created: false, reason: "mark-not-sweepable" });
  expect(await stores.gc.retireMark(repo, "nope", "restore", { iso: now(), seconds: t })).toBe(
    undefined,
  );
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
  const { finishExport } = await import("../../lambdas/export/app/finish-export");
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
    commitId: "c1",
    outcome: { status: "succeeded" },
  });
  expect(r).toMatchObject({
    applied: true,
    followUp: { status: "started", fromCommit: "c1", commitId: "c3" },
  });
  expect(workflows.started.map((s) => (s.input as { commitId: string }).commitId)).toEqual([
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
    commitId: "c1",
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
    commitId: "c1",
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

test("a running export's state is rewritten only while it runs, at the version read", async () => {
  const repo = uniqueName("running");
  const lakefs = await configured(repo);
  const started = await startExport(exportDeps(lakefs), {
    repository: repo,
    branch: "main",
    trigger: "event",
  });
  if (started.status !== "started") throw new Error(started.status);
  const running = (await stores.exports.getState(repo, "main"))!;
  const marked = {
    ...running,
    interference: "an old export ran again",
    version: running.version + 1,
  };
  // A stale version, or another export's id, is refused.
  expect(await stores.exports.updateRunningState(repo, "main", running.version - 1, marked)).toBe(
    false,
  );
  expect(
    await stores.exports.updateRunningState(repo, "main", running.version, {
      ...marked,
      exportId: "other",
    }),
  ).toBe(false);
  expect(await stores.exports.updateRunningState(repo, "main", running.version, marked)).toBe(true);
  expect(await stores.exports.getState(repo, "main")).toEqual(marked);
  // Once it has ended, it is no longer rewritten.
  const done = await stores.exports.completeExport(
    {
      repository: repo,
      branch: "main",
      exportId: started.exportId,
      commitId: "c1",
      outcome: { status: "succeeded" },
    },
    now(),
  );
  // The interference turns its success into a failure.
  expect(done).toMatchObject({
    applied: true,
    state: { state: "export-failed", errorMessage: "an old export ran again" },
  });
  const ended = (await stores.exports.getState(repo, "main"))!;
  expect(
    await stores.exports.updateRunningState(repo, "main", ended.version, {
      ...ended,
      state: "in-progress",
      version: ended.version + 1,
    }),
  ).toBe(false);
});
