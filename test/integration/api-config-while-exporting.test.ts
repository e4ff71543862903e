// A running export keeps the paths it writes. While a branch's export runs (or its aborted
// execution's functions may still write, the settling window), its configuration cannot be
// deleted nor moved to another export or status path: another branch could otherwise take the
// old path and two exports would write one path. Other changes are stored. And a start decided
// on a configuration that was deleted or changed before the start was recorded does not run.
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { apiClient, type FakeApi, startApiWithFakes } from "../support/api-harness";

let fake: FakeApi;
let call: ReturnType<typeof apiClient>;
const repo = "repo-config-while-exporting";
const branchCfg = (b: string) => `/repositories/${repo}/branches/${b}/continuous-export`;

beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  call = apiClient(fake);
  fake.lakefs.addRepository(repo, `s3://lakefs-data/${repo}`, {
    main: "c1",
    other: "o1",
    settling: "s1",
    raced: "r1",
    moved: "m1",
  });
});
afterAll(() => fake.stop());

async function endRunningExport(branch: string, commitId: string) {
  const state = await fake.deps.stores.exports.getState(repo, branch);
  expect(state?.state).toBe("in-progress");
  const done = await fake.deps.stores.exports.completeExport(
    {
      repository: repo,
      branch,
      exportId: state!.exportId,
      commitId,
      outcome: { status: "succeeded" },
    },
    new Date().toISOString(),
  );
  expect(done.applied).toBe(true);
}

test("while the export runs: delete and path changes get 409 and change nothing; other changes are stored", async () => {
  const x = "s3://export-bucket/while-running/x";
  const st = "s3://export-bucket/while-running-status";
  const started = await call("PUT", branchCfg("main"), {
    exportPath: x,
    exportStatusPath: st,
    isContinuous: true,
  });
  expect(started.status).toBe(200);
  expect(started.body.export.status).toBe("started");
  const running = started.body.export.exportId as string;

  const del = await call("DELETE", branchCfg("main"));
  expect(del.status).toBe(409);
  expect(del.body.message).toContain(running);
  expect(del.body.message).toContain("export path");
  const moved = await call("PUT", branchCfg("main"), {
    exportPath: "s3://export-bucket/while-running/y",
    exportStatusPath: st,
    isContinuous: true,
  });
  expect(moved.status).toBe(409);
  expect(moved.body.message).toMatch(
    /^exportPath: .*running, writing to s3:\/\/export-bucket\/while-running\/x/,
  );
  for (const statusChange of [{ exportStatusPath: `${st}-2` }, {}]) {
    const status = await call("PUT", branchCfg("main"), {
      exportPath: x,
      ...statusChange,
      isContinuous: true,
    });
    expect(status.status).toBe(409);
    expect(status.body.message).toContain(`exportStatusPath: `);
    expect(status.body.message).toContain(st);
  }
  const kept = await fake.deps.stores.exports.getConfig(repo, "main");
  expect(kept).toMatchObject({ exportPath: x, exportStatusPath: st, isContinuous: true });

  // Same paths: stored (continuous off, a marker expression added).
  const same = await call("PUT", branchCfg("main"), {
    exportPath: x,
    exportStatusPath: st,
    lastKeysInPrefixRegexp: ["^a/$"],
    isContinuous: false,
  });
  expect(same.status).toBe(200);
  expect((await fake.deps.stores.exports.getConfig(repo, "main"))?.isContinuous).toBe(false);
  // The paths are still taken.
  expect((await call("PUT", branchCfg("other"), { exportPath: x })).status).toBe(400);
  expect((await call("PUT", branchCfg("other"), { exportPath: st })).status).toBe(400);

  // Once the export has ended: deleted, and the path is free.
  await endRunningExport("main", "c1");
  expect((await call("DELETE", branchCfg("main"))).status).toBe(204);
  expect((await call("PUT", branchCfg("other"), { exportPath: x })).status).toBe(200);
});

test("an aborted export's functions may still write until it settles: delete waits for that too", async () => {
  const x = "s3://export-bucket/settling/x";
  expect((await call("PUT", branchCfg("settling"), { exportPath: x })).status).toBe(200);
  const settlesAt = new Date(Date.now() + 60_000).toISOString();
  const ok = await fake.deps.stores.exports.compareAndSetState(repo, "settling", undefined, {
    state: "export-failed",
    commitId: "s1",
    exportId: "settling-export-1",
    errorMessage: "aborted",
    settlesAt,
    updatedAt: new Date().toISOString(),
    repaired: false,
    attempt: 1,
    version: 1,
  });
  expect(ok).toBe(true);
  const del = await call("DELETE", branchCfg("settling"));
  expect(del.status).toBe(409);
  expect(del.body.message).toContain(settlesAt);
  expect(await fake.deps.stores.exports.getConfig(repo, "settling")).toBeDefined();
  const realNow = fake.deps.now;
  fake.deps.now = () => new Date(Date.now() + 120_000);
  try {
    expect((await call("DELETE", branchCfg("settling"))).status).toBe(204);
  } finally {
    fake.deps.now = realNow;
  }
});

/** Holds the next call of `exports.getState` until the returned release is called. */
function holdNextGetState() {
  const store = fake.deps.stores.exports;
  const original = store.getState.bind(store);
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let reached!: () => void;
  const arrived = new Promise<void>((resolve) => {
    reached = resolve;
  });
  store.getState = async (r: string, b: string) => {
    store.getState = original;
    reached();
    await released;
    return original(r, b);
  };
  return { arrived, release };
}

test("a start whose configuration was deleted before it was recorded does not run", async () => {
  expect(
    (await call("PUT", branchCfg("raced"), { exportPath: "s3://export-bucket/raced" })).status,
  ).toBe(200);
  const startsBefore = fake.workflows.started.length;
  const hold = holdNextGetState();
  const run = call("POST", `/repositories/${repo}/branches/raced/export-hook`);
  await hold.arrived;
  expect((await call("DELETE", branchCfg("raced"))).status).toBe(204);
  hold.release();
  const answer = await run;
  expect(answer.status).toBe(404);
  expect(answer.body.message).toContain("no export configuration");
  expect(fake.workflows.started.length).toBe(startsBefore);
  expect((await fake.deps.stores.exports.getState(repo, "raced"))?.state).not.toBe("in-progress");
});

test("a start whose configuration moved before it was recorded exports to the new path", async () => {
  expect(
    (await call("PUT", branchCfg("moved"), { exportPath: "s3://export-bucket/moved-a" })).status,
  ).toBe(200);
  const hold = holdNextGetState();
  const run = call("POST", `/repositories/${repo}/branches/moved/export-hook`);
  await hold.arrived;
  expect(
    (await call("PUT", branchCfg("moved"), { exportPath: "s3://export-bucket/moved-b" })).status,
  ).toBe(200);
  hold.release();
  const answer = await run;
  expect(answer.status).toBe(202);
  const last = fake.workflows.started.at(-1)?.input as { exportPath: string };
  expect(last.exportPath).toBe("s3://export-bucket/moved-b");
});
