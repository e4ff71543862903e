import { afterAll, beforeAll, beforeEach, expect, inject, test } from "vitest";
import { apiClient, type FakeApi, startApiWithFakes } from "../../local/api/harness";

let fake: FakeApi;
let call: ReturnType<typeof apiClient>;
let n = 0;
let repo: string;
const rules = {
  default_retention_days: 14,
  branches: [
    { branch_id: "main", retention_days: 21 },
    { branch_id: "dev", retention_days: 7 },
  ],
};

beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  call = apiClient(fake);
});
afterAll(() => fake.stop());
beforeEach(() => {
  repo = `repo-gc-${++n}`;
  fake.lakefs.addRepository(repo, `s3://lakefs-data/${repo}`, { main: "c1" });
});

const finish = (runId: string, status: "succeeded" | "failed") =>
  fake.deps.stores.gc.completeRun(
    repo,
    runId,
    { status, counts: { markedAddresses: 3 } },
    new Date().toISOString(),
  );

test("gc_rules: PUT, GET exactly the seed's JSON, DELETE", async () => {
  expect((await call("GET", `/repositories/${repo}/settings/gc_rules`)).status).toBe(404);
  expect((await call("PUT", `/repositories/${repo}/settings/gc_rules`, rules)).status).toBe(204);
  expect(await call("GET", `/repositories/${repo}/settings/gc_rules`)).toEqual({
    status: 200,
    body: rules,
  });
  expect((await call("DELETE", `/repositories/${repo}/settings/gc_rules`)).status).toBe(204);
  expect((await call("GET", `/repositories/${repo}/settings/gc_rules`)).status).toBe(404);
  expect((await call("DELETE", `/repositories/${repo}/settings/gc_rules`)).status).toBe(404);
});

test("a run needs rules", async () => {
  const r = await call("POST", `/repositories/${repo}/gc/runs`);
  expect(r).toEqual({
    status: 404,
    body: { message: `no GC rules for repository "${repo}": set them first` },
  });
});

test("mark and sweep by default, with the workflow input and progress", async () => {
  await call("PUT", `/repositories/${repo}/settings/gc_rules`, rules);
  const r = await call("POST", `/repositories/${repo}/gc/runs`);
  expect(r.status).toBe(202);
  expect(r.body).toMatchObject({ repository: repo, mode: "mark-and-sweep", status: "running" });
  expect(r.body.mark_id).toBe(r.body.run_id);
  const started = fake.workflows.started.at(-1)!;
  expect(started.input).toMatchObject({
    repository: repo,
    runId: r.body.run_id,
    markId: r.body.run_id,
    doMark: true,
    doSweep: true,
    storageNamespace: `s3://lakefs-data/${repo}`,
    rules,
  });
  const one = await call("GET", `/repositories/${repo}/gc/runs/${r.body.run_id}`);
  expect(one.status).toBe(200);
  expect(one.body.execution).toMatchObject({
    status: "RUNNING",
    mapRuns: [{ total: 10, succeeded: 4 }],
  });
  expect(await finish(r.body.run_id, "succeeded")).toBe(true);
  const after = await call("GET", `/repositories/${repo}/gc/runs/${r.body.run_id}`);
  expect(after.body).toMatchObject({ status: "succeeded", counts: { markedAddresses: 3 } });
  expect((await call("GET", `/repositories/${repo}/gc/runs/nope`)).status).toBe(404);
});

test("mark only with a chosen id, then sweep only with it; failed or unknown marks are refused", async () => {
  await call("PUT", `/repositories/${repo}/settings/gc_rules`, rules);
  const mark = await call("POST", `/repositories/${repo}/gc/runs`, {
    do_sweep: false,
    mark_id: "my-mark",
  });
  expect(mark.body).toMatchObject({ mode: "mark-only", mark_id: "my-mark" });
  const reused = await call("POST", `/repositories/${repo}/gc/runs`, {
    mode: "mark-only",
    mark_id: "my-mark",
  });
  expect(reused).toEqual({
    status: 409,
    body: { message: `mark id "my-mark" is already used in "${repo}"` },
  });
  const early = await call("POST", `/repositories/${repo}/gc/runs`, {
    do_mark: false,
    mark_id: "my-mark",
  });
  expect(early.status).toBe(409);
  expect(early.body.message).toMatch(/from a running mark run .*sweep needs a successful mark/);
  await finish(mark.body.run_id, "succeeded");
  const sweep = await call("POST", `/repositories/${repo}/gc/runs`, {
    do_mark: false,
    mark_id: "my-mark",
  });
  expect(sweep.status).toBe(202);
  expect(sweep.body).toMatchObject({ mode: "sweep-only", mark_id: "my-mark" });
  expect(fake.workflows.started.at(-1)!.input).toMatchObject({
    doMark: false,
    doSweep: true,
    markId: "my-mark",
  });

  const unknown = await call("POST", `/repositories/${repo}/gc/runs`, {
    mode: "sweep-only",
    mark_id: "nope",
  });
  expect(unknown).toEqual({
    status: 404,
    body: { message: `mark id "nope" not found in "${repo}"` },
  });
  const bad = await call("POST", `/repositories/${repo}/gc/runs`, { mode: "mark-only" });
  await finish(bad.body.run_id, "failed");
  const failed = await call("POST", `/repositories/${repo}/gc/runs`, {
    mode: "sweep-only",
    mark_id: bad.body.mark_id,
  });
  expect(failed.status).toBe(409);
  expect(failed.body.message).toMatch(/from a failed mark run/);
});

test("runs list newest first, paginated", async () => {
  await call("PUT", `/repositories/${repo}/settings/gc_rules`, rules);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push(
      (await call("POST", `/repositories/${repo}/gc/runs`, { mode: "mark-only" })).body.run_id,
    );
    await new Promise((r) => setTimeout(r, 5)); // run ids have millisecond resolution
  }
  const page1 = await call("GET", `/repositories/${repo}/gc/runs?amount=2`);
  expect(page1.body.results.map((r: { run_id: string }) => r.run_id)).toEqual([ids[2], ids[1]]);
  expect(page1.body.pagination).toMatchObject({ has_more: true, next_offset: ids[1], results: 2 });
  const page2 = await call("GET", `/repositories/${repo}/gc/runs?amount=2&after=${ids[1]}`);
  expect(page2.body.results.map((r: { run_id: string }) => r.run_id)).toEqual([ids[0]]);
  expect(page2.body.pagination.has_more).toBe(false);
});

test("a GC workflow that cannot start leaves a failed run", async () => {
  await call("PUT", `/repositories/${repo}/settings/gc_rules`, rules);
  fake.workflows.failWith = "ServiceUnavailable";
  try {
    const r = await call("POST", `/repositories/${repo}/gc/runs`);
    expect(r).toEqual({
      status: 502,
      body: { message: "could not start the GC workflow: ServiceUnavailable" },
    });
  } finally {
    fake.workflows.failWith = undefined;
  }
  const list = await call("GET", `/repositories/${repo}/gc/runs`);
  expect(list.body.results[0]).toMatchObject({
    status: "failed",
    error_message: "could not start the GC workflow: ServiceUnavailable",
  });
});
