import { afterAll, beforeAll, beforeEach, expect, inject, test } from "vitest";
import { apiClient, type FakeApi, startApiWithFakes } from "../support/api-harness";

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
  // A delete takes no body, or an empty object.
  expect((await call("PUT", `/repositories/${repo}/settings/gc_rules`, rules)).status).toBe(204);
  expect((await call("DELETE", `/repositories/${repo}/settings/gc_rules`, {})).status).toBe(204);
  expect((await call("GET", `/repositories/${repo}/settings/gc_rules`)).status).toBe(404);
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
  const early = await call("POST", `/repositories/${repo}/gc/runs`, {
    do_mark: false,
    mark_id: "my-mark",
  });
  expect(early.status).toBe(409);
  expect(early.body.message).toMatch(/from a running mark run .*sweep needs a successful mark/);
  await finish(mark.body.run_id, "succeeded");
  const reused = await call("POST", `/repositories/${repo}/gc/runs`, {
    mode: "mark-only",
    mark_id: "my-mark",
  });
  expect(reused).toEqual({
    status: 409,
    body: { message: `mark id "my-mark" is already used in "${repo}"` },
  });
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
    markRunId: mark.body.run_id,
  });
  await finish(sweep.body.run_id, "succeeded");

  const unknown = await call("POST", `/repositories/${repo}/gc/runs`, {
    mode: "sweep-only",
    mark_id: "nope",
  });
  expect(unknown).toEqual({
    status: 404,
    body: { message: `mark id "nope" not found in "${repo}"` },
  });
  const bad = await call("POST", `/repositories/${repo}/gc/runs`, { mode: "mark-only" });
  expect(bad.status).toBe(202);
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
    await finish(ids.at(-1)!, "succeeded"); // one run per repository at a time
    await new Promise((r) => setTimeout(r, 5)); // run ids have millisecond resolution
  }
  const page1 = await call("GET", `/repositories/${repo}/gc/runs?amount=2`);
  expect(page1.body.results.map((r: { run_id: string }) => r.run_id)).toEqual([ids[2], ids[1]]);
  expect(page1.body.pagination).toMatchObject({ has_more: true, next_offset: ids[1], results: 2 });
  const page2 = await call("GET", `/repositories/${repo}/gc/runs?amount=2&after=${ids[1]}`);
  expect(page2.body.results.map((r: { run_id: string }) => r.run_id)).toEqual([ids[0]]);
  expect(page2.body.pagination.has_more).toBe(false);
  // A full last page says so too (DynamoDB's LastEvaluatedKey at its limit said there was more).
  const full = await call("GET", `/repositories/${repo}/gc/runs?amount=1&after=${ids[1]}`);
  expect(full.body.results.map((r: { run_id: string }) => r.run_id)).toEqual([ids[0]]);
  expect(full.body.pagination.has_more).toBe(false);
  // README: amount 1 to 1000, default 100.
  const byDefault = await call("GET", `/repositories/${repo}/gc/runs`);
  expect(byDefault.body.pagination).toMatchObject({ max_per_page: 100, results: 3 });
  const most = await call("GET", `/repositories/${repo}/gc/runs?amount=1000`);
  expect(most.body.pagination).toMatchObject({ max_per_page: 1000, results: 3 });
  expect(await call("GET", `/repositories/${repo}/gc/runs?amount=1001`)).toEqual({
    status: 400,
    body: { message: "amount: must be a whole number from 1 to 1000" },
  });
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

test("one GC run per repository: concurrent starts get 409 naming the running run", async () => {
  await call("PUT", `/repositories/${repo}/settings/gc_rules`, rules);
  const bodies = [{}, { mode: "mark-only" }, {}, { mode: "mark-only", mark_id: "x" }];
  const answers = await Promise.all(
    bodies.map((b) => call("POST", `/repositories/${repo}/gc/runs`, b)),
  );
  const started = answers.filter((a) => a.status === 202);
  expect(started).toHaveLength(1);
  const runId = started[0]!.body.run_id;
  for (const a of answers.filter((x) => x.status !== 202)) {
    expect(a).toEqual({
      status: 409,
      body: {
        message: `GC run ${runId} is running on repository "${repo}": one GC run per repository at a time`,
      },
    });
  }
  // A scheduled start records a skip instead of failing.
  const scheduled = await call(
    "POST",
    `/repositories/${repo}/gc/runs`,
    {},
    {
      "X-Lakeport-Trigger": "schedule",
    },
  );
  expect(scheduled.status).toBe(200);
  expect(scheduled.body).toMatchObject({
    status: "skipped",
    error_message: `skipped: GC run ${runId} is running on repository "${repo}": one GC run per repository at a time`,
  });
  const listed = await call("GET", `/repositories/${repo}/gc/runs`);
  expect(listed.body.results.map((r: { status: string }) => r.status).sort()).toEqual([
    "running",
    "skipped",
  ]);
  // After it ends, a new run starts.
  await finish(runId, "succeeded");
  expect((await call("POST", `/repositories/${repo}/gc/runs`)).status).toBe(202);
});

test("marks: shown with whether they can be swept; swept once; too old; retired by a restore", async () => {
  await call("PUT", `/repositories/${repo}/settings/gc_rules`, rules);
  const markRun = await call("POST", `/repositories/${repo}/gc/runs`, {
    mode: "mark-only",
    mark_id: "m1",
  });
  await fake.deps.stores.gc.endMark(repo, "m1", markRun.body.run_id, {
    partitions: 2,
    markedAt: new Date().toISOString(),
  });
  await finish(markRun.body.run_id, "succeeded");
  const shown = await call("GET", `/repositories/${repo}/gc/marks/m1`);
  expect(shown).toMatchObject({
    status: 200,
    body: { mark_id: "m1", status: "succeeded", partitions: 2, sweepable: true },
  });
  expect((await call("GET", `/repositories/${repo}/gc/marks/nope`)).status).toBe(404);
  expect((await call("GET", `/repositories/${repo}/gc/marks/bad%20id`)).status).toBe(400);

  const sweep = await call("POST", `/repositories/${repo}/gc/runs`, {
    do_mark: false,
    mark_id: "m1",
  });
  expect(sweep.status).toBe(202);
  // Restoring while it sweeps is refused; then the sweep ends and the mark is used up.
  const during = await call("POST", `/repositories/${repo}/gc/marks/m1/retire`, {
    reason: "restore",
  });
  expect(during.status).toBe(409);
  expect(during.body.message).toMatch(/being swept by GC run .*wait for it to end/);
  await finish(sweep.body.run_id, "succeeded");
  const again = await call("POST", `/repositories/${repo}/gc/runs`, {
    do_mark: false,
    mark_id: "m1",
  });
  expect(again.status).toBe(409);
  expect(again.body.message).toMatch(
    new RegExp(
      `mark id "m1" was already swept by run ${sweep.body.run_id} at .*swept at most once`,
    ),
  );

  // A mark older than maxMarkAgeHours: re-mark.
  const m2 = await call("POST", `/repositories/${repo}/gc/runs`, {
    mode: "mark-only",
    mark_id: "m2",
  });
  await finish(m2.body.run_id, "succeeded");
  const realNow = fake.deps.now;
  fake.deps.now = () => new Date(Date.now() + 25 * 3600_000);
  try {
    const old = await call("POST", `/repositories/${repo}/gc/runs`, {
      do_mark: false,
      mark_id: "m2",
    });
    expect(old.status).toBe(409);
    expect(old.body.message).toMatch(
      /mark id "m2" is 2[45] hours old, older than maxMarkAgeHours \(24\)/,
    );
    expect((await call("GET", `/repositories/${repo}/gc/marks/m2`)).body).toMatchObject({
      sweepable: false,
      not_sweepable_because: expect.stringMatching(/older than maxMarkAgeHours/),
    });
  } finally {
    fake.deps.now = realNow;
  }

  // A restore retires it.
  const m3 = await call("POST", `/repositories/${repo}/gc/runs`, {
    mode: "mark-only",
    mark_id: "m3",
  });
  await finish(m3.body.run_id, "succeeded");
  const retired = await call("POST", `/repositories/${repo}/gc/marks/m3/retire`, {
    reason: "restored from s3://backup/m3",
  });
  expect(retired).toMatchObject({
    status: 200,
    body: { retired_reason: "restored from s3://backup/m3", sweepable: false },
  });
  const afterRestore = await call("POST", `/repositories/${repo}/gc/runs`, {
    do_mark: false,
    mark_id: "m3",
  });
  expect(afterRestore.status).toBe(409);
  expect(afterRestore.body.message).toMatch(
    /mark id "m3" was retired at .*restored from s3:\/\/backup\/m3.*can no longer be swept/,
  );
  // A reason of the wrong type: 400 naming the field.
  expect(await call("POST", `/repositories/${repo}/gc/marks/m3/retire`, { reason: 7 })).toEqual({
    status: 400,
    body: { message: "reason: must be a string" },
  });
  // A reason of 1 to 2 000 characters (room for `restored from` any backup location).
  expect(
    await call("POST", `/repositories/${repo}/gc/marks/m3/retire`, { reason: "r".repeat(2001) }),
  ).toEqual({ status: 400, body: { message: "reason: must be at most 2000 characters" } });
  expect(await call("POST", `/repositories/${repo}/gc/marks/m3/retire`, { reason: "" })).toEqual({
    status: 400,
    body: { message: "reason: must not be empty" },
  });
  // A lone surrogate cannot be stored as UTF-8 (DynamoDB would keep U+FFFD in its place): the
  // reason would not read back as given. Refused, the mark as it was.
  const before = (await call("GET", `/repositories/${repo}/gc/marks/m3`)).body;
  expect(
    await call("POST", `/repositories/${repo}/gc/marks/m3/retire`, { reason: "restored \ud800" }),
  ).toEqual({
    status: 400,
    body: { message: "reason: must be well-formed Unicode (a lone surrogate)" },
  });
  expect((await call("GET", `/repositories/${repo}/gc/marks/m3`)).body).toEqual(before);
  expect((await call("POST", `/repositories/${repo}/gc/marks/zz/retire`)).status).toBe(404);
});

test("a restore's retire is refused (409) while a run sweeps the mark, and retires nothing", async () => {
  await call("PUT", `/repositories/${repo}/settings/gc_rules`, rules);
  const mark = await call("POST", `/repositories/${repo}/gc/runs`, {
    mode: "mark-only",
    mark_id: "m5",
  });
  await finish(mark.body.run_id, "succeeded");
  const sweep = await call("POST", `/repositories/${repo}/gc/runs`, {
    do_mark: false,
    mark_id: "m5",
  });
  expect(sweep.status).toBe(202);
  const refused = await call("POST", `/repositories/${repo}/gc/marks/m5/retire`, {
    reason: "restored from s3://backup/m5",
  });
  expect(refused).toEqual({
    status: 409,
    body: {
      message: `mark id "m5" is being swept by GC run ${sweep.body.run_id}: wait for it to end before restoring its objects`,
    },
  });
  const during = (await call("GET", `/repositories/${repo}/gc/marks/m5`)).body;
  expect(during.retired_reason ?? null).toBeNull();
  expect((await fake.deps.stores.gc.getMark(repo, "m5"))?.retiredAt).toBeUndefined();
  // Once that sweep has ended (here failed, so the mark is still sweepable), a Lambda of it may
  // still delete for the sweep function's timeout (15 minutes): refused until then.
  await finish(sweep.body.run_id, "failed");
  const settling = await call("POST", `/repositories/${repo}/gc/marks/m5/retire`, {
    reason: "restored from s3://backup/m5",
  });
  expect(settling.status).toBe(409);
  expect(settling.body.message).toMatch(
    new RegExp(
      `^mark id "m5" was swept by GC run ${sweep.body.run_id}, which ended at .*: a Lambda of that sweep may still be deleting until .*restore after that$`,
    ),
  );
  expect((await fake.deps.stores.gc.getMark(repo, "m5"))?.retiredAt).toBeUndefined();
  const realNow = fake.deps.now;
  const endedAt = Date.now();
  try {
    fake.deps.now = () => new Date(endedAt + 14 * 60_000);
    expect((await call("POST", `/repositories/${repo}/gc/marks/m5/retire`)).status).toBe(409);
    fake.deps.now = () => new Date(endedAt + 15 * 60_000 + 2_000);
    const retired = await call("POST", `/repositories/${repo}/gc/marks/m5/retire`, {
      reason: "restored from s3://backup/m5",
    });
    expect(retired).toMatchObject({
      status: 200,
      body: { retired_reason: "restored from s3://backup/m5", sweepable: false },
    });
  } finally {
    fake.deps.now = realNow;
  }
});

test("a run that never ends keeps the repository for 30 minutes (the default lease), then is recorded failed", async () => {
  await call("PUT", `/repositories/${repo}/settings/gc_rules`, rules);
  const realNow = fake.deps.now;
  const start = Date.now();
  try {
    const first = await call("POST", `/repositories/${repo}/gc/runs`, { mode: "mark-only" });
    expect(first.status).toBe(202);
    const runId = first.body.run_id;
    // Nothing renews the lease (the run's steps never ran): 29 minutes later it still holds.
    fake.deps.now = () => new Date(start + 29 * 60_000);
    const held = await call("POST", `/repositories/${repo}/gc/runs`, { mode: "mark-only" });
    expect(held.status).toBe(409);
    expect(held.body.message).toContain(runId);
    // Past 30 minutes the repository is given back and the dead run recorded as failed.
    fake.deps.now = () => new Date(start + 31 * 60_000);
    const next = await call("POST", `/repositories/${repo}/gc/runs`, { mode: "mark-only" });
    expect(next.status).toBe(202);
    const old = await call("GET", `/repositories/${repo}/gc/runs/${runId}`);
    expect(old.body).toMatchObject({
      status: "failed",
      error_message: expect.stringMatching(/stopped without ending: its lease expired/),
    });
  } finally {
    fake.deps.now = realNow;
  }
});

test("a run on a storage namespace another repository uses is refused (409 naming it), nothing started", async () => {
  await call("PUT", `/repositories/${repo}/settings/gc_rules`, rules);
  // lakeFS creates a bare (refs-restore) or read-only repository on a namespace in use.
  fake.lakefs.addRepository(`${repo}-copy`, `s3://lakefs-data/${repo}/`);
  const started = fake.workflows.started.length;
  const r = await call("POST", `/repositories/${repo}/gc/runs`, { mode: "mark-only" });
  expect(r.status).toBe(409);
  expect(r.body.message).toContain(`repository "${repo}-copy"`);
  expect(fake.workflows.started.length).toBe(started);
  fake.lakefs.repositories.delete(`${repo}-copy`);
  expect((await call("POST", `/repositories/${repo}/gc/runs`)).status).toBe(202);
});

test("backup-location-check: a location outside every storage namespace and the work bucket", async () => {
  fake.lakefs.addRepository(`${repo}-other`, `s3://lakefs-data/${repo}-other/`, { main: "c1" });
  const check = (location?: string) =>
    call(
      "GET",
      `/repositories/${repo}/gc/backup-location-check${location === undefined ? "" : `?location=${encodeURIComponent(location)}`}`,
    );
  expect(await check("s3://backups/r1/")).toEqual({
    status: 200,
    body: { location: "s3://backups/r1", usable: true },
  });
  // Nothing is claimed (README): no claim listed, an export path there is still taken.
  expect((await call("GET", `/repositories/${repo}/gc/backup-locations`)).body.results).toEqual([]);
  const exportThere = await call("PUT", `/repositories/${repo}/branches/main/continuous-export`, {
    exportPath: "s3://backups/r1/out",
  });
  expect(exportThere.status, JSON.stringify(exportThere.body)).toBe(200);
  expect(
    (await call("DELETE", `/repositories/${repo}/branches/main/continuous-export`)).status,
  ).toBe(204);
  expect(await check(`s3://lakefs-data/${repo}-backups`)).toMatchObject({ status: 200 });
  // Inside, around or at a namespace: its own repository's or another's.
  for (const [location, owner] of [
    [`s3://lakefs-data/${repo}-other/bk`, `${repo}-other`],
    [`s3://lakefs-data/${repo}/bk`, repo],
    // Around every namespace of the bucket: the first listed is named.
    ["s3://lakefs-data", "repo-gc-[0-9]+"],
  ] as const) {
    const r = await check(location);
    expect(r.status, location).toBe(400);
    expect(r.body.message).toMatch(
      new RegExp(
        `^location: ${location} overlaps the storage namespace s3://lakefs-data/.* of repository "${owner}"`,
      ),
    );
  }
  expect((await check("s3://lakeport-work/bk")).body.message).toMatch(
    /^location: s3:\/\/lakeport-work\/bk is in Lakeport's work bucket/,
  );
  expect(await check()).toEqual({
    status: 400,
    body: { message: "location: required (s3://bucket[/prefix])" },
  });
  expect((await check("https://backups/r1")).body.message).toMatch(/^location: must be s3:/);
  expect((await check("s3://backups/a/../b")).body.message).toMatch(/^location: .*\.\./);
  const unknown = await call(
    "GET",
    `/repositories/no-such-repo/gc/backup-location-check?location=s3://backups/x`,
  );
  expect(unknown.status).toBe(404);
});

test("backup-location-check: a location overlapping a branch's export or status path is refused", async () => {
  // A full export deletes whatever else is under its export path: a backup there would go.
  const out = `s3://exports-bk/${repo}/out`;
  const status = `s3://exports-bk/${repo}/status`;
  const set = await call("PUT", `/repositories/${repo}/branches/main/continuous-export`, {
    exportPath: out,
    exportStatusPath: status,
  });
  expect(set.status, JSON.stringify(set.body)).toBe(200);
  const check = (location: string) =>
    call(
      "GET",
      `/repositories/${repo}/gc/backup-location-check?location=${encodeURIComponent(location)}`,
    );
  for (const [location, what, path] of [
    [`${out}/backups`, "export path", out],
    [`s3://exports-bk/${repo}`, "export path", out],
    [`${status}/bk/`, "status path", status],
  ] as const) {
    const r = await check(location);
    expect(r.status, location).toBe(400);
    expect(r.body.message).toBe(
      `location: ${location.replace(/\/+$/, "")} overlaps the ${what} ${path} of lakefs://${repo}@main (a full export deletes whatever else is under its export path): back up outside every export and status path`,
    );
  }
  expect((await check(`s3://exports-bk/${repo}-backups`)).status).toBe(200);
});

/** A succeeded mark-only run of mark `markId` in `repo`. */
async function succeededMark(markId: string) {
  await call("PUT", `/repositories/${repo}/settings/gc_rules`, rules);
  const run = await call("POST", `/repositories/${repo}/gc/runs`, {
    mode: "mark-only",
    mark_id: markId,
  });
  expect(run.status, JSON.stringify(run.body)).toBe(202);
  await finish(run.body.run_id, "succeeded");
}

const claims = () => call("GET", `/repositories/${repo}/gc/backup-locations`);
const claimAt = (location: string, markId = "m1") =>
  call("POST", `/repositories/${repo}/gc/backup-locations`, { location, mark_id: markId });
const release = (location: string) =>
  call(
    "DELETE",
    `/repositories/${repo}/gc/backup-locations?location=${encodeURIComponent(location)}`,
  );
const setExport = (exportPath: string, exportStatusPath?: string, branch = "main") =>
  call("PUT", `/repositories/${repo}/branches/${branch}/continuous-export`, {
    exportPath,
    ...(exportStatusPath ? { exportStatusPath } : {}),
  });

test("backup-locations: a claimed location keeps every export and status path out until released", async () => {
  // A full export deletes whatever else is under its export path: the backup would go.
  await succeededMark("m1");
  const bk = `s3://bk-claims/${repo}/m1`;
  const claimed = await claimAt(`${bk}/`);
  expect(claimed.status, JSON.stringify(claimed.body)).toBe(201);
  expect(claimed.body).toMatchObject({ repository: repo, location: bk, mark_id: "m1" });
  // Claimed again (a retried backup, another mark): kept, the newest mark recorded.
  await succeededMark("m2");
  expect(await claimAt(bk, "m2")).toMatchObject({ status: 200, body: { mark_id: "m2" } });
  expect((await claims()).body.results).toEqual([
    expect.objectContaining({ repository: repo, location: bk, mark_id: "m2" }),
  ]);
  for (const [exportPath, statusPath, field] of [
    [`s3://bk-claims/${repo}`, undefined, "exportPath"],
    [`${bk}/inside`, undefined, "exportPath"],
    [bk, undefined, "exportPath"],
    [`s3://bk-claims/${repo}-out`, `s3://bk-claims/${repo}`, "exportStatusPath"],
  ] as const) {
    const r = await setExport(exportPath, statusPath);
    expect(r.status, exportPath).toBe(400);
    expect(r.body.message).toMatch(
      new RegExp(
        `^${field}: .* overlaps the GC backup location ${bk} of repository "${repo}" \\(mark m2\\), which a full export would delete`,
      ),
    );
  }
  // Nothing stored by the refused requests.
  expect((await call("GET", `/repositories/${repo}/branches/main/continuous-export`)).status).toBe(
    404,
  );
  // Beside it (a prefix sharing its first characters): stored.
  expect((await setExport(`s3://bk-claims/${repo}/m1-out`)).status).toBe(200);
  // A repository deleted in lakeFS: its claims still keep export paths out, so they list.
  const namespace = fake.lakefs.repositories.get(repo);
  fake.lakefs.repositories.delete(repo);
  expect((await claims()).body.results).toHaveLength(1);
  fake.lakefs.repositories.set(repo, namespace!);
  expect((await release(`${bk}/`)).status).toBe(204);
  expect(await release(bk)).toEqual({
    status: 404,
    body: { message: `no GC backup location ${bk} claimed for "${repo}"` },
  });
  expect((await claims()).body.results).toEqual([]);
  expect((await setExport(`s3://bk-claims/${repo}`, undefined, "main")).status).toBe(400);
  expect(
    (await call("DELETE", `/repositories/${repo}/branches/main/continuous-export`)).status,
  ).toBe(204);
  expect((await setExport(`s3://bk-claims/${repo}`)).status).toBe(200);
});

test("backup-locations: a claim under an export or status path is refused, claiming nothing", async () => {
  await succeededMark("m1");
  const out = `s3://bk-claims/${repo}/out`;
  expect((await setExport(out, `s3://bk-claims/${repo}/status`)).status).toBe(200);
  for (const location of [`${out}/bk`, `s3://bk-claims/${repo}`, `s3://bk-claims/${repo}/status`]) {
    const r = await claimAt(location);
    expect(r.status, location).toBe(400);
    expect(r.body.message).toMatch(
      new RegExp(
        `^location: ${location} overlaps the (export|status) path .* of lakefs://${repo}@main`,
      ),
    );
  }
  expect((await claims()).body.results).toEqual([]);
  expect((await claimAt(`s3://bk-claims/${repo}/outside`)).status).toBe(201);
});

test("backup-locations: bad input is refused naming the field, claiming nothing", async () => {
  await succeededMark("m1");
  const post = (body: unknown) => call("POST", `/repositories/${repo}/gc/backup-locations`, body);
  expect((await post({ location: "s3://bk-claims/x" })).body.message).toMatch(/^mark_id: /);
  expect((await post({ location: "s3://bk-claims/x", mark_id: "m1", extra: 1 })).status).toBe(400);
  expect(await post({ location: "https://x/y", mark_id: "m1" })).toMatchObject({
    status: 400,
    body: { message: expect.stringMatching(/^location: must be s3:/) },
  });
  expect(await post({ location: `s3://lakefs-data/${repo}/bk`, mark_id: "m1" })).toMatchObject({
    status: 400,
    body: { message: expect.stringMatching(/^location: .* overlaps the storage namespace/) },
  });
  expect(await post({ location: "s3://lakeport-work/bk", mark_id: "m1" })).toMatchObject({
    status: 400,
    body: { message: expect.stringMatching(/^location: .* Lakeport's work bucket/) },
  });
  expect(await post({ location: "s3://bk-claims/x", mark_id: "no-such-mark" })).toEqual({
    status: 404,
    body: { message: `mark id "no-such-mark" not found in "${repo}"` },
  });
  expect(
    (
      await call("POST", `/repositories/no-such-repo/gc/backup-locations`, {
        location: "s3://bk-claims/x",
        mark_id: "m1",
      })
    ).status,
  ).toBe(404);
  expect((await claims()).body.results).toEqual([]);
  expect(await call("DELETE", `/repositories/${repo}/gc/backup-locations`)).toEqual({
    status: 400,
    body: { message: "location: required (s3://bucket[/prefix])" },
  });
  // A location given twice: which one was meant is not known (API Gateway hands the function
  // the last), so neither is checked or released; a claim stays.
  expect((await claimAt("s3://bk-claims/twice-a")).status).toBe(201);
  const twice = "location=s3://bk-claims/twice-b&location=s3://bk-claims/twice-a";
  for (const [method, route] of [
    ["DELETE", "backup-locations"],
    ["GET", "backup-location-check"],
  ] as const) {
    expect(await call(method, `/repositories/${repo}/gc/${route}?${twice}`), route).toEqual({
      status: 400,
      body: { message: "location: must be given once (got 2 values)" },
    });
  }
  expect((await claims()).body.results).toEqual([
    expect.objectContaining({ location: "s3://bk-claims/twice-a", mark_id: "m1" }),
  ]);
});

test("backup-locations: a claim and an export path set around it at the same moment are never both kept", async () => {
  // Each side writes its claim, then reads the other's (strongly consistent): one of two
  // requests at once sees the other. Both may be refused; both kept would lose the backup.
  await succeededMark("m1");
  for (let i = 0; i < 8; i++) {
    const bk = `s3://bk-race/${repo}/${i}/bk`;
    const [claim, set] = await Promise.all([claimAt(bk), setExport(`s3://bk-race/${repo}/${i}`)]);
    const claimKept = (await claims()).body.results.some(
      (c: { location: string }) => c.location === bk,
    );
    const config = await call("GET", `/repositories/${repo}/branches/main/continuous-export`);
    const exportKept =
      config.status === 200 && config.body.exportPath === `s3://bk-race/${repo}/${i}`;
    expect(claimKept && exportKept, `${claim.status} ${set.status}`).toBe(false);
    expect(claimKept).toBe(claim.status === 201);
    expect(exportKept).toBe(set.status === 200);
    if (exportKept) {
      await call("DELETE", `/repositories/${repo}/branches/main/continuous-export`);
    }
  }
});

test("backup-locations: a refused move does not put back an export path a backup claimed meanwhile", async () => {
  // Moving main from p1 to p2 releases p1 once stored; a backup may claim inside p1 then (it is
  // free). When the move's re-check fails (a claim in p2 not yet withdrawn), the previous
  // configuration must not come back around that backup: its full export would delete it.
  await succeededMark("m1");
  const p1 = `s3://bk-undo/${repo}/p1`;
  const p2 = `s3://bk-undo/${repo}/p2`;
  expect((await setExport(p1)).status).toBe(200);
  const store = fake.deps.stores.backupLocations;
  const list = store.list.bind(store);
  let reads = 0;
  let claimInP1: number | undefined;
  store.list = () =>
    (async function* () {
      if (++reads === 2) {
        // The move is stored: a backup claims inside p1, another (inside p2) has just claimed.
        claimInP1 = (await claimAt(`${p1}/bk`)).status;
        await store.claim({
          repository: repo,
          location: `${p2}/bk`,
          markId: "m1",
          claimedAt: new Date().toISOString(),
          claimToken: "not-yet-withdrawn",
        });
      }
      yield* list();
    })();
  let moved: Awaited<ReturnType<typeof setExport>>;
  try {
    moved = await setExport(p2);
  } finally {
    store.list = list;
  }
  expect(claimInP1).toBe(201);
  expect(moved.status).toBe(400);
  expect(moved.body.message).toMatch(
    new RegExp(
      `^exportPath: ${p2} overlaps the GC backup location ${p2}/bk .*no export configuration now`,
    ),
  );
  const config = await call("GET", `/repositories/${repo}/branches/main/continuous-export`);
  expect(config.status, JSON.stringify(config.body)).toBe(404);
});

test("backup-locations: a location too long to be claimed is refused naming the field, claiming nothing", async () => {
  await succeededMark("m1");
  const long = `s3://bk-long/${"a".repeat(1022)}`;
  // DynamoDB refuses a sort key over 1024 bytes: the claim (`repository#location`) is refused
  // as bad input, not answered as an internal error; and the check does not call it usable.
  const tooLong = new RegExp(
    `^location: s3://bk-long/a+ is too long to be claimed for repository "${repo}" .*at most ${1024 - repo.length - 1} bytes, got 1035\\): use a shorter one$`,
  );
  const r = await claimAt(`${long}/`);
  expect(r.status, JSON.stringify(r.body)).toBe(400);
  expect(r.body.message).toMatch(tooLong);
  expect((await claims()).body.results).toEqual([]);
  const check = await call(
    "GET",
    `/repositories/${repo}/gc/backup-location-check?location=${encodeURIComponent(long)}`,
  );
  expect(check.status).toBe(400);
  expect(check.body.message).toMatch(tooLong);
  // As long as may be claimed: claimed.
  const longest = `s3://bk-long/${"a".repeat(1024 - repo.length - 1 - "s3://bk-long/".length)}`;
  expect((await claimAt(longest)).status).toBe(201);
  // Released: refused the same way (no such claim can exist), the longest one released.
  const released = await release(long);
  expect(released.status).toBe(400);
  expect(released.body.message).toMatch(tooLong);
  expect((await release(longest)).status).toBe(204);
});

test("backup-locations: a repository's list and release leave another's whose id begins with its own", async () => {
  // Claims are kept as `repository#location` in one partition, listed by that prefix.
  await succeededMark("m1");
  const other = `${repo}-2`;
  fake.lakefs.addRepository(other, `s3://lakefs-data/${other}`, { main: "c1" });
  const location = `s3://bk-prefix/${other}`;
  await fake.deps.stores.backupLocations.claim({
    repository: other,
    location,
    markId: "m1",
    claimedAt: new Date().toISOString(),
    claimToken: "other",
  });
  expect((await claims()).body.results).toEqual([]);
  expect((await release(location)).status).toBe(404);
  const listed = await call("GET", `/repositories/${other}/gc/backup-locations`);
  expect(listed.body.results).toEqual([expect.objectContaining({ repository: other, location })]);
});

test("backup-locations: listed a page at a time in location order (amount, after); bad paging refused naming the field", async () => {
  await succeededMark("m1");
  const at = (name: string) => `s3://bk-pages/${name}/${repo}`;
  for (const name of ["c", "a", "b"]) expect((await claimAt(at(name))).status).toBe(201);
  const list = (query: string) => call("GET", `/repositories/${repo}/gc/backup-locations?${query}`);
  const locations = (r: { body: { results: { location: string }[] } }) =>
    r.body.results.map((c) => c.location);
  const page1 = await list("amount=2");
  expect(page1.status, JSON.stringify(page1.body)).toBe(200);
  expect(locations(page1)).toEqual([at("a"), at("b")]);
  expect(page1.body.pagination).toEqual({
    has_more: true,
    next_offset: at("b"),
    results: 2,
    max_per_page: 2,
  });
  const page2 = await list(
    `amount=2&after=${encodeURIComponent(page1.body.pagination.next_offset)}`,
  );
  expect(locations(page2)).toEqual([at("c")]);
  expect(page2.body.pagination).toMatchObject({ has_more: false, next_offset: "", results: 1 });
  // A full last page says there is no more; without amount, a page of 100.
  expect((await list("amount=3")).body.pagination).toMatchObject({ has_more: false, results: 3 });
  expect((await claims()).body.pagination).toMatchObject({ has_more: false, max_per_page: 100 });
  for (const [query, field] of [
    ["amount=0", "amount"],
    ["amount=1001", "amount"],
    ["amount=two", "amount"],
    ["after=", "after"],
    [`after=${"x".repeat(1100)}`, "after"],
  ] as const) {
    const r = await list(query);
    expect(r.status, query).toBe(400);
    expect(r.body.message, query).toMatch(new RegExp(`^${field}: `));
  }
  expect(locations(await list("amount=1000"))).toEqual([at("a"), at("b"), at("c")]);
});
