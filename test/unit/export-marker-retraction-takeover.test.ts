// A plan call replanned by a second attempt (Step Functions retries it after a Lambda service
// error: the first attempt's answer was lost, and it had ended, releasing the call, or passed
// its deadline) writes its plan result again from the call's first shard. The first attempt
// may have retracted the markers of more shards than the second gets to before it fails in
// turn: the plan result must still count them, or the next export, reading the failed one's
// touched paths from the shards that result counts, never writes those markers again, and its
// success line stands over selected directories without a marker.
import { expect, it } from "vitest";
import { runPlanStep } from "../../lambdas/export/app/plan-step";
import { TouchedPathsOfExports } from "../../lambdas/export/app/touched-paths";
import type { ExportWorkflowState } from "../../lambdas/export/domain/workflow-state";
import type { Diff } from "../../lambdas/shared/lakefs/types";
import {
  retractionPaths,
  retractionState,
  s3RefusingZ,
  statsOf,
} from "../support/marker-retraction-world";
import { MemoryExportStore } from "../support/memory-export-store";

const { dirs, paths } = retractionPaths(3000);

/** lakeFS: the diff c0 -> c1 changes every path, 1 000 a page; the pages from `failAfterPages` fail. */
function lakeFsOf(failAfterPages = Number.POSITIVE_INFINITY) {
  return {
    async *diffRefs(_r: string, _f: string, _t: string, o: { after?: string; amount?: number }) {
      const rest = paths.filter((p) => o.after === undefined || p > o.after);
      const amount = o.amount ?? 1000;
      for (let page = 0; page * amount < rest.length; page++) {
        if (page >= failAfterPages) throw new Error("lakeFS: 503 Service Unavailable");
        const results: Diff[] = rest
          .slice(page * amount, (page + 1) * amount)
          .map((path) => ({ type: "changed", path, path_type: "object" }));
        const has_more = (page + 1) * amount < rest.length;
        yield { results, pagination: { has_more, next_offset: "", results: results.length } };
      }
    },
    async statObject(_r: string, _ref: string, path: string) {
      return statsOf(path);
    },
    async listObjectsPage(_r: string, _ref: string, o: { after?: string; amount?: number } = {}) {
      const results = paths
        .filter((p) => o.after === undefined || p > o.after)
        .slice(0, o.amount ?? 1000)
        .map(statsOf);
      return { results, pagination: { has_more: true, next_offset: "", results: results.length } };
    },
    async *listObjects() {},
  };
}

/** The export path with every directory's object and marker, and one plan call's attempts. */
function world() {
  const store = new MemoryExportStore();
  const out = new Map<string, string>();
  for (const d of [...dirs, "z/"]) {
    out.set(`exp/${d}x`, "c0");
    out.set(`exp/${d}_lakefs_success`, "");
  }
  const step = (
    lakefs: unknown,
    attempt: string,
    o: { at?: ExportWorkflowState; firstSegmentShards?: number } = {},
  ) =>
    runPlanStep(
      { store, lakefs: lakefs as never, workBucket: "work", s3: s3RefusingZ(out) },
      o.at ?? retractionState,
      {
        attempt,
        limits: { maxTasksPerShard: 100 },
        firstSegmentShards: o.firstSegmentShards ?? 1000,
      },
    );
  /** Directories retracted whose paths the next export would not read back as touched. */
  const lost = async () => {
    const touched = new Set<string>();
    for await (const p of new TouchedPathsOfExports(store, "work", [
      retractionState.exportId,
    ]).paths(undefined)) {
      touched.add(p);
    }
    const gone = dirs.filter((d) => !out.has(`exp/${d}_lakefs_success`));
    return gone.filter((d) => !touched.has(`${d}x`)).length;
  };
  return { out, step, lost };
}

it("a plan call replanned by a second attempt that fails sooner still counts the shards the first retracted", async () => {
  const w = world();
  // The first attempt retracts the markers of d0000/ to d2999/, then z/'s is refused: it ends,
  // releasing the call (its answer lost, Step Functions sends the call again).
  await expect(w.step(lakeFsOf(), "first")).rejects.toThrow(/AccessDenied: retracting/);
  expect(dirs.filter((d) => w.out.has(`exp/${d}_lakefs_success`))).toEqual([]);
  // The second plans the call again and fails at its fourth diff page (lakeFS answering 503),
  // having written the first ten shards again and retracted their markers.
  await expect(w.step(lakeFsOf(3), "second")).rejects.toThrow(/503/);
  // The next export reads back what this one touched: every retracted directory must be there.
  expect(await w.lost()).toBe(0);
});

it("so does one that stops sooner (its own deadline) when the next call fails", async () => {
  const w = world();
  await expect(w.step(lakeFsOf(), "first")).rejects.toThrow(/AccessDenied: retracting/);
  // The second attempt stops after 15 shards; the call after it fails at once (lakeFS 503).
  const second = await w.step(lakeFsOf(), "second", { firstSegmentShards: 15 });
  expect({ done: second.done, shards: second.counts.shards }).toEqual({ done: false, shards: 15 });
  const next = { ...retractionState, plan: second };
  await expect(w.step(lakeFsOf(0), "third", { at: next })).rejects.toThrow(/503/);
  expect(await w.lost()).toBe(0);
});
