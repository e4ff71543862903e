import { afterAll, beforeAll, beforeEach, describe, expect, inject, test } from "vitest";
import { apiClient, type FakeApi, startApiWithFakes } from "../support/api-harness";

let fake: FakeApi;
let call: ReturnType<typeof apiClient>;
let n = 0;
let repo: string;

beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  call = apiClient(fake);
});
afterAll(() => fake.stop());

const cfgPath = (b = "main") => `/repositories/${repo}/branches/${b}/continuous-export`;
/** Each test's repository exports to its own paths (export paths of branches may not overlap). */
let config: { exportPath: string; exportStatusPath: string; lastKeysInPrefixRegexp: string[] };

beforeEach(() => {
  repo = `repo-export-${++n}`;
  fake.lakefs.addRepository(repo, `s3://lakefs-data/${repo}`, { main: "c1", dev: "d1" });
  config = {
    exportPath: `s3://export-bucket/${repo}/out`,
    exportStatusPath: `s3://export-bucket/${repo}/status`,
    lastKeysInPrefixRegexp: [".*/2021-\\d\\d-\\d\\d/"],
  };
});

describe("continuous-export configuration", () => {
  test("PUT, GET, DELETE round trip", async () => {
    expect((await call("GET", cfgPath())).status).toBe(404);
    const put = await call("PUT", cfgPath(), config);
    expect(put.status).toBe(200);
    // A first configuration: version 1, and the first export is a full one.
    expect(put.body).toEqual({
      ...config,
      isContinuous: false,
      configVersion: 1,
      fullExportNext: true,
    });
    expect(fake.workflows.started).toHaveLength(0);
    const got = await call("GET", cfgPath());
    expect(got).toEqual({ status: 200, body: { ...config, isContinuous: false } });
    expect((await call("DELETE", cfgPath())).status).toBe(204);
    expect((await call("GET", cfgPath())).status).toBe(404);
    expect((await call("DELETE", cfgPath())).status).toBe(404);
    // A delete takes no body, or an empty object.
    expect((await call("PUT", cfgPath(), config)).status).toBe(200);
    expect((await call("DELETE", cfgPath(), {})).status).toBe(204);
    expect((await call("GET", cfgPath())).status).toBe(404);
  });

  test("a continuous configuration starts exporting the current head", async () => {
    const put = await call("PUT", cfgPath(), {
      exportPath: `s3://export-bucket/${repo}/x/`,
      isContinuous: true,
    });
    expect(put.status).toBe(200);
    expect(put.body.exportPath).toBe(`s3://export-bucket/${repo}/x`);
    expect(put.body.export.status).toBe("started");
    const started = fake.workflows.started.find(
      (s) => (s.input as { repository: string }).repository === repo,
    );
    expect(started?.input).toMatchObject({
      repository: repo,
      branch: "main",
      fromCommit: null,
      commitId: "c1",
      exportPath: `s3://export-bucket/${repo}/x`,
      lastKeysInPrefixRegexp: [],
      repaired: false,
      storageNamespace: `s3://lakefs-data/${repo}`,
    });
    expect(started?.name).toBe((started?.input as { exportId?: string } | undefined)?.exportId);
  });
});

test("README Limits: a configuration deleted and set again is not checked against its old export path", async () => {
  const inner = `s3://export-bucket/${repo}/limit/out`;
  const around = `s3://export-bucket/${repo}/limit`;
  expect((await call("PUT", cfgPath(), { exportPath: inner })).status).toBe(200);
  // Stored: a path around the previous one is refused.
  expect((await call("PUT", cfgPath(), { exportPath: around })).status).toBe(400);
  // Deleted and set again: the old path is forgotten, the path around it is taken.
  expect((await call("DELETE", cfgPath())).status).toBe(204);
  const again = await call("PUT", cfgPath(), { exportPath: around });
  expect(again.status).toBe(200);
  expect(again.body).not.toHaveProperty("previousExportPath");
});

describe("export-hook, status, repair", () => {
  test("run starts once; a second run while running is refused and queued", async () => {
    await call("PUT", cfgPath(), config);
    const run = await call("POST", `/repositories/${repo}/branches/main/export-hook`);
    expect(run.status).toBe(202);
    expect(run.body).toMatchObject({ status: "started", fromCommit: null, toCommit: "c1" });
    const status = await call("GET", `/repositories/${repo}/branches/main/export-status`);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      state: "in-progress",
      currentRef: "c1",
      lastExportedCommit: null,
      exportId: run.body.exportId,
    });
    expect(status.body.execution).toMatchObject({
      executionArn: run.body.executionArn,
      status: "RUNNING",
    });
    expect(status.body.execution.mapRuns[0]).toMatchObject({ total: 10, succeeded: 4 });

    fake.lakefs.setHead(repo, "main", "c2");
    const again = await call("POST", `/repositories/${repo}/branches/main/export-hook`);
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/^export in progress/);
    const queued = await call("GET", `/repositories/${repo}/branches/main/export-status`);
    expect(queued.body.pendingHead).toBe("c2");

    // The workflow's finish step: success, and a follow-up is needed for c2.
    const done = await fake.deps.stores.exports.completeExport(
      {
        repository: repo,
        branch: "main",
        exportId: run.body.exportId,
        commitId: "c1",
        outcome: { status: "succeeded" },
      },
      new Date().toISOString(),
    );
    expect(done).toMatchObject({
      applied: true,
      followUp: true,
      state: { state: "exported-successfully", lastExportedCommit: "c1" },
    });
    const next = await call("POST", `/repositories/${repo}/branches/main/export-hook`);
    expect(next.status).toBe(202);
    expect(next.body).toMatchObject({ fromCommit: "c1", toCommit: "c2" });
  });

  test("nothing to do when the head is already exported", async () => {
    await call("PUT", cfgPath(), config);
    // README (API): no body, or {}.
    const run = await call("POST", `/repositories/${repo}/branches/main/export-hook`, {});
    expect(run.status).toBe(202);
    expect(run.body).toMatchObject({ status: "started", toCommit: "c1" });
    await fake.deps.stores.exports.completeExport(
      {
        repository: repo,
        branch: "main",
        exportId: run.body.exportId,
        commitId: "c1",
        outcome: { status: "succeeded" },
      },
      new Date().toISOString(),
    );
    const again = await call("POST", `/repositories/${repo}/branches/main/export-hook`);
    expect(again).toEqual({ status: 200, body: { status: "up-to-date", currentRef: "c1" } });
    expect(await call("POST", `/repositories/${repo}/branches/main/export-hook`, {})).toEqual(
      again,
    );
  });

  test("failed export: runs refused until repair; repair only from failed", async () => {
    await call("PUT", cfgPath(), config);
    const notFailed = await call("POST", `/repositories/${repo}/branches/main/repair-export`);
    expect(notFailed.status).toBe(409);
    expect(notFailed.body.message).toBe(
      'not failed, nothing to repair (state: never-exported); repair with {"full": true} reconciles the whole export path',
    );
    const run = await call("POST", `/repositories/${repo}/branches/main/export-hook`);
    // The execution ended failed (an outcome is recorded once its execution has ended).
    const ran = await fake.deps.stores.exports.getState(repo, "main");
    fake.workflows.status.set(ran!.executionArn!, "FAILED");
    await fake.deps.stores.exports.completeExport(
      {
        repository: repo,
        branch: "main",
        exportId: run.body.exportId,
        commitId: "c1",
        outcome: { status: "failed", errorMessage: "AccessDenied on s3://export-bucket/out" },
      },
      new Date().toISOString(),
    );
    const status = await call("GET", `/repositories/${repo}/branches/main/export-status`);
    expect(status.body).toMatchObject({
      state: "export-failed",
      errorMessage: "AccessDenied on s3://export-bucket/out",
      execution: null,
    });
    const refused = await call("POST", `/repositories/${repo}/branches/main/export-hook`);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe(
      "export-failed: repair first (last error: AccessDenied on s3://export-bucket/out)",
    );

    const repair = await call("POST", `/repositories/${repo}/branches/main/repair-export`);
    expect(repair.status).toBe(202);
    expect(repair.body).toMatchObject({
      status: "started",
      repaired: true,
      toCommit: "c1",
      fromCommit: null,
    });
    expect(repair.body.exportId).not.toBe(run.body.exportId);
    const done = await fake.deps.stores.exports.completeExport(
      {
        repository: repo,
        branch: "main",
        exportId: repair.body.exportId,
        commitId: "c1",
        outcome: { status: "succeeded" },
      },
      new Date().toISOString(),
    );
    expect(done).toMatchObject({ applied: true, state: { state: "export-repaired" } });
  });

  test('repair {"full": true}: in any state but in-progress (refused then, starting nothing)', async () => {
    await call("PUT", cfgPath(), config);
    const repair = (b: unknown = { full: true }) =>
      call("POST", `/repositories/${repo}/branches/main/repair-export`, b);
    // Never exported: a full repair starts the first export.
    const first = await repair();
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const running = await fake.deps.stores.exports.getState(repo, "main");
    const started = fake.workflows.started.length;
    const refused = await repair();
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/in progress/);
    expect(await fake.deps.stores.exports.getState(repo, "main")).toEqual(running);
    expect(fake.workflows.started).toHaveLength(started);
    // Exported successfully: a full repair starts again, reconciling the whole path.
    await fake.deps.stores.exports.completeExport(
      {
        repository: repo,
        branch: "main",
        exportId: first.body.exportId,
        commitId: "c1",
        outcome: { status: "succeeded" },
      },
      new Date().toISOString(),
    );
    const again = await repair();
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    expect(fake.workflows.started).toHaveLength(started + 1);
  });

  test("StartExecution failure leaves the branch export-failed, not in-progress", async () => {
    await call("PUT", cfgPath(), config);
    fake.workflows.failWith = "AccessDeniedException: not allowed";
    try {
      const run = await call("POST", `/repositories/${repo}/branches/main/export-hook`);
      expect(run.status).toBe(502);
      expect(run.body.message).toMatch(/could not start: AccessDeniedException: not allowed/);
    } finally {
      fake.workflows.failWith = undefined;
    }
    const status = await call("GET", `/repositories/${repo}/branches/main/export-status`);
    expect(status.body.state).toBe("export-failed");
    expect(status.body.errorMessage).toBe(
      "could not start the export workflow: AccessDeniedException: not allowed",
    );
    expect((await call("POST", `/repositories/${repo}/branches/main/repair-export`)).status).toBe(
      202,
    );
  });

  test("20 simultaneous starts for one branch: exactly one wins", async () => {
    await call("PUT", cfgPath("dev"), config);
    const before = fake.workflows.started.length;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        call("POST", `/repositories/${repo}/branches/dev/export-hook`),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    expect(fake.workflows.started.length - before).toBe(1);
  });

  test("export-status of a branch without configuration or state is 404", async () => {
    const r = await call("GET", `/repositories/${repo}/branches/main/export-status`);
    expect(r).toEqual({
      status: 404,
      body: { message: `no export configuration for lakefs://${repo}@main` },
    });
  });
});
