// A full export plans a delete for every key of the export path the commit lacks, the success
// markers included; the markers step then writes the markers of the selected directories again.
// A copy attempt that Step Functions retried (a dropped connection) may still run after that
// step and the success line: its delete of a selected directory's marker removed the marker
// the line vouched for. Such deletes are now the markers step's alone.
import { expect, it } from "vitest";
import { runCopyStep } from "../../lambdas/export/app/copy-step";
import { runMarkersStep } from "../../lambdas/export/app/markers-step";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import { fullExportState, gate, mapS3, statusDepsOf } from "../support/export-steps";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-c1-1";
const keys = exportWorkKeys(exportId);

it("a late copy attempt leaves a selected directory's marker alone; the status line holds", async () => {
  const store = new MemoryExportStore();
  const out = new Map<string, string>([
    ["exp/d/_lakefs_success", ""],
    ["exp/e/_lakefs_success", ""],
    ["exp/old.csv", "x"],
  ]);
  // In path order (bytes): "_" sorts before "a".
  const tasks = [
    { op: "delete", path: "d/_lakefs_success", destKey: "exp/d/_lakefs_success" },
    {
      op: "copy",
      path: "d/a.csv",
      sourceAddress: "s3://lake-ns/data/a",
      destKey: "exp/d/a.csv",
      etag: "e",
      size: 1,
    },
    // e/ is selected but the commit has nothing there: its stale marker must still go.
    { op: "delete", path: "e/_lakefs_success", destKey: "exp/e/_lakefs_success" },
    { op: "delete", path: "old.csv", destKey: "exp/old.csv" },
  ];
  await store.put("work", keys.taskShard(0), `${tasks.map((t) => JSON.stringify(t)).join("\n")}\n`);
  const BatchInput = {
    exportId,
    exportPath: "s3://out/exp",
    lastKeysInPrefixRegexp: ["^[de]/$"],
  };
  const deletes = gate();
  // The first attempt: its deletes held; Step Functions retried the batch meanwhile.
  const late = runCopyStep(
    { store, s3: mapS3(out, { delete: deletes.held }), workBucket: "work" },
    { Items: [{ shard: 0 }], BatchInput, retryCount: 0 },
  );
  await new Promise((r) => setTimeout(r, 20));
  await runCopyStep(
    { store, s3: mapS3(out), workBucket: "work" },
    { Items: [{ shard: 0 }], BatchInput, retryCount: 1 },
  );
  const state = fullExportState({
    exportId,
    regexps: ["^[de]/$"],
    counts: { copies: 1, deletes: 3, copyBytes: 1, shards: 1 },
    lastPath: "old.csv",
  });
  // e/ is looked up in the commit: nothing there.
  const lakefs = {
    listObjectsPage: async () => ({
      results: [],
      pagination: { has_more: false, next_offset: "", results: 0, max_per_page: 1 },
    }),
  };
  state.markers = await runMarkersStep(
    { store, s3: mapS3(out), lakefs: lakefs as never, workBucket: "work" },
    state,
  );
  state.status = await runStatusStep(statusDepsOf(store), state);
  expect(state.status.status).toBe("exported-successfully");
  deletes.release();
  await late;
  // What the line vouches for, after the late attempt ended.
  expect([...out.keys()].sort()).toEqual(["exp/d/_lakefs_success", "exp/d/a.csv"]);
});
