// lakeFS's GC never deletes an object modified in the last day (its cutoff on the objects'
// last-modified time, 24 hours by default). Lakeport marks what expired commits reference,
// which can be that young with retention 0 (a commit's parent expires 3 hours after the
// commit) or backdated commits (lakeFS's commit `date`): the mark leaves an expired entry
// created within GC_MIN_OBJECT_AGE_SECONDS (default a day) unmarked. On the real Lakeport app
// (test/support/lakeport-env.ts); the embedded environment sets the age to 0 on its functions
// so that other tests delete objects they just wrote, and this test sets it back on the
// addresses function.
import { describe, expect, it } from "vitest";
import { gcAppRuns } from "../support/gc-app-runs";
import { createLakeFsRepository, useLakeportEnvironment } from "../support/lakeport-env";

const HOUR = 3_600;
const env = useLakeportEnvironment();

/** main: c0 (5 hours back) a=A0, c1 (4 hours back) a=A1; retention 0: c0 expired, A0 marked. */
async function youngExpiredRepository() {
  const { id } = await createLakeFsRepository(env, { webhook: false });
  const now = Math.floor(Date.now() / 1000);
  await env.lakefs.uploadObject(id, "main", "a", { content: "A0" });
  const c0 = (await env.lakefs.commit(id, "main", { message: "c0", date: now - 5 * HOUR })).id;
  await env.lakefs.uploadObject(id, "main", "a", { content: "A1" });
  await env.lakefs.commit(id, "main", { message: "c1", date: now - 4 * HOUR });
  const rules = await env.api.put(`/repositories/${id}/settings/gc_rules`, {
    default_retention_days: 0,
    branches: [],
  });
  expect(rules.status).toBe(204);
  return { id, c0 };
}

async function gc(id: string) {
  const r = await env.api.post(`/repositories/${id}/gc/runs`, {});
  expect(r.status, r.text).toBe(202);
  const until = Date.now() + 90_000;
  for (;;) {
    const run = await env.api.get(`/repositories/${id}/gc/runs/${r.body.run_id}`);
    if (run.body.status !== "running") return run.body;
    if (Date.now() > until) throw new Error("GC run still running");
    await new Promise((res) => setTimeout(res, 100));
  }
}

const { read } = gcAppRuns(() => env);

/** Runs `body` with GC_MIN_OBJECT_AGE_SECONDS set on the addresses function. */
async function withMinAge(seconds: number, body: () => Promise<void>) {
  const runtime = env.deployment.runtime;
  const target = env.deployment.resources.find(
    (r) => r.type === "AWS::Lambda::Function" && /GcAddressesFunction/.test(r.logicalId),
  )!;
  runtime.updateFunctionEnvironment(target.physicalId, {
    GC_MIN_OBJECT_AGE_SECONDS: String(seconds),
  });
  try {
    await body();
  } finally {
    runtime.updateFunctionEnvironment(target.physicalId, { GC_MIN_OBJECT_AGE_SECONDS: "0" });
  }
}

describe("GC and objects written within lakeFS's minimum age", () => {
  it("keeps an object an expired commit made an hour ago references, as lakeFS does", async () => {
    const { id, c0 } = await youngExpiredRepository();
    await withMinAge(24 * HOUR, async () => {
      const run = await gc(id);
      expect(run.status, JSON.stringify(run)).toBe("succeeded");
      // c0 and the repository's first commit are expired; A0 was written moments ago.
      expect(run.counts).toMatchObject({ expiredCommits: 2, markedAddresses: 0 });
    });
    expect(await read(id, c0, "a")).toBe("A0");
  });

  it("deletes it with the age at 0 (the embedded environment's setting)", async () => {
    const { id, c0 } = await youngExpiredRepository();
    const run = await gc(id);
    expect(run.status, JSON.stringify(run)).toBe("succeeded");
    expect(run.counts).toMatchObject({ markedAddresses: 1 });
    expect(await read(id, c0, "a")).toBe(410);
    expect(await read(id, "main", "a")).toBe("A1");
  });
});
