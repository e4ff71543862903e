// A full-compare export (`repair --full`, or a reconcile by listing) keeps the objects already
// exported as they are in the commit: keep tasks, no operation. When the copy batch of a shard
// holding only keep tasks never reported (a Lambda that crashed or was throttled past its
// retries; the map tolerates it), the status step counts no failure for it, rightly: nothing
// needed doing. The markers step counted its tasks as failed, though, and withheld the markers
// of their directories, whose old markers the same export deleted as extra: the export ended
// `exported-successfully, signalled_errors: 0` with a selected directory holding objects and no
// `_lakefs_success`. A keep task is an object of the commit already exported: its directories
// get their markers.
import { expect, it } from "vitest";
import { runMarkersStep } from "../../lambdas/export/app/markers-step";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import { type ExportTask, encodeTask } from "../../lambdas/export/domain/tasks";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import { statusDepsOf } from "../support/export-steps";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-c1-3-repair";
const keys = exportWorkKeys(exportId);
const input = {
  repository: "repo",
  branch: "main",
  exportId,
  fromCommit: "c1",
  commitId: "c1",
  exportPath: "s3://out/exp",
  lastKeysInPrefixRegexp: ["^big/$"],
  repaired: true,
  mode: "full-compare" as const,
};
const counts = { copies: 0, deletes: 1, copyBytes: 0, keeps: 3, shards: 2 };
const plan = { done: true, cursor: { afterPath: "big/c", counts }, counts };
const keep = (path: string): ExportTask => ({
  op: "keep",
  path,
  destKey: `exp/${path}`,
  etag: `e-${path}`,
  size: 1,
});

/**
 * Shard 0: big/_lakefs_success (the old marker, extra: deleted) and big/a (kept), run and
 * reported. Shard 1: big/b and big/c (kept), its copy batch never reported.
 */
async function world() {
  const store = new MemoryExportStore();
  await store.put(
    "work",
    keys.taskShard(0),
    `${[
      encodeTask({ op: "delete", path: "big/_lakefs_success", destKey: "exp/big/_lakefs_success" }),
      encodeTask(keep("big/a")),
    ].join("\n")}\n`,
  );
  await store.put(
    "work",
    keys.taskShard(1),
    `${[keep("big/b"), keep("big/c")].map(encodeTask).join("\n")}\n`,
  );
  await store.put(
    "work",
    keys.shardResult(0),
    JSON.stringify({ version: 1, shard: 0, copied: 0, deleted: 1, copiedBytes: 0, failed: [] }),
  );
  await store.put(
    "work",
    keys.markerSummary(0),
    `${JSON.stringify({ dir: "big/", failed: false, present: true })}\n`,
  );
  return store;
}

/** The markers step, then the status step, over `store`; the marker keys the markers step wrote. */
async function markersThenStatus(store: MemoryExportStore) {
  const written: string[] = [];
  const markers = await runMarkersStep(
    {
      store,
      s3: {
        send: async (command: { input: { Key?: string } }) => {
          written.push(command.input.Key ?? "");
          return {};
        },
      } as never,
      lakefs: {
        listObjectsPage: async () => {
          throw new Error("no directory needs a lookup");
        },
      } as never,
      workBucket: "work",
    },
    { ...input, plan },
  );
  const status = await runStatusStep(
    {
      ...statusDepsOf(store, () => new Date("2026-01-01T01:00:00Z")),
    },
    { ...input, plan, markers },
  );
  return { markers, status, written };
}

it("a shard of keep tasks without a result still gets its directories' markers, and the status agrees", async () => {
  const { markers, status, written } = await markersThenStatus(await world());
  expect(markers).toMatchObject({ markers: 1, withheld: 0, failed: 0 });
  expect(written).toEqual(["exp/big/_lakefs_success"]);
  expect(status).toMatchObject({ status: "export-repaired", signalledErrors: 0 });
});

it("a keep task its copy batch would have refused (a committed marker) still fails the export when the batch never reported", async () => {
  // The commit holds an empty big/_lakefs_success, equal to the marker already exported there:
  // the plan keeps it, and a copy batch fails it (MarkerCollision). Without the batch, the
  // status and the markers must come to the same.
  const store = await world();
  await store.put(
    "work",
    keys.taskShard(1),
    `${[keep("big/_lakefs_success"), keep("big/b")].map(encodeTask).join("\n")}\n`,
  );
  await store.put("work", keys.taskShard(0), `${encodeTask(keep("big/a"))}\n`);
  await store.put(
    "work",
    keys.shardResult(0),
    JSON.stringify({ version: 1, shard: 0, copied: 0, deleted: 0, copiedBytes: 0, failed: [] }),
  );
  const { markers, status, written } = await markersThenStatus(store);
  expect(markers).toMatchObject({ markers: 0, withheld: 1 });
  expect(written).toEqual([]);
  expect(status).toMatchObject({ status: "export-failed", signalledErrors: 1 });
  expect(status.errorMessage).toMatch(/big\/_lakefs_success: MarkerCollision/);
});
