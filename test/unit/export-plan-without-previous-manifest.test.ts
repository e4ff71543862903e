// An incremental export merges its manifest with the previous export's. Without a mergeable
// one (the previous commit's status files deleted or expired, or an index of another export
// path) the status step would list the whole commit in one Lambda of 15 minutes, too long for
// a branch of tens of millions of objects. The plan then plans the export as full-compare: it
// lists the commit against the export path (resumable), and manifest groups write the manifest
// beside the copies.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { plannedModeOf, runPlanStep } from "../../lambdas/export/app/plan-step";
import { previousManifestOf } from "../../lambdas/export/app/previous-manifest";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import { mergeableManifestIndex } from "../../lambdas/export/domain/manifest";
import { statusKeys } from "../../lambdas/export/domain/status";
import { type ExportTask, parseTaskShard } from "../../lambdas/export/domain/tasks";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import type { ExportWorkflowInput } from "../../lambdas/export/domain/workflow-input";
import type { ExportWorkflowState } from "../../lambdas/export/domain/workflow-state";
import type { ObjectStats } from "../../lambdas/shared/lakefs/types";
import { blankCommit } from "../support/blank-commit";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-c2-1";
const md5 = (s: string) => createHash("md5").update(s).digest("hex");
const input: ExportWorkflowInput = {
  repository: "repo",
  branch: "main",
  exportPath: "s3://out/exp",
  exportStatusPath: "s3://out/status",
  lastKeysInPrefixRegexp: [],
  repaired: false,
  commitId: "c2",
  fromCommit: "c1",
  mode: "incremental",
  configVersion: 1,
  exportId,
};
const state = (plan?: ExportWorkflowState["plan"]): ExportWorkflowState => ({
  ...input,
  ...(plan ? { plan } : {}),
});
const previousIndexKey = statusKeys("status", "repo", "main", "c1").manifestIndex;
const index = (exportPath: string) =>
  JSON.stringify({
    version: 4,
    bucket: "out",
    exportPath,
    repository: "repo",
    branch: "main",
    commitId: "c1",
    format: "jsonl",
    entries: 0,
    totalSize: 0,
    parts: [],
  });

/** Commit c2 holds a (unchanged since c1: same bytes as exported), b (changed) and c (new). */
const commit: ObjectStats[] = [
  {
    path: "a",
    path_type: "object",
    physical_address: "s3://ns-bucket/a",
    checksum: md5("a1"),
    size_bytes: 2,
    mtime: 0,
  },
  {
    path: "b",
    path_type: "object",
    physical_address: "s3://ns-bucket/b2",
    checksum: md5("b2"),
    size_bytes: 2,
    mtime: 0,
  },
  {
    path: "c",
    path_type: "object",
    physical_address: "s3://ns-bucket/c",
    checksum: md5("c1"),
    size_bytes: 2,
    mtime: 0,
  },
];

/** lakeFS answering listings of c2 one object a page; a diff call is a test failure. */
function lakefs() {
  const calls: string[] = [];
  return {
    calls,
    api: {
      async *listObjects(_repo: string, ref: string, opts: { after?: string } = {}) {
        calls.push(`list ${ref} after ${opts.after ?? ""}`);
        const rest = commit.filter((o) => opts.after === undefined || o.path > opts.after);
        for (const [i, o] of rest.entries()) {
          yield {
            results: [o],
            pagination: {
              has_more: i < rest.length - 1,
              next_offset: o.path,
              results: 1,
              max_per_page: 1,
            },
          };
        }
      },
      diffRefs() {
        calls.push("diff");
        throw new Error("an incremental plan was not expected");
      },
    },
  };
}

/** The export path as c1's export left it (a, b), plus `x` written there from outside. */
async function exportedStore(): Promise<MemoryExportStore> {
  const store = new MemoryExportStore();
  await store.put("out", "exp/a", "a1");
  await store.put("out", "exp/b", "b1");
  await store.put("out", "exp/x", "x");
  return store;
}

async function tasksOf(store: MemoryExportStore, shards: number): Promise<ExportTask[]> {
  const out: ExportTask[] = [];
  for (let i = 0; i < shards; i++) {
    const body = await store.getText("work", exportWorkKeys(exportId).taskShard(i));
    out.push(...parseTaskShard(body ?? ""));
  }
  return out;
}

describe("an incremental export without a mergeable previous manifest", () => {
  it("is merged only with an index of the same export path", () => {
    expect(mergeableManifestIndex(index("s3://out/exp"), "s3://out/exp/")).toBeDefined();
    expect(mergeableManifestIndex(index("s3://out/other"), "s3://out/exp")).toBeUndefined();
    expect(mergeableManifestIndex(undefined, "s3://out/exp")).toBeUndefined();
    expect(mergeableManifestIndex("{not json", "s3://out/exp")).toBeUndefined();
    expect(mergeableManifestIndex(JSON.stringify({ parts: [] }), "s3://out/exp")).toBeUndefined();
    expect(
      mergeableManifestIndex(JSON.stringify({ exportPath: "s3://out/exp" }), "s3://out/exp"),
    ).toBeUndefined();
  });

  it("is not mergeable when a part or a CSV file the index lists is gone", async () => {
    const store = new MemoryExportStore();
    const part = (commitId: string, id: string) => ({
      key: `status/repo-main-${commitId}.manifest/part-${id}.jsonl`,
      entries: 1,
      bytes: 1,
      csv: { key: `status/repo-main-${commitId}.manifest/part-${id}.csv.gz`, size: 1, md5: "0" },
    });
    // Parts written by two commits' exports (c0's reused by reference, c1's rewritten).
    const parts = [part("c0", "p1"), part("c1", "p2"), part("c0", "p3")];
    await store.put(
      "out",
      previousIndexKey,
      JSON.stringify({ ...JSON.parse(index("s3://out/exp")), parts }),
    );
    for (const p of parts) {
      await store.put("out", p.key, "{}\n");
      await store.put("out", p.csv.key, "x");
    }
    const previous = () =>
      previousManifestOf(store, "out", previousIndexKey, "s3://out/exp").then((p) =>
        p.mergeable ? "mergeable" : p.reason,
      );
    expect(await previous()).toBe("mergeable");
    expect(await plannedModeOf({ store }, input)).toBe("incremental");
    store.objects.delete(`out/${parts[2]!.csv.key}`);
    expect(await previous()).toBe(`${parts[2]!.csv.key} is missing`);
    expect(await plannedModeOf({ store }, input)).toBe("full-compare");
    await store.put("out", parts[2]!.csv.key, "x");
    store.objects.delete(`out/${parts[1]!.key}`);
    expect(await previous()).toBe(`${parts[1]!.key} is missing`);
    expect(await plannedModeOf({ store }, input)).toBe("full-compare");
  });

  it("is planned as full-compare; with the previous index there, it stays incremental", async () => {
    const store = new MemoryExportStore();
    expect(await plannedModeOf({ store }, input)).toBe("full-compare");
    await store.put("out", previousIndexKey, index("s3://out/other"));
    expect(await plannedModeOf({ store }, input)).toBe("full-compare");
    await store.put("out", previousIndexKey, "garbage");
    expect(await plannedModeOf({ store }, input)).toBe("full-compare");
    await store.put("out", previousIndexKey, index("s3://out/exp"));
    expect(await plannedModeOf({ store }, input)).toBe("incremental");
    // No status path: no manifest to merge, nothing to read.
    const { exportStatusPath: _, ...withoutStatus } = input;
    const bare = new MemoryExportStore();
    expect(await plannedModeOf({ store: bare }, withoutStatus)).toBe("incremental");
    expect(bare.reads).toEqual([]);
    // Full exports are planned as asked.
    expect(await plannedModeOf({ store: bare }, { ...input, mode: "full-copy" })).toBe("full-copy");
  });

  it("plans the commit against the export path: copies what differs, deletes what is extra, writes manifest groups", async () => {
    const store = await exportedStore();
    const lf = lakefs();
    const out = await runPlanStep({ store, lakefs: lf.api as never, workBucket: "work" }, state(), {
      limits: { maxTasksPerShard: 2 },
    });
    expect(out).toMatchObject({ done: true, mode: "full-compare", manifestGroups: 1 });
    expect(lf.calls).not.toContain("diff");
    const tasks = await tasksOf(store, out.counts.shards);
    expect(tasks.map((t) => `${t.op} ${t.path}`)).toEqual([
      "keep a",
      "copy b",
      "copy c",
      "delete x",
    ]);
    // The status document says how the export was planned.
    for (let i = 0; i < out.counts.shards; i++) {
      const result = { version: 1, shard: i, copied: 0, deleted: 0, copiedBytes: 0, failed: [] };
      await store.put("work", exportWorkKeys(exportId).shardResult(i), JSON.stringify(result));
    }
    const status = await runStatusStep(
      {
        store,
        lakefs: {
          getCommit: blankCommit,
        } as never,
        workBucket: "work",
        now: () => new Date(0),
      },
      {
        ...state(out),
        markers: { markers: 0, removed: 0, withheld: 0, failed: 0, errorSamples: [] },
      },
    );
    expect(status.status).toBe("exported-successfully");
    const doc = await store.getText(
      "out",
      statusKeys("status", "repo", "main", "c2").statusDocument,
    );
    expect(JSON.parse(doc ?? "{}").mode).toBe("full-compare");
  });

  it("a resumed plan keeps the mode its first call chose", async () => {
    const store = await exportedStore();
    const lf = lakefs();
    let writes = 0;
    const first = await runPlanStep(
      { store, lakefs: lf.api as never, workBucket: "work" },
      state(),
      {
        limits: { maxTasksPerShard: 1 },
        shouldContinue: () => ++writes < 2,
      },
    );
    expect(first).toMatchObject({ done: false, mode: "full-compare" });
    // The previous index appears meanwhile: the plan goes on as it began.
    await store.put("out", previousIndexKey, index("s3://out/exp"));
    const rest = await runPlanStep(
      { store, lakefs: lf.api as never, workBucket: "work" },
      state(first),
    );
    expect(rest).toMatchObject({ done: true, mode: "full-compare" });
    expect(lf.calls).not.toContain("diff");
    const tasks = await tasksOf(store, rest.counts.shards);
    expect(tasks.map((t) => `${t.op} ${t.path}`)).toEqual([
      "keep a",
      "copy b",
      "copy c",
      "delete x",
    ]);
  });
});
