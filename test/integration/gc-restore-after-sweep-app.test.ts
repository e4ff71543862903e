// A restore retires its mark only once the sweep function's timeout has passed since a sweep of
// the mark ended: a Lambda of that sweep (a map child left behind, an attempt Step Functions
// retried) may still have a delete request in flight, which would delete what the restore
// copies back. The embedded environment turns the wait off (GC_SWEEP_SETTLE_SECONDS=0 on every
// function); these tests set it back to a few seconds on the real Lakeport app
// (test/support/lakeport-env.ts): the API's retire (a restore from this machine) and the copy
// workflow's plan (gc restore --workflow) both refuse, retiring and copying nothing, then
// restore once the time has passed.
import { describe, expect, it } from "vitest";
import { uniqueName } from "../support/clients";
import { gcAppRuns, repositoryWithOldA } from "../support/gc-app-runs";
import { useLakeportEnvironment } from "../support/lakeport-env";

const SETTLE_SECONDS = 5;
const backupBucket = uniqueName("gc-settle-bk");
const env = useLakeportEnvironment({ buckets: [backupBucket] });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const { gc, markOf, read } = gcAppRuns(() => env);
const copyMachine = () => env.deployment.arn("LakeportGcCopyStateMachine");

/** main: c0 (20 days) a="old a"; c1 (10 days) a="new a". Mark m1 (old a), backed up, swept. */
async function sweptRepository() {
  const { id, c0 } = await repositoryWithOldA(env);
  const rules = { default_retention_days: 3, branches: [] };
  expect((await env.api.put(`/repositories/${id}/settings/gc_rules`, rules)).status).toBe(204);
  expect(await gc(id, { do_sweep: false, mark_id: "m1" })).toMatchObject({ status: "succeeded" });
  const location = `s3://${backupBucket}/${id}`;
  const backup = await env.lakeport([
    "gc",
    "backup",
    `lakefs://${id}`,
    "--mark-id",
    "m1",
    "--to",
    location,
  ]);
  expect(backup.code, backup.stderr).toBe(0);
  expect(await gc(id, { do_mark: false, mark_id: "m1" })).toMatchObject({ status: "succeeded" });
  expect(await read(id, c0, "a")).toBe(410);
  return { id, c0, location };
}

const restore = (id: string, location: string, workflow: boolean) =>
  env.lakeport([
    "gc",
    "restore",
    `lakefs://${id}`,
    "--mark-id",
    "m1",
    "--from",
    location,
    ...(workflow ? ["--workflow", copyMachine()] : []),
  ]);

/** Runs `body` with GC_SWEEP_SETTLE_SECONDS set on the functions matching `fn`. */
async function withSettle(fn: RegExp, body: () => Promise<void>) {
  const runtime = env.deployment.runtime;
  const target = env.deployment.resources.find(
    (r) => r.type === "AWS::Lambda::Function" && fn.test(r.logicalId),
  )!;
  runtime.updateFunctionEnvironment(target.physicalId, {
    GC_SWEEP_SETTLE_SECONDS: String(SETTLE_SECONDS),
  });
  try {
    await body();
  } finally {
    runtime.updateFunctionEnvironment(target.physicalId, { GC_SWEEP_SETTLE_SECONDS: "0" });
  }
}

async function untilSettled(id: string) {
  const sweptAt = Date.parse((await markOf(id)).swept_at as string);
  await sleep(Math.max(0, sweptAt + SETTLE_SECONDS * 1000 + 1100 - Date.now()));
}

describe("a restore right after a sweep of its mark", () => {
  it("from this machine: the retire is refused (409) until the sweep has settled, nothing is copied", async () => {
    const { id, c0, location } = await sweptRepository();
    await withSettle(/^LakeportApiGcFunction/, async () => {
      const early = await restore(id, location, false);
      expect(early.code, early.stderr).not.toBe(0);
      expect(early.stderr).toMatch(/may still be deleting until .*restore after that/);
      expect(early.stderr).not.toContain("retired: it will never be swept");
      expect(await markOf(id)).toMatchObject({ retired_at: null });
      expect(await read(id, c0, "a")).toBe(410);
      await untilSettled(id);
      const later = await restore(id, location, false);
      expect(later.code, later.stderr).toBe(0);
    });
    expect(await read(id, c0, "a")).toBe("old a");
    expect(await markOf(id)).toMatchObject({ retired_reason: `restored from ${location}` });
  }, 120_000);

  it("through the copy workflow: its plan fails, retiring and copying nothing, until the sweep has settled", async () => {
    const { id, c0, location } = await sweptRepository();
    await withSettle(/^LakeportGcCopyPlanFunction/, async () => {
      const early = await restore(id, location, true);
      expect(early.code, early.stderr).not.toBe(0);
      expect(early.stderr).toContain("MarkSweepSettlingError");
      expect(early.stderr).toMatch(/may still be deleting until/);
      expect(await markOf(id)).toMatchObject({ retired_at: null });
      expect(await read(id, c0, "a")).toBe(410);
      await untilSettled(id);
      const later = await restore(id, location, true);
      expect(later.code, later.stderr).toBe(0);
    });
    expect(await read(id, c0, "a")).toBe("old a");
    expect(await markOf(id)).toMatchObject({ retired_reason: `restored from ${location}` });
  }, 120_000);
});
