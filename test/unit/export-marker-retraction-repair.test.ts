// A plan call that fails after retracting markers (a later retraction refused, a work-bucket
// write failing, the Lambda's end) leaves its export failed with those markers gone. The next
// export finds the paths a failed export touched in the shards its plan result counts
// (touched-paths.ts), so every shard whose markers were retracted must be counted there before
// its markers go; else the next export, whose diff need not name them (a revert), never writes
// them again and its success line stands over selected directories without a marker.
import { expect, it } from "vitest";
import { runPlanStep } from "../../lambdas/export/app/plan-step";
import { TouchedPathsOfExports } from "../../lambdas/export/app/touched-paths";
import type { Diff } from "../../lambdas/shared/lakefs/types";
import {
  retractionPaths,
  retractionState,
  s3RefusingZ,
  statsOf,
} from "../support/marker-retraction-world";
import { MemoryExportStore } from "../support/memory-export-store";

const { dirs, paths } = retractionPaths(1001);

/** lakeFS: the diff c0 -> c1 changes every path; c1's objects are stat'ed. */
const lakefs = {
  async *diffRefs(_r: string, _from: string, _to: string, o: { after?: string } = {}) {
    const rest = paths.filter((p) => o.after === undefined || p > o.after);
    const results: Diff[] = rest.map((path) => ({ type: "changed", path, path_type: "object" }));
    yield { results, pagination: { has_more: false, next_offset: "", results: results.length } };
  },
  async statObject(_r: string, _ref: string, path: string) {
    return statsOf(path);
  },
  async listObjectsPage(_r: string, _ref: string, o: { after?: string } = {}) {
    const results = paths.filter((p) => o.after === undefined || p > o.after).map(statsOf);
    return { results, pagination: { has_more: false, next_offset: "", results: results.length } };
  },
  async *listObjects() {},
};

it("a plan call failing after retracting markers leaves their paths for the next export to touch", async () => {
  const store = new MemoryExportStore();
  const out = new Map<string, string>();
  for (const d of [...dirs, "z/"]) {
    out.set(`exp/${d}x`, "c0");
    out.set(`exp/${d}_lakefs_success`, "");
  }
  await expect(
    runPlanStep(
      { store, lakefs: lakefs as never, workBucket: "work", s3: s3RefusingZ(out) },
      retractionState,
    ),
  ).rejects.toThrow(/AccessDenied: retracting the success marker s3:\/\/out\/exp\/z\//);
  // The first 1 000 markers went before z/'s delete was refused.
  const retracted = dirs.filter((d) => !out.has(`exp/${d}_lakefs_success`));
  expect(retracted.length).toBeGreaterThan(0);
  // The next export reads back what this one touched: every retracted directory is among it,
  // so its markers step writes them again.
  const touched = new Set<string>();
  for await (const p of new TouchedPathsOfExports(store, "work", [retractionState.exportId]).paths(
    undefined,
  )) {
    touched.add(p);
  }
  expect(retracted.filter((d) => !touched.has(`${d}x`)).slice(0, 3)).toEqual([]);
});
