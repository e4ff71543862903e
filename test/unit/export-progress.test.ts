// The counts an export records while it runs (lambdas/export/domain/progress.ts): the plan
// step records its plan after every invocation (done or not), each copy batch adds what each
// of its shards did; failing to record never fails a step.
import { describe, expect, it } from "vitest";
import { runCopyStep } from "../../lambdas/export/app/copy-step";
import { runPlanStep } from "../../lambdas/export/app/plan-step";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import type { PlanCounts } from "../../lambdas/export/domain/plan";
import type { CopiedCounts } from "../../lambdas/export/domain/progress";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import type { ExportProgressStore } from "../../lambdas/export/ports";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-abc-1-x";
const input = {
  repository: "repo",
  branch: "main",
  exportId,
  fromCommit: null,
  commitId: "c1",
  exportPath: "s3://out/exp",
  lastKeysInPrefixRegexp: [],
  repaired: false,
};

class RecordingProgress implements ExportProgressStore {
  plans: { planned: PlanCounts; planDone: boolean }[] = [];
  added: CopiedCounts[] = [];
  finals: CopiedCounts[] = [];
  async recordPlan(id: string, planned: PlanCounts, planDone: boolean) {
    expect(id).toBe(exportId);
    this.plans.push({ planned, planDone });
  }
  async addCopied(id: string, counts: CopiedCounts) {
    expect(id).toBe(exportId);
    this.added.push(counts);
  }
  async recordFinal(id: string, counts: CopiedCounts) {
    expect(id).toBe(exportId);
    this.finals.push(counts);
  }
  async getProgress() {
    return undefined;
  }
}

const failing: ExportProgressStore = {
  recordPlan: () => Promise.reject(new Error("ProvisionedThroughputExceededException")),
  addCopied: () => Promise.reject(new Error("ProvisionedThroughputExceededException")),
  recordFinal: () => Promise.reject(new Error("ProvisionedThroughputExceededException")),
  getProgress: () => Promise.resolve(undefined),
};

/** lakeFS listing n objects of 10 bytes each (full-copy plan). */
function lakeFsOf(n: number) {
  const results = Array.from({ length: n }, (_, i) => ({
    path: `p/${String(i).padStart(4, "0")}`,
    path_type: "object" as const,
    physical_address: `s3://ns-bucket/data/${i}`,
    checksum: `e${i}`,
    size_bytes: 10,
    mtime: 0,
  }));
  return {
    async *listObjects(_r: string, _ref: string, opts: { after?: string } = {}) {
      const rest = results.filter((o) => !opts.after || o.path > opts.after);
      yield {
        results: rest,
        pagination: { has_more: false, next_offset: "", results: rest.length, max_per_page: 1000 },
      };
    },
  } as never;
}

describe("plan step", () => {
  it("records the plan so far after each invocation, and the whole plan when done", async () => {
    const progress = new RecordingProgress();
    const deps = {
      store: new MemoryExportStore(),
      lakefs: lakeFsOf(250),
      workBucket: "work",
      progress,
    };
    let calls = 0;
    const first = await runPlanStep(deps, input, {
      limits: { maxTasksPerShard: 100 },
      shouldContinue: () => ++calls < 2,
    });
    await runPlanStep(deps, { ...input, plan: first }, { limits: { maxTasksPerShard: 100 } });
    expect(progress.plans).toEqual([
      { planned: { copies: 200, deletes: 0, copyBytes: 2000, shards: 2 }, planDone: false },
      { planned: { copies: 250, deletes: 0, copyBytes: 2500, shards: 3 }, planDone: true },
    ]);
  });

  it("plans the same when the counts cannot be recorded", async () => {
    const deps = { store: new MemoryExportStore(), lakefs: lakeFsOf(5), workBucket: "work" };
    const out = await runPlanStep({ ...deps, progress: failing }, input);
    expect(out).toMatchObject({ done: true, counts: { copies: 5, shards: 1 } });
  });
});

describe("copy step", () => {
  // Keep tasks need no S3 call: the batch runs without a client.
  const keepShard = (n: number) =>
    `${Array.from({ length: n }, (_, i) => JSON.stringify({ op: "keep", path: `k${i}`, destKey: `exp/k${i}`, etag: "e" })).join("\n")}\n`;
  const event = {
    Items: [{ shard: 0 }, { shard: 1 }],
    BatchInput: { exportId, exportPath: "s3://out/exp", lastKeysInPrefixRegexp: [] },
  };

  it("adds each completed shard's counts, after its result is written", async () => {
    const store = new MemoryExportStore();
    const keys = exportWorkKeys(exportId);
    await store.put("work", keys.taskShard(0), keepShard(3));
    await store.put("work", keys.taskShard(1), keepShard(2));
    const progress = new RecordingProgress();
    const out = await runCopyStep({ store, s3: {} as never, workBucket: "work", progress }, event);
    expect(out).toEqual({ shards: 2, copied: 0, deleted: 0, failed: 0 });
    expect(progress.added).toEqual([
      { shards: 1, copied: 0, deleted: 0, copiedBytes: 0, failed: 0 },
      { shards: 1, copied: 0, deleted: 0, copiedBytes: 0, failed: 0 },
    ]);
    expect(store.objects.has(`work/${keys.shardResult(0)}`)).toBe(true);
  });

  it("a retried batch adds its shards again; the status step then records the exact totals", async () => {
    const store = new MemoryExportStore();
    const keys = exportWorkKeys(exportId);
    await store.put("work", keys.taskShard(0), keepShard(3));
    await store.put("work", keys.taskShard(1), keepShard(2));
    const progress = new RecordingProgress();
    const deps = { store, s3: {} as never, workBucket: "work", progress };
    await runCopyStep(deps, event);
    await runCopyStep(deps, event); // Step Functions retried the batch
    expect(progress.added.reduce((n, c) => n + c.shards, 0)).toBe(4);
    const plan = {
      done: true,
      cursor: {} as never,
      counts: { copies: 0, deletes: 0, keeps: 5, copyBytes: 0, shards: 2 },
    };
    const statusDeps = {
      store,
      lakefs: lakeFsOf(0),
      workBucket: "work",
      now: () => new Date("2026-01-01T00:00:00Z"),
      progress,
    };
    const out = await runStatusStep(statusDeps, { ...input, plan });
    expect(out.status).toBe("exported-successfully");
    expect(progress.finals).toEqual([
      { shards: 2, copied: 0, deleted: 0, copiedBytes: 0, failed: 0 },
    ]);
    // Failing to record the final counts never fails the status step.
    const again = await runStatusStep({ ...statusDeps, progress: failing }, { ...input, plan });
    expect(again.status).toBe("exported-successfully");
  });

  it("copies the same when the counts cannot be recorded", async () => {
    const store = new MemoryExportStore();
    const keys = exportWorkKeys(exportId);
    await store.put("work", keys.taskShard(0), keepShard(1));
    await store.put("work", keys.taskShard(1), keepShard(1));
    const out = await runCopyStep(
      { store, s3: {} as never, workBucket: "work", progress: failing },
      event,
    );
    expect(out.shards).toBe(2);
    expect(store.objects.has(`work/${keys.shardResult(1)}`)).toBe(true);
  });
});
