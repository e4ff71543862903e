// An export of a commit exported before (a configuration change, repair --full, a hard reset
// back to it) changes the export path that commit's status line promised. The plan's first
// call, before any shard reaches a copy map, removes the commit's status line and document;
// the commit's manifest index stays (an incremental export from it merges with it), and so do
// other commits' files. A resumed call removes nothing (the export's own status step may not
// have run, but nothing else writes the commit's line meanwhile).
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { runPlanStep } from "../../lambdas/export/app/plan-step";
import { statusKeys } from "../../lambdas/export/domain/status";
import type { ExportWorkflowState } from "../../lambdas/export/domain/workflow-state";
import type { ObjectStats } from "../../lambdas/shared/lakefs/types";
import { mapS3 } from "../support/export-steps";
import { MemoryExportStore } from "../support/memory-export-store";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");
const object = (path: string): ObjectStats => ({
  path,
  path_type: "object",
  physical_address: `s3://ns-bucket/${path}`,
  checksum: md5(path),
  size_bytes: path.length,
  mtime: 0,
});
const commit = [object("a/1"), object("a/2"), object("b/3")];

/** lakeFS answering listings of the commit one object a page. */
const lakefs = {
  async *listObjects(_repo: string, _ref: string, opts: { after?: string } = {}) {
    const rest = commit.filter((o) => opts.after === undefined || o.path > opts.after);
    for (const [i, o] of rest.entries()) {
      yield {
        results: [o],
        pagination: { has_more: i < rest.length - 1, next_offset: o.path, results: 1 },
      };
    }
  },
};

const state = (plan?: ExportWorkflowState["plan"]): ExportWorkflowState => ({
  repository: "repo",
  branch: "main",
  exportId: "repo-main-c1-2-x",
  exportPath: "s3://out/exp",
  exportStatusPath: "s3://out/status",
  lastKeysInPrefixRegexp: ["^a/"],
  repaired: false,
  commitId: "c1",
  fromCommit: "c1",
  mode: "full-copy",
  configVersion: 2,
  ...(plan ? { plan } : {}),
});

describe("the plan of an export of a commit that has status files", () => {
  it("removes the commit's status line and document in its first call, nothing else", async () => {
    const store = new MemoryExportStore();
    const c1 = statusKeys("status", "repo", "main", "c1");
    const c0 = statusKeys("status", "repo", "main", "c0");
    for (const k of [c1.statusLine, c1.statusDocument, c1.manifestIndex, c0.statusLine]) {
      await store.put("out", k, "earlier export");
    }
    let calls = 0;
    const first = await runPlanStep(
      { store, lakefs: lakefs as never, workBucket: "work", s3: mapS3(new Map()) },
      state(),
      {
        limits: { maxTasksPerShard: 1 },
        shouldContinue: () => ++calls < 2,
      },
    );
    expect(first.done).toBe(false);
    expect(await store.getText("out", c1.statusLine)).toBeUndefined();
    expect(await store.getText("out", c1.statusDocument)).toBeUndefined();
    expect(await store.getText("out", c1.manifestIndex)).toBe("earlier export");
    expect(await store.getText("out", c0.statusLine)).toBe("earlier export");

    // A resumed call leaves the status files alone.
    await store.put("out", c1.statusLine, "written meanwhile");
    const rest = await runPlanStep(
      { store, lakefs: lakefs as never, workBucket: "work", s3: mapS3(new Map()) },
      state(first),
    );
    expect(rest.done).toBe(true);
    expect(await store.getText("out", c1.statusLine)).toBe("written meanwhile");
  });

  it("without a status path, deletes nothing", async () => {
    const store = new MemoryExportStore();
    const { exportStatusPath: _, ...bare } = state();
    const deleted: string[] = [];
    const original = store.delete.bind(store);
    store.delete = async (b: string, k: string) => {
      deleted.push(`${b}/${k}`);
      await original(b, k);
    };
    const out = await runPlanStep(
      { store, lakefs: lakefs as never, workBucket: "work", s3: mapS3(new Map()) },
      bare as ExportWorkflowState,
    );
    expect(out.done).toBe(true);
    expect(deleted).toEqual([]);
  });
});
