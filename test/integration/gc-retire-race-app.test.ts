// A restore retires its mark first, and the retire is refused while a live run sweeps it; a
// sweep whose lease has run out is taken for dead, so its mark can be retired. On the real
// Lakeport app (test/support/lakeport-env.ts): a sweep that stalls past its lease (a slow
// lakeFS during its check before the deletes, a short lease of the sweep Lambda) while the
// mark is retired must not delete anything afterwards.
import { expect, it } from "vitest";
import { DAY, gcAppRuns, repositoryWithOldA } from "../support/gc-app-runs";
import { useLakeportEnvironment } from "../support/lakeport-env";

const env = useLakeportEnvironment();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const { gc, read } = gcAppRuns(() => env);

it("a sweep that outlived its lease while its mark was retired deletes nothing afterwards", async () => {
  const { id, c0, now } = await repositoryWithOldA(env);
  await env.lakefs.uploadObject(id, "main", "b", { content: "b" });
  await env.lakefs.commit(id, "main", { message: "c2", date: now - DAY });
  const rules = { default_retention_days: 3, branches: [] };
  expect((await env.api.put(`/repositories/${id}/settings/gc_rules`, rules)).status).toBe(204);
  const mark = await gc(id, { do_sweep: false, mark_id: "m1" });
  expect(mark).toMatchObject({ status: "succeeded", counts: { markedAddresses: 1 } });

  const runtime = env.deployment.runtime;
  const sweepFn = env.deployment.resources.find(
    (r) => r.type === "AWS::Lambda::Function" && /GcSweepFunction/.test(r.logicalId),
  )!;
  runtime.updateFunctionEnvironment(sweepFn.physicalId, { GC_LEASE_SECONDS: "1" });
  let retire: Promise<{ status: number; text: string }> | undefined;
  try {
    runtime.beforeInvocation({
      function: /GcSweepFunction/,
      invocation: "next",
      run: () => {
        // The check before the first delete request renews the lease (1 s), then waits 6 s on
        // lakeFS; the lease runs out meanwhile, and the mark is retired (a restore begins).
        // Timed from the delayed call itself, not the invocation: a loaded machine may take
        // seconds to reach it, while the revalidation's long lease still holds.
        env.lakefsServer.faults.add({ operation: "listBranches", latencyMs: 6000, count: 1 });
        // Leases count whole seconds (renewed at second S, held through S+1), so the retire
        // is tried again while it answers 409, up to 5 s into the 6 s delay.
        retire = (async () => {
          while (env.lakefsServer.faults.list()[0]?.fired !== 1) await sleep(20);
          const until = Date.now() + 5000;
          await sleep(1500);
          for (;;) {
            const r = await env.api.post(`/repositories/${id}/gc/marks/m1/retire`, {
              reason: "restore",
            });
            if (r.status !== 409 || Date.now() > until) return r;
            await sleep(250);
          }
        })();
      },
    });
    const sweep = await gc(id, { do_mark: false, mark_id: "m1" });
    const retired = await retire!;
    expect(retired.status, retired.text).toBe(200);
    // Retired before the sweep's deletes: the old object must still be there.
    expect(await read(id, c0, "a")).toBe("old a");
    expect(sweep.status).toBe("failed");
    expect(sweep.error_message).toMatch(/lost the lease/);
    expect(env.lakefsServer.faults.list().map((f) => f.fired)).toEqual([1]);
  } finally {
    env.lakefsServer.faults.clear();
    runtime.updateFunctionEnvironment(sweepFn.physicalId, { GC_LEASE_SECONDS: "1800" });
  }
  expect(await read(id, "main", "a")).toBe("new a");
}, 120_000);
