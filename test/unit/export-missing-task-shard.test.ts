// A planned task shard that is gone from the work bucket when the export reads it back (the
// bucket's 7-day expiry reached a redriven execution, or someone cleaned `exports/`): its
// copy batch fails, and what it held is unknown. The status step counted such a shard as
// zero tasks and the markers step skipped it, so the export could end exported-successfully
// with markers over directories whose objects were never copied.
import { expect, it } from "vitest";
import { runMarkersStep } from "../../lambdas/export/app/markers-step";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import { encodeMarkerSummaryLine } from "../../lambdas/export/domain/markers";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-c1-1-x";
const keys = exportWorkKeys(exportId);
const input = {
  repository: "repo",
  branch: "main",
  exportId,
  fromCommit: null,
  commitId: "c1",
  exportPath: "s3://out/exp",
  lastKeysInPrefixRegexp: ["^d/$"],
  repaired: false,
  mode: "full-copy" as const,
};
const plan = {
  done: true,
  cursor: { afterPath: "d/b", counts: { copies: 2, deletes: 0, copyBytes: 2, shards: 2 } },
  counts: { copies: 2, deletes: 0, copyBytes: 2, shards: 2 },
};

/** Shard 0 (d/a) was copied; shard 1 (d/b) has neither its tasks nor a result. */
async function halfGone() {
  const store = new MemoryExportStore();
  const copy = (path: string) =>
    JSON.stringify({
      op: "copy",
      path,
      sourceAddress: `s3://ns/data/${path}`,
      destKey: `exp/${path}`,
      etag: "e",
      size: 1,
    });
  await store.put("work", keys.taskShard(0), `${copy("d/a")}\n`);
  await store.put(
    "work",
    keys.shardResult(0),
    JSON.stringify({ version: 1, shard: 0, copied: 1, deleted: 0, copiedBytes: 1, failed: [] }),
  );
  await store.put(
    "work",
    keys.markerSummary(0),
    `${encodeMarkerSummaryLine({ dir: "d/", failed: false, present: true })}\n`,
  );
  return store;
}

it("the status of an export with a lost task shard is export-failed", async () => {
  const store = await halfGone();
  const out = await runStatusStep(
    {
      store,
      lakefs: {
        getCommit: async () => ({ id: "c1", message: "", committer: "", creation_date: 0 }),
      } as never,
      workBucket: "work",
      now: () => new Date("2026-01-01T00:00:00Z"),
    },
    { ...input, plan },
  );
  expect(out).toMatchObject({ status: "export-failed" });
  expect(out.signalledErrors).toBeGreaterThan(0);
  expect(out.errorMessage).toMatch(/shard-000001/);
});

it("no marker is written when a task shard is lost", async () => {
  const store = await halfGone();
  const written: string[] = [];
  const s3 = {
    send: async (command: { input: { Key?: string } }) => {
      written.push(command.input.Key ?? "");
      return {};
    },
  };
  const markers = runMarkersStep(
    {
      store,
      s3: s3 as never,
      lakefs: { listObjectsPage: async () => ({ results: [], pagination: {} }) } as never,
      workBucket: "work",
    },
    { ...input, plan },
  );
  // d/ may hold d/b, never copied: the step fails (the export ends failed) rather than mark d/.
  await expect(markers).rejects.toThrow(/shard-000001/);
  expect(written).toEqual([]);
});
