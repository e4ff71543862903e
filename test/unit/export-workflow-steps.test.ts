// Export workflow steps and the execution-ended handler with fakes at their ports (no AWS, no
// lakeFS server): plan shards and index in an in-memory store, resumption, outcomes, watchdog.
import { describe, expect, it } from "vitest";
import {
  handleExecutionStatusChange,
  outcomeOf,
  runFinishStep,
} from "../../lambdas/export/app/finish-export";
import { runPlanStep, shardIndexKey } from "../../lambdas/export/app/plan-step";
import type { StartExportDeps } from "../../lambdas/export/app/start-export";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { decideDone } from "../../lambdas/export/domain/transitions";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import {
  type ExportWorkflowState,
  reasonOfCaughtError,
  workflowInputOf,
} from "../../lambdas/export/domain/workflow-state";
import type { CompleteExportInput } from "../../lambdas/export/ports";
import { FakeWorkflowStarter } from "../support/api-fakes";
import { MemoryExportStore as MemoryStore } from "../support/memory-export-store";

const input = {
  repository: "repo",
  branch: "main",
  exportId: "repo-main-abc-1-x",
  fromCommit: null,
  commitId: "c1",
  exportPath: "s3://out/exp",
  lastKeysInPrefixRegexp: [],
  repaired: false,
};

function listingLakeFs(n: number, sizeOf: (i: number) => number = () => 1) {
  const objects = Array.from({ length: n }, (_, i) => ({
    path: `p/${String(i).padStart(4, "0")}`,
    path_type: "object" as const,
    physical_address: `s3://ns-bucket/data/${i}`,
    checksum: `etag${i}`,
    size_bytes: sizeOf(i),
    mtime: 0,
  }));
  return {
    async *listObjects(_r: string, _ref: string, opts: { after?: string } = {}) {
      const rest = objects.filter((o) => !opts.after || o.path > opts.after);
      for (let i = 0; i < rest.length; i += 100) {
        yield {
          results: rest.slice(i, i + 100),
          pagination: {
            has_more: i + 100 < rest.length,
            next_offset: "",
            results: 100,
            max_per_page: 100,
          },
        };
      }
    },
    diffRefs: () => {
      throw new Error("not used");
    },
    listObjectsPage: () => {
      throw new Error("not used");
    },
    statObject: () => {
      throw new Error("not used");
    },
  } as never;
}

function indexOf(store: MemoryStore, key: string | undefined): { shard: number }[] {
  const body = store.objects.get(`work/${key}`)!;
  return body
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

describe("plan step", () => {
  it("gives the copy map its shards per child from the map's concurrency", async () => {
    const plan = async (objects: number, copyMapConcurrency?: number) => {
      const deps = { store: new MemoryStore(), lakefs: listingLakeFs(objects), workBucket: "work" };
      // One call (a first segment that holds the whole plan).
      return runPlanStep(deps, input, {
        limits: { maxTasksPerShard: 10 },
        firstSegmentShards: 1000,
        ...(copyMapConcurrency ? { copyMapConcurrency } : {}),
      });
    };
    // 25 shards: one each for 50 children at once (the default) or 4; 3 each for 2; for one
    // child at a time, ten.
    expect(await plan(250)).toMatchObject({ counts: { shards: 25 }, shardsPerBatch: 1 });
    expect(await plan(250, 4)).toMatchObject({ shardsPerBatch: 1 });
    expect(await plan(250, 2)).toMatchObject({ shardsPerBatch: 3 });
    expect(await plan(250, 1)).toMatchObject({ shardsPerBatch: 10 });
  });

  it("keeps a child's copies within one shard's bytes (50 GiB) by its largest shard, across calls", async () => {
    const GiB = 1024 ** 3;
    // 60 shards of 10 objects; shard 17 holds one 12 GiB object. The first call stops after
    // 20 shards; the second call's 40 go 4 a child, not 10.
    const deps = {
      store: new MemoryStore(),
      lakefs: listingLakeFs(600, (i) => (i === 173 ? 12 * GiB : 1)),
      workBucket: "work",
    };
    let calls = 0;
    const first = await runPlanStep(deps, input, {
      limits: { maxTasksPerShard: 10 },
      copyMapConcurrency: 1,
      firstSegmentShards: 1000,
      shouldContinue: () => ++calls < 20,
    });
    expect(first).toMatchObject({ done: false, cursor: { maxShardCopyBytes: 12 * GiB + 9 } });
    const second = await runPlanStep(
      deps,
      { ...input, plan: first },
      { limits: { maxTasksPerShard: 10 }, copyMapConcurrency: 1 },
    );
    expect(second).toMatchObject({
      done: true,
      counts: { shards: 60 },
      segmentShards: 40,
      shardsPerBatch: 4,
    });
  });

  it("writes task shards and a shard index, resuming from the cursor when told to stop", async () => {
    const store = new MemoryStore();
    const deps = { store, lakefs: listingLakeFs(250), workBucket: "work" };
    let calls = 0;
    const first = await runPlanStep(deps, input, {
      limits: { maxTasksPerShard: 100 },
      shouldContinue: () => ++calls < 2,
    });
    expect(first.done).toBe(false);
    expect(first.counts.shards).toBe(2);
    expect(store.objects.has(`work/${shardIndexKey(input.exportId)}`)).toBe(false);
    // The first call's shards are a segment a copy map takes while the second call lists.
    expect(first).toMatchObject({
      segmentShards: 2,
      indexKey: exportWorkKeys(input.exportId).planSegment(0),
    });
    expect(indexOf(store, first.indexKey)).toEqual([{ shard: 0 }, { shard: 1 }]);
    const second = await runPlanStep(
      deps,
      { ...input, plan: first },
      { limits: { maxTasksPerShard: 100 } },
    );
    expect(second).toMatchObject({
      done: true,
      counts: { shards: 3, copies: 250 },
      segmentShards: 1,
      indexKey: shardIndexKey(input.exportId),
    });
    expect(indexOf(store, second.indexKey)).toEqual([{ shard: 2 }]);
    const shard2 = store.objects.get(`work/exports/${input.exportId}/tasks/shard-000002.jsonl`)!;
    expect(shard2.trim().split("\n")).toHaveLength(50);
    expect(JSON.parse(shard2.split("\n")[0]!)).toMatchObject({
      op: "copy",
      path: "p/0200",
      destKey: "exp/p/0200",
      sourceAddress: "s3://ns-bucket/data/200",
    });
  });

  it("stops the first call after a segment of firstSegmentShards(map concurrency) shards, the result written first", async () => {
    const plan = async (copyMapConcurrency: number) => {
      const store = new MemoryStore();
      const deps = { store, lakefs: listingLakeFs(250), workBucket: "work" };
      const opts = { limits: { maxTasksPerShard: 10 }, copyMapConcurrency };
      const first = await runPlanStep(deps, input, opts);
      // What a later export reads back when this one fails while the segment is copied.
      const result = JSON.parse(store.objects.get(`work/${keys.planResult}`)!);
      const second = await runPlanStep(deps, { ...input, plan: first }, opts);
      return { store, first, result, second };
    };
    const keys = exportWorkKeys(input.exportId);
    // One copy worker: eight shards first (MIN_FIRST_SEGMENT_SHARDS), then the other 17.
    const one = await plan(1);
    expect(one.first).toMatchObject({ done: false, counts: { shards: 8 }, segmentShards: 8 });
    expect(one.result).toMatchObject({ done: false, counts: { shards: 8, copies: 80 } });
    expect(indexOf(one.store, one.first.indexKey)).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7].map((shard) => ({ shard })),
    );
    expect(one.second).toMatchObject({ done: true, counts: { shards: 25 }, segmentShards: 17 });
    expect(indexOf(one.store, one.second.indexKey)).toHaveLength(17);
    expect(indexOf(one.store, one.second.indexKey)[0]).toEqual({ shard: 8 });
    // Twelve children at once: a shard each first.
    const twelve = await plan(12);
    expect(twelve.first).toMatchObject({ done: false, counts: { shards: 12 }, segmentShards: 12 });
    expect(twelve.second).toMatchObject({ done: true, counts: { shards: 25 }, segmentShards: 13 });
    // The deployment's setting (PLAN_FIRST_SEGMENT_SHARDS) instead of the rule.
    const three = await runPlanStep(
      { store: new MemoryStore(), lakefs: listingLakeFs(250), workBucket: "work" },
      input,
      { limits: { maxTasksPerShard: 10 }, copyMapConcurrency: 1, firstSegmentShards: 3 },
    );
    expect(three).toMatchObject({ done: false, counts: { shards: 3 }, segmentShards: 3 });
    // A plan within its first segment is one call, as before.
    const small = await runPlanStep(
      { store: new MemoryStore(), lakefs: listingLakeFs(30), workBucket: "work" },
      input,
      { limits: { maxTasksPerShard: 10 }, copyMapConcurrency: 1 },
    );
    expect(small).toMatchObject({ done: true, counts: { shards: 3 }, segmentShards: 3 });
  });

  it("incremental: brings back what earlier failed exports touched, read from their task shards", async () => {
    const store = new MemoryStore();
    // A failed export with a complete plan (it may have copied and deleted), and one whose
    // plan never completed (it touched nothing in the export path).
    const failed = "repo-main-old-1-x";
    await store.put(
      "work",
      `exports/${failed}/plan/result.json`,
      JSON.stringify({ counts: { shards: 2 } }),
    );
    await store.put(
      "work",
      `exports/${failed}/tasks/shard-000000.jsonl`,
      `${JSON.stringify({ op: "delete", path: "p/0001", destKey: "exp/p/0001" })}\n`,
    );
    await store.put(
      "work",
      `exports/${failed}/tasks/shard-000001.jsonl`,
      `${JSON.stringify({ op: "delete", path: "q/gone", destKey: "exp/q/gone" })}\n`,
    );
    await store.put(
      "work",
      "exports/repo-main-never-2-x/tasks/shard-000000.jsonl",
      `${JSON.stringify({ op: "delete", path: "r/never", destKey: "exp/r/never" })}\n`,
    );
    const lakefs = {
      ...(listingLakeFs(3) as object),
      async *diffRefs() {
        yield {
          results: [],
          pagination: { has_more: false, next_offset: "", results: 0, max_per_page: 1000 },
        };
      },
      async statObject(_r: string, _ref: string, path: string) {
        if (path !== "p/0001") throw Object.assign(new Error("nf"), { status: 404 });
        return {
          path,
          path_type: "object",
          physical_address: "s3://ns-bucket/data/1",
          checksum: "etag1",
          size_bytes: 1,
          mtime: 0,
        };
      },
    } as never;
    const out = await runPlanStep(
      { store, lakefs, workBucket: "work" },
      {
        ...input,
        fromCommit: "c0",
        mode: "incremental",
        reconcileExports: [failed, "repo-main-never-2-x"],
      },
    );
    expect(out.counts).toMatchObject({ copies: 1, deletes: 1 });
    const tasks = store.objects
      .get(`work/exports/${input.exportId}/tasks/shard-000000.jsonl`)!
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(tasks.map((t) => `${t.op}:${t.path}`)).toEqual(["copy:p/0001", "delete:q/gone"]);
  });

  it("full: lists the export path and deletes what the commit does not have", async () => {
    const store = new MemoryStore();
    await store.put("out", "exp/p/0000", "old bytes");
    await store.put("out", "exp/_lakefs_actions/lakeport.yaml", "token: secret");
    await store.put("out", "exp/zz/_lakefs_success", "");
    await store.put("out", "expanded/not-ours", "x");
    const out = await runPlanStep(
      { store, lakefs: listingLakeFs(2), workBucket: "work" },
      { ...input, mode: "full-copy" },
    );
    const tasks = store.objects
      .get(`work/exports/${input.exportId}/tasks/shard-000000.jsonl`)!
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(tasks.map((t) => `${t.op}:${t.destKey}`)).toEqual([
      "delete:exp/_lakefs_actions/lakeport.yaml",
      "copy:exp/p/0000",
      "copy:exp/p/0001",
      "delete:exp/zz/_lakefs_success",
    ]);
    expect(out.counts).toMatchObject({ copies: 2, deletes: 2 });
  });

  it("names the field of a bad workflow state", () => {
    expect(() => workflowInputOf({ ...input, exportPath: "http://x" })).toThrow(/exportPath/);
    expect(workflowInputOf({ ...input, plan: { done: true } })).toEqual(input);
  });
});

describe("finish step", () => {
  it("derives the outcome from the status step, else from the caught error", () => {
    const base = input as ExportWorkflowState;
    expect(
      outcomeOf({ ...base, status: { status: "export-repaired", signalledErrors: 0 } }),
    ).toEqual({
      status: "succeeded",
    });
    expect(
      outcomeOf({
        ...base,
        status: { status: "export-failed", signalledErrors: 2, errorMessage: "2 failed" },
      }),
    ).toEqual({ status: "failed", errorMessage: "2 failed" });
    expect(
      outcomeOf({
        ...base,
        error: { Error: "PlanError", Cause: JSON.stringify({ errorMessage: "lakeFS down" }) },
      }),
    ).toEqual({ status: "failed", errorMessage: "PlanError: lakeFS down" });
    expect(reasonOfCaughtError(undefined)).toBe("export failed");
  });

  it("says copies may run when the export failed after a plan call handed shards to a copy map", () => {
    const cursor = { afterPath: "p/0039", counts: { shards: 4 } };
    const plan = (shards: number, done: boolean) => ({
      done,
      cursor,
      counts: { copies: 40, deletes: 0, keeps: 0, copyBytes: 40, shards },
    });
    const error = { Error: "States.TaskFailed", Cause: "lakeFS down" };
    // The second call failed while the first call's four shards were being copied.
    expect(runFinishStep({ ...input, plan: plan(4, false), error } as never)).toMatchObject({
      error: "ExportFailedCopiesMayRun",
    });
    // The first call wrote no shard, or failed itself: nothing was handed on.
    expect(runFinishStep({ ...input, plan: plan(0, false), error } as never)).toMatchObject({
      error: "ExportFailed",
    });
    expect(runFinishStep({ ...input, error } as never)).toMatchObject({ error: "ExportFailed" });
  });

  it("records nothing: it only says the outcome (the execution-ended handler records it)", () => {
    expect(
      runFinishStep({ ...input, status: { status: "exported-successfully", signalledErrors: 0 } }),
    ).toEqual({ outcome: "succeeded" });
    expect(
      runFinishStep({
        ...input,
        status: { status: "export-failed", signalledErrors: 1, errorMessage: "1 failed" },
      }),
    ).toEqual({ outcome: "failed", error: "ExportFailed", errorMessage: "1 failed" });
  });
});

describe("execution-ended handler", () => {
  /** The export store's state half in memory, with the real transition rules. */
  function fakeDeps(initial: ExportState) {
    let current: ExportState | undefined = initial;
    const workflows = new FakeWorkflowStarter();
    let failBranchReads = 0;
    const deps = {
      exports: {
        getConfig: async () => ({
          repository: "repo",
          branch: "main",
          exportPath: "s3://out/exp",
          lastKeysInPrefixRegexp: [],
          isContinuous: true,
          updatedAt: "",
        }),
        getState: async () => current,
        compareAndSetState: async (
          _r: string,
          _b: string,
          v: number | undefined,
          next: ExportState,
        ) => {
          if (current?.version !== v) return false;
          current = next;
          return true;
        },
        recordExecution: async () => true,
        requestFollowUp: async () => false,
        markStartFailed: async () => true,
        completeExport: async (i: CompleteExportInput) => {
          const d = decideDone(current, { ...i, now: "2026-01-01T00:00:00Z" });
          if (d.kind === "refused") return { applied: false, reason: d.reason };
          current = d.next;
          return { applied: true, state: d.next, followUp: d.followUp };
        },
      },
      lakefs: {
        getRepository: async () => ({ id: "repo", storage_namespace: "s3://ns/repo" }),
        getBranch: async () => {
          if (failBranchReads > 0) {
            failBranchReads--;
            throw new Error("lakeFS is down");
          }
          return { id: "main", commit_id: "c3" };
        },
      },
      workflows,
      exportStateMachineArn: "arn:aws:states:us-east-1:0:stateMachine:export",
      now: () => new Date("2026-01-01T00:00:00Z"),
    } as unknown as StartExportDeps;
    return {
      deps,
      workflows,
      state: () => current,
      failNextBranchReads: (n: number) => {
        failBranchReads = n;
      },
    };
  }
  const running: ExportState = {
    state: "in-progress",
    commitId: "c1",
    lastExportedCommit: "c0",
    exportId: input.exportId,
    updatedAt: "",
    repaired: false,
    attempt: 1,
    version: 3,
    mode: "incremental",
    configVersion: 1,
  };
  const ended = (status: string, more: Record<string, unknown> = {}) => ({
    detail: {
      executionArn: "arn:x",
      name: input.exportId,
      status,
      input: JSON.stringify(input),
      ...more,
    },
  });

  it("records a failed export with the ExportFailed state's reason, or the execution's error", async () => {
    const f = fakeDeps(running);
    const out = await handleExecutionStatusChange(
      f.deps,
      ended("FAILED", {
        error: "ExportFailed",
        cause: "3 operations failed (first: a: AccessDenied)",
      }),
    );
    expect(out).toMatchObject({ action: "recorded", outcome: "failed", result: { applied: true } });
    expect(f.state()).toMatchObject({
      state: "export-failed",
      errorMessage: "3 operations failed (first: a: AccessDenied)",
      unreconciled: [{ exportId: input.exportId }],
    });
    const t = fakeDeps(running);
    await handleExecutionStatusChange(t.deps, ended("TIMED_OUT", { error: null, cause: null }));
    expect(t.state()).toMatchObject({
      state: "export-failed",
      errorMessage: "export execution TIMED_OUT",
    });
    const c = fakeDeps(running);
    await handleExecutionStatusChange(
      c.deps,
      ended("FAILED", { error: "Lambda.Unknown", cause: "crashed" }),
    );
    expect(c.state()?.errorMessage).toBe("export execution FAILED: Lambda.Unknown: crashed");
  });

  it("records a success only once the execution has ended, then starts the follow-up asked for meanwhile", async () => {
    // The head (c3) is the exported commit: nothing follows.
    const atHead = { ...running, commitId: "c3" };
    const quiet = fakeDeps(atHead);
    const quietEnd = {
      ...ended("SUCCEEDED"),
      detail: { ...ended("SUCCEEDED").detail, input: JSON.stringify({ ...input, commitId: "c3" }) },
    };
    expect(await handleExecutionStatusChange(quiet.deps, quietEnd)).toMatchObject({
      action: "recorded",
      outcome: "succeeded",
      result: { applied: true, followUp: null },
    });
    expect(quiet.state()).toMatchObject({
      state: "exported-successfully",
      lastExportedCommit: "c3",
    });
    expect(quiet.workflows.started).toHaveLength(0);

    // No start queued a head, but the continuous branch's head moved meanwhile (an event lost,
    // a hard reset): the newest head is exported at once.
    const moved = fakeDeps(running);
    expect(await handleExecutionStatusChange(moved.deps, ended("SUCCEEDED"))).toMatchObject({
      result: { applied: true, followUp: { status: "started", fromCommit: "c1", commitId: "c3" } },
    });
    expect(moved.workflows.started).toHaveLength(1);
    expect(moved.state()).toMatchObject({ state: "in-progress", commitId: "c3" });

    const asked = fakeDeps({ ...running, pendingHead: "c2" });
    const out = await handleExecutionStatusChange(asked.deps, ended("SUCCEEDED"));
    expect(out).toMatchObject({
      result: { applied: true, followUp: { status: "started", fromCommit: "c1", commitId: "c3" } },
    });
    expect(asked.workflows.started).toHaveLength(1);
    expect(asked.state()).toMatchObject({ state: "in-progress", commitId: "c3" });
    expect(asked.state()?.pendingHead).toBeUndefined();
  });

  it("a repeated delivery starts a follow-up the first one could not start, and only once", async () => {
    const f = fakeDeps({ ...running, pendingHead: "c2" });
    f.failNextBranchReads(1);
    await expect(handleExecutionStatusChange(f.deps, ended("SUCCEEDED"))).rejects.toThrow(
      /lakeFS is down/,
    );
    expect(f.state()).toMatchObject({ state: "exported-successfully", pendingHead: "c2" });
    expect(await handleExecutionStatusChange(f.deps, ended("SUCCEEDED"))).toMatchObject({
      result: { applied: false, followUp: { status: "started", commitId: "c3" } },
    });
    expect(await handleExecutionStatusChange(f.deps, ended("SUCCEEDED"))).toMatchObject({
      result: { applied: false },
    });
    expect(f.workflows.started).toHaveLength(1);
  });

  it("ignores executions that are not exports, and other exports' ends", async () => {
    const f = fakeDeps(running);
    const out = await handleExecutionStatusChange(f.deps, {
      detail: { executionArn: "a", name: "gc-run", status: "FAILED", input: '{"runId":"x"}' },
    });
    expect(out.action).toBe("ignored");
    const other = await handleExecutionStatusChange(f.deps, {
      detail: {
        ...ended("SUCCEEDED").detail,
        name: "repo-main-other-9-y",
        input: JSON.stringify({ ...input, exportId: "repo-main-other-9-y" }),
      },
    });
    expect(other).toMatchObject({ action: "recorded", result: { applied: false } });
    expect(f.state()).toEqual(running);
  });
});
