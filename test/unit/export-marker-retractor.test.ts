// The plan's marker retractor on S3 retracts as a registered writer of its export: the next
// export waits for a plan call still retracting, and a plan attempt that runs after its export
// ended (its markers step may have written the markers a success line vouches for) deletes none.
import { expect, it } from "vitest";
import { MarkerRetractionError, markerRetractor } from "../../lambdas/export/app/marker-retractor";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import type { ExportWorkflowInput } from "../../lambdas/export/domain/workflow-input";
import { mapS3 } from "../support/export-steps";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-c2-1";
const keys = exportWorkKeys(exportId);
const input = {
  exportId,
  exportPath: "s3://out/exp",
  lastKeysInPrefixRegexp: [".*"],
} as ExportWorkflowInput;

const writerRecords = (store: MemoryExportStore) =>
  [...store.objects.keys()]
    .filter((k) => k.startsWith(`work/${keys.writersPrefix}`))
    .map((k) => k.replace(/^.*-(plan)-[A-Za-z0-9]+\.(started|ended)$/, "$1.$2"));

it("deletes the markers as a plan writer, recorded from before the first delete to its end", async () => {
  const store = new MemoryExportStore();
  const out = new Map([
    ["exp/a/_lakefs_success", ""],
    ["exp/a/1", "x"],
    ["exp/_lakefs_success", ""],
  ]);
  const r = markerRetractor({ store, workBucket: "work", s3: mapS3(out) }, input);
  await r!.retract(["", "a/"]);
  expect(writerRecords(store)).toEqual(["plan.started"]);
  await r!.retract(["b/"]); // one registration per plan call
  await r!.end();
  expect(writerRecords(store).sort()).toEqual(["plan.ended", "plan.started"]);
  expect([...out.keys()]).toEqual(["exp/a/1"]);
});

it("after its export ended, retracts nothing and fails", async () => {
  const store = new MemoryExportStore();
  await store.put("work", keys.writersClosed, "{}");
  const out = new Map([["exp/a/_lakefs_success", ""]]);
  const r = markerRetractor({ store, workBucket: "work", s3: mapS3(out) }, input);
  await expect(r!.retract(["a/"])).rejects.toThrow(MarkerRetractionError);
  await r!.end();
  expect([...out.keys()]).toEqual(["exp/a/_lakefs_success"]);
});

it("an export without marker expressions has no retractor and needs no S3 client", () => {
  const store = new MemoryExportStore();
  expect(
    markerRetractor({ store, workBucket: "work" }, { ...input, lastKeysInPrefixRegexp: [] }),
  ).toBeUndefined();
  expect(() => markerRetractor({ store, workBucket: "work" }, input)).toThrow(/S3 client/);
});
