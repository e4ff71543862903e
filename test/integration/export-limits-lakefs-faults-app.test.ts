// Failures an export and a GC run meet in AWS, on the real app (test/support/lakeport-env.ts):
// - a step's Lambda runs out of its memory size (Runtime.OutOfMemory) or past its timeout
//   (Sandbox.Timedout): the export state machine's catch records the export as failed with
//   that reason (the steps' retries are for the Lambda service's own errors), and a repair
//   exports the head once the function has what it needs;
// - lakeFS answers 500, 429 (Retry-After) or slowly (the dev server's fault hook): the
//   export and a GC run retry and succeed; a lakeFS that keeps answering 500 fails the
//   export with lakeFS's message as the reason.
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { uniqueName } from "../support/clients";
import {
  createLakeFsRepository,
  eventually,
  type TestRepository,
  useLakeportEnvironment,
} from "../support/lakeport-env";

const outBucket = uniqueName("exp-limits-out");
const env = useLakeportEnvironment({ buckets: [outBucket] });

/** A repository with two committed objects and a one-time export configured. */
async function exportableRepository(): Promise<TestRepository> {
  const repo = await createLakeFsRepository(env, { webhook: false });
  await env.lakefs.uploadObject(repo.id, "main", "data/a.txt", { content: "A" });
  await env.lakefs.uploadObject(repo.id, "main", "data/b.txt", { content: "B" });
  await env.lakefs.commit(repo.id, "main", { message: "two objects" });
  const put = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {
    exportPath: `s3://${outBucket}/${repo.id}`,
    isContinuous: false,
  });
  expect(put.status, put.text).toBe(200);
  return repo;
}

/** Starts an export (or a repair) and waits until it is no longer in progress. */
async function runExport(repo: TestRepository, route = "export-hook") {
  const run = await env.api.post(`/repositories/${repo.id}/branches/main/${route}`);
  expect(run.status, run.text).toBe(202);
  return eventually(
    "the export to end",
    async () => {
      const s = (await env.api.get(`/repositories/${repo.id}/branches/main/export-status`)).body;
      return s?.exportId === run.body.exportId && s.state !== "in-progress" ? s : undefined;
    },
    120_000,
  );
}

async function exported(repo: TestRepository, name: string): Promise<string> {
  const o = await env.s3.send(
    new GetObjectCommand({ Bucket: outBucket, Key: `${repo.id}/data/${name}` }),
  );
  return o.Body!.transformToString();
}

describe("Lambda limits in the export workflow", () => {
  it("a plan step out of memory fails the export with Runtime.OutOfMemory; a repair then exports", async () => {
    const repo = await exportableRepository();
    const plan = env.deployment.physicalId("LakeportExportPlanFunction");
    // The plan function with a small memory size, and an invocation allocating past it.
    env.deployment.runtime.updateFunctionLimits(plan, { memorySizeMb: 128 });
    env.deployment.runtime.injectFault({ function: plan, invocation: "next", kind: "oom" });
    const crashesBefore = env.deployment.runtime.stats(plan).crashes;
    const failed = await runExport(repo);
    expect(failed.state).toBe("export-failed");
    expect(failed.errorMessage).toMatch(/Runtime\.OutOfMemory/);
    const stats = env.deployment.runtime.stats(plan);
    expect(stats.crashes).toBe(crashesBefore + 1);
    expect(stats.records.at(-1)).toMatchObject({ errorType: "Runtime.OutOfMemory" });

    env.deployment.runtime.updateFunctionLimits(plan, { memorySizeMb: 1024 });
    const repaired = await runExport(repo, "repair-export");
    expect(repaired.state, JSON.stringify(repaired)).toBe("export-repaired");
    expect(await exported(repo, "a.txt")).toBe("A");
  }, 180_000);

  it("a markers step past its timeout fails the export with Sandbox.Timedout", async () => {
    const repo = await exportableRepository();
    const markers = env.deployment.physicalId("LakeportExportMarkersFunction");
    env.deployment.runtime.updateFunctionLimits(markers, { timeoutSeconds: 2 });
    try {
      // The invocation sleeps (never answers) until the runtime's deadline ends it.
      env.deployment.runtime.injectFault({
        function: markers,
        invocation: "next",
        kind: "timeout",
      });
      const t0 = Date.now();
      const failed = await runExport(repo);
      expect(failed.state).toBe("export-failed");
      expect(failed.errorMessage).toMatch(/Sandbox\.Timedout/);
      expect(failed.errorMessage).toMatch(/Task timed out after 2\.00 seconds/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    } finally {
      env.deployment.runtime.updateFunctionLimits(markers, { timeoutSeconds: 900 });
    }
  }, 180_000);
});

describe("after the status step wrote success", () => {
  it("no Lambda can fail the export: a crashing Finish function is not on the success path", async () => {
    const repo = await exportableRepository();
    const statusPrefix = `${repo.id}-status`;
    const put = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {
      exportPath: `s3://${outBucket}/${repo.id}`,
      exportStatusPath: `s3://${outBucket}/${statusPrefix}`,
      isContinuous: false,
    });
    expect(put.status, put.text).toBe(200);
    const finish = env.deployment.physicalId("LakeportExportFinishFunction");
    env.deployment.runtime.injectFault({ function: finish, invocation: "next", kind: "crash" });
    try {
      const done = await runExport(repo);
      // The branch agrees with the success line the status step wrote.
      expect(done.state, JSON.stringify(done)).toBe("exported-successfully");
      const line = await env.s3.send(
        new GetObjectCommand({
          Bucket: outBucket,
          Key: `${statusPrefix}/${repo.id}-main-${done.lastExportedCommit}`,
        }),
      );
      expect(await line.Body!.transformToString()).toMatch(/^status: exported-successfully,/);
      expect(env.deployment.runtime.stats(finish).crashes).toBe(0);
    } finally {
      env.deployment.runtime.clearFaults();
    }
  }, 120_000);
});

describe("lakeFS failures during an export and a GC run", () => {
  it("500s, 429s with Retry-After and slow answers are retried: the export succeeds", async () => {
    const repo = await exportableRepository();
    const faults = env.lakefsServer.faults;
    const reads = `^GET /api/v1/repositories/${repo.id}/`;
    // The first live matching rule applies: the plan's listing first meets a 503.
    faults.add({ operation: "listObjects", status: 503, count: 1 });
    faults.add({ route: reads, status: 500, count: 2, message: "kv: connection reset" });
    faults.add({ route: reads, status: 429, count: 2, retryAfter: "1" });
    faults.add({ route: reads, latencyMs: 300, count: 3 });
    try {
      const done = await runExport(repo);
      expect(done.state, JSON.stringify(done)).toBe("exported-successfully");
      expect(faults.list().map((r) => [r.fired, r.remaining])).toEqual([
        [1, 0],
        [2, 0],
        [2, 0],
        [3, 0],
      ]);
    } finally {
      faults.clear();
    }
    expect(await exported(repo, "b.txt")).toBe("B");
  }, 180_000);

  it("a lakeFS that keeps answering 500 fails the export, with lakeFS's message as the reason", async () => {
    const repo = await exportableRepository();
    const faults = env.lakefsServer.faults;
    faults.add({
      operation: "listObjects",
      status: 500,
      message: "lakeFS is down for maintenance",
    });
    try {
      const failed = await runExport(repo);
      expect(failed.state).toBe("export-failed");
      expect(failed.errorMessage).toMatch(/lakeFS is down for maintenance/);
      expect(faults.list()[0]!.fired).toBeGreaterThanOrEqual(5);
    } finally {
      faults.clear();
    }
  }, 180_000);

  it("a GC run meeting 429s and slow lakeFS answers succeeds", async () => {
    const repo = await createLakeFsRepository(env, { webhook: false });
    await env.lakefs.uploadObject(repo.id, "main", "x.txt", { content: "x" });
    await env.lakefs.commit(repo.id, "main", { message: "x" });
    const rules = await env.api.put(`/repositories/${repo.id}/settings/gc_rules`, {
      default_retention_days: 1,
      branches: [],
    });
    expect(rules.status, rules.text).toBe(204);
    const faults = env.lakefsServer.faults;
    faults.add({ operation: "logCommits", status: 429, count: 2, retryAfter: "1" });
    faults.add({ route: `^GET /api/v1/repositories/${repo.id}/`, latencyMs: 200, count: 6 });
    try {
      const start = await env.api.post(`/repositories/${repo.id}/gc/runs`, {});
      expect(start.status, start.text).toBe(202);
      const run = await eventually(
        "the GC run to end",
        async () => {
          const r = await env.api.get(`/repositories/${repo.id}/gc/runs/${start.body.run_id}`);
          return r.body?.status === "running" ? undefined : r.body;
        },
        120_000,
      );
      expect(run.status, JSON.stringify(run)).toBe("succeeded");
      expect(faults.list().map((r) => r.fired)).toEqual([2, 6]);
    } finally {
      faults.clear();
    }
  }, 180_000);
});
