// A status step attempt that runs on after Step Functions retried it (a Lambda service error)
// and the retry ended the export: by the time it writes, a newer export of the same commit (a
// configuration change, `export run`) may own the commit's status files. It checks again that
// its export is the branch's latest before it overwrites them, and writes none if not.
import { expect, it } from "vitest";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import { statusKeys } from "../../lambdas/export/domain/status";
import { type ExportTask, encodeTask } from "../../lambdas/export/domain/tasks";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import type { ExportWorkflowState } from "../../lambdas/export/domain/workflow-state";
import { blankCommit } from "../support/blank-commit";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-c1-1";
const keys = statusKeys("status", "repo", "main", "c1");
const task: ExportTask = {
  op: "copy",
  path: "a",
  sourceAddress: "s3://ns-bucket/data/a",
  destKey: "exp/a",
  etag: "ea",
  size: 1,
};
const counts = { copies: 1, deletes: 0, copyBytes: 1, shards: 1 };
const state = (extra: Partial<ExportWorkflowState> = {}): ExportWorkflowState => ({
  repository: "repo",
  branch: "main",
  exportPath: "s3://out/exp",
  exportStatusPath: "s3://out/status",
  lastKeysInPrefixRegexp: [],
  repaired: false,
  commitId: "c1",
  fromCommit: null,
  mode: "full-copy",
  exportId,
  plan: { done: true, cursor: { afterPath: "", counts }, counts },
  markers: { markers: 0, removed: 0, withheld: 0, failed: 0, errorSamples: [] },
  ...extra,
});

async function storeWithShard(): Promise<MemoryExportStore> {
  const store = new MemoryExportStore();
  const work = exportWorkKeys(exportId);
  await store.put("work", work.taskShard(0), `${encodeTask(task)}\n`);
  const result = { version: 1, shard: 0, copied: 1, deleted: 0, copiedBytes: 1, failed: [] };
  await store.put("work", work.shardResult(0), JSON.stringify(result));
  return store;
}

/** The branch's latest export, as read by each successive getState. */
function exportsSaying(...latest: string[]) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    getState: async () => {
      const id = latest[Math.min(calls++, latest.length - 1)]!;
      return { exportId: id, state: "in-progress" } as never;
    },
  };
}

const deps = (store: MemoryExportStore, exports: ReturnType<typeof exportsSaying>) => ({
  store,
  exports,
  lakefs: {
    getCommit: blankCommit,
  } as never,
  workBucket: "work",
  now: () => new Date("2026-01-01T00:00:00Z"),
});

const written = async (store: MemoryExportStore) => ({
  line: await store.getText("out", keys.statusLine),
  doc: await store.getText("out", keys.statusDocument),
  index: await store.getText("out", keys.manifestIndex),
  batch: await store.getText("out", keys.batchOperationsManifest),
});

it("writes the status files while its export is the branch's latest (checked twice)", async () => {
  const store = await storeWithShard();
  const exports = exportsSaying(exportId);
  const out = await runStatusStep(deps(store, exports), state());
  expect(out.status).toBe("exported-successfully");
  const files = await written(store);
  expect(files.line).toBe("status: exported-successfully, signalled_errors: 0\n");
  expect(files.doc && files.index && files.batch).toBeTruthy();
  expect(exports.calls).toBe(2);
});

it("writes no status file over a newer export of the same commit that started meanwhile", async () => {
  const store = await storeWithShard();
  const out = await runStatusStep(deps(store, exportsSaying(exportId, "repo-main-c1-2")), state());
  // Its answer goes nowhere (the retried attempt ended the execution); nothing is overwritten.
  expect(out.status).toBe("exported-successfully");
  expect(await written(store)).toEqual({
    line: undefined,
    doc: undefined,
    index: undefined,
    batch: undefined,
  });
});

it("nor does a failed run's attempt", async () => {
  const store = await storeWithShard();
  const failed = state({ error: { Error: "States.TaskFailed", Cause: "copy map failed" } });
  await runStatusStep(deps(store, exportsSaying(exportId, "repo-main-c1-2")), failed);
  expect(await written(store)).toEqual({
    line: undefined,
    doc: undefined,
    index: undefined,
    batch: undefined,
  });
  // The same run, still the latest: its failure is written.
  await runStatusStep(deps(store, exportsSaying(exportId)), failed);
  expect((await written(store)).line).toMatch(/^status: export-failed/);
});

it("a run already obsolete when it starts (a redrive) still writes its failure, as before", async () => {
  const store = await storeWithShard();
  const out = await runStatusStep(deps(store, exportsSaying("repo-main-c9-3")), state());
  expect(out.status).toBe("export-failed");
  expect((await written(store)).line).toMatch(/^status: export-failed/);
});
