// A copy batch whose Lambda call failed on Step Functions' side (a dropped connection) may still
// run: the markers step finds its shard without a result and holds back the markers of the
// shard's selected directories. If that attempt then reports cleanly before the status step
// reads the results, nothing failed by the results, yet a selected directory with an exported
// object has no marker: the status step wrote exported-successfully over it. It now fails the
// export (the repair writes the markers).
import { expect, it } from "vitest";
import { runCopyStep } from "../../lambdas/export/app/copy-step";
import { runMarkersStep } from "../../lambdas/export/app/markers-step";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import { fullExportState, gate, mapS3, statusDepsOf } from "../support/export-steps";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-c1-1";
const keys = exportWorkKeys(exportId);

it("markers held back for a shard that reported cleanly after the markers step: not a success", async () => {
  const store = new MemoryExportStore();
  const out = new Map<string, string>();
  const copy = {
    op: "copy",
    path: "d/a.csv",
    sourceAddress: "s3://lake-ns/data/a",
    destKey: "exp/d/a.csv",
    etag: "e",
    size: 1,
  };
  await store.put("work", keys.taskShard(0), `${JSON.stringify(copy)}\n`);
  const BatchInput = { exportId, exportPath: "s3://out/exp", lastKeysInPrefixRegexp: ["^d/$"] };
  const copies = gate();
  // The batch's attempt runs on, its copy held; Step Functions has given up on it.
  const late = runCopyStep(
    { store, s3: mapS3(out, { copy: copies.held }), workBucket: "work" },
    { Items: [{ shard: 0 }], BatchInput },
  );
  await new Promise((r) => setTimeout(r, 20));
  const state = fullExportState({
    exportId,
    regexps: ["^d/$"],
    counts: { copies: 1, deletes: 0, copyBytes: 1, shards: 1 },
    lastPath: "d/a.csv",
  });
  state.markers = await runMarkersStep(
    { store, s3: mapS3(out), lakefs: {} as never, workBucket: "work" },
    state,
  );
  expect(state.markers).toMatchObject({ markers: 0, failed: 0, withheld: 1 });
  copies.release();
  await late;
  const status = await runStatusStep(statusDepsOf(store), state);
  expect(out.has("exp/d/a.csv")).toBe(true);
  expect(out.has("exp/d/_lakefs_success")).toBe(false);
  expect(status.status).toBe("export-failed");
  expect(status.errorMessage).toMatch(/success markers of 1 directories were held back/);
  expect(await store.getText("status", "st/repo-main-c1")).toMatch(/^status: export-failed,/);
});
