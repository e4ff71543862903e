// Export workflow steps and the execution-ended handler with fakes at their ports (no AWS, no
// lakeFS server): plan shards and index in an in-memory store, resumption, outcomes, watchdog.
import { describe, expect, it } from "vitest";
import type { StartExportDeps } from "../../lambdas/export/start/start-export";
import type { ExportState } from "../../lambdas/export/state/types";
import { outcomeOf, runFinishStep } from "../../lambdas/export/workflow/finish-step";
import { runPlanStep, shardIndexKey } from "../../lambdas/export/workflow/plan-step";
import {
  type ExportWorkflowState,
  reasonOfCaughtError,
  workflowInputOf,
} from "../../lambdas/export/workflow/state";
import { handleExecutionStatusChange } from "../../lambdas/export/workflow/watchdog";
import { FakeWorkflowStarter } from "../../local/api/fakes";
import { MemoryExportStore as MemoryStore } from "../support/memory-export-store";

const input = {
  repository: "repo",
  branch: "main",
  exportId: "repo-main-abc-1-x",
  fromCommit: null,
  toCommit: "c1",
  exportPath: "s3://out/exp",
  lastKeysInPrefixRegexp: [],
  repaired: false,
};

function listingLakeFs(n: number) {
  const objects = Array.from({ length: n }, (_, i) => ({
    path: `p/${String(i).padStart(4, "0")}`,
    path_type: "object" as const,
    physical_address: `s3://ns-bucket/data/${i}`,
    checksum: `etag${i}`,
    size_bytes: 1,
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

describe("plan step", () => {
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
    const second = await runPlanStep(
      deps,
      { ...input, plan: first },
      { limits: { maxTasksPerShard: 100 } },
    );
    expect(second).toMatchObject({ done: true, counts: { shards: 3, copies: 250 } });
    const index = store.objects.get(`work/${second.indexKey}`)!;
    expect(
      index
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([{ shard: 0 }, { shard: 1 }, { shard: 2 }]);
    const shard2 = store.objects.get(`work/exports/${input.exportId}/tasks/shard-000002.jsonl`)!;
    expect(shard2.trim().split("\n")).toHaveLength(50);
    expect(JSON.parse(shard2.split("\n")[0]!)).toMatchObject({
      op: "copy",
      path: "p/0200",
      destKey: "exp/p/0200",
      sourceAddress: "s3://ns-bucket/data/200",
    });
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

  it("completes the export conditionally and reports whether a follow-up is wanted", async () => {
    const calls: unknown[] = [];
    const out = await runFinishStep(
      {
        exports: {
          completeExport: async (i) => {
            calls.push(i);
            return { applied: true, state: {} as ExportState, followUp: true };
          },
        },
        now: () => new Date(0),
      },
      { ...input, status: { status: "exported-successfully", signalledErrors: 0 } },
    );
    expect(out).toEqual({ applied: true, outcome: "succeeded", followUp: true });
    expect(calls).toEqual([
      {
        repository: "repo",
        branch: "main",
        exportId: input.exportId,
        currentRef: "c1",
        outcome: { status: "succeeded" },
      },
    ]);
  });
});

describe("execution-ended handler", () => {
  function fakeDeps(state: ExportState) {
    const completed: unknown[] = [];
    let current = state;
    const workflows = new FakeWorkflowStarter();
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
        compareAndSetState: async (_r: string, _b: string, _v: number, next: ExportState) => {
          current = next;
          return true;
        },
        recordExecution: async () => undefined,
        completeExport: async (i: unknown) => {
          completed.push(i);
          return { applied: false, reason: "test" };
        },
      },
      lakefs: {
        getRepository: async () => ({ id: "repo", storage_namespace: "s3://ns/repo" }),
        getBranch: async () => ({ id: "main", commit_id: "c3" }),
      },
      workflows,
      exportStateMachineArn: "arn:aws:states:us-east-1:0:stateMachine:export",
      now: () => new Date(0),
    } as unknown as StartExportDeps;
    return { deps, completed, workflows };
  }
  const done: ExportState = {
    state: "exported-successfully",
    currentRef: "c1",
    lastExportedCommit: "c1",
    exportId: input.exportId,
    updatedAt: "",
    repaired: false,
    attempt: 1,
    version: 3,
  };

  it("marks a failed, timed out or aborted execution's export failed, with the reason", async () => {
    const { deps, completed } = fakeDeps({ ...done, state: "in-progress" });
    const out = await handleExecutionStatusChange(deps, {
      detail: {
        executionArn: "arn:x",
        name: input.exportId,
        status: "TIMED_OUT",
        input: JSON.stringify(input),
        error: null,
        cause: null,
      },
    });
    expect(out.action).toBe("checked");
    expect(completed).toEqual([
      expect.objectContaining({
        exportId: input.exportId,
        currentRef: "c1",
        outcome: { status: "failed", errorMessage: "export execution TIMED_OUT" },
      }),
    ]);
  });

  it("starts the follow-up from the newest head only after a succeeded execution asking for it", async () => {
    const { deps, workflows } = fakeDeps(done);
    const ended = (followUp: boolean) => ({
      detail: {
        executionArn: "arn:x",
        name: input.exportId,
        status: "SUCCEEDED",
        input: JSON.stringify(input),
        output: JSON.stringify({ ...input, finish: { applied: true, followUp } }),
      },
    });
    expect(await handleExecutionStatusChange(deps, ended(false))).toMatchObject({
      action: "ignored",
    });
    expect(workflows.started).toHaveLength(0);
    const out = await handleExecutionStatusChange(deps, ended(true));
    expect(out).toMatchObject({
      action: "follow-up",
      result: { status: "started", fromCommit: "c1", toCommit: "c3" },
    });
    expect(workflows.started).toHaveLength(1);
  });

  it("ignores executions that are not exports", async () => {
    const { deps, completed } = fakeDeps(done);
    const out = await handleExecutionStatusChange(deps, {
      detail: { executionArn: "a", name: "gc-run", status: "FAILED", input: '{"runId":"x"}' },
    });
    expect(out.action).toBe("ignored");
    expect(completed).toHaveLength(0);
  });
});
