// An incremental export's manifest is merged with the previous export's manifest, whose index
// lists parts written by earlier exports (under their own commits' folders). When one of those
// parts is gone (a lifecycle rule or a person cleaning up old status files), the merge cannot
// read it: the status step used to fail, after every copy and marker was done, and so did every
// later export and every `export repair` (they merge with the same previous manifest), leaving
// a correctly exported branch `export-failed` until `repair --full`. The previous manifest only
// saves requests: without it the commit is listed, as when there is none.
import { gunzipSync } from "node:zlib";
import { expect, it } from "vitest";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import {
  type BatchOperationsManifest,
  parseBatchOperationsCsvLine,
} from "../../lambdas/export/domain/batch-operations-manifest";
import { type ManifestIndex, parseManifestLine } from "../../lambdas/export/domain/manifest";
import { statusKeys } from "../../lambdas/export/domain/status";
import { type ExportTask, encodeTask } from "../../lambdas/export/domain/tasks";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import type { ObjectStats } from "../../lambdas/shared/lakefs/types";
import { blankCommit } from "../support/blank-commit";
import { MemoryExportStore } from "../support/memory-export-store";

const base = {
  repository: "repo",
  branch: "main",
  exportPath: "s3://out/exp",
  exportStatusPath: "s3://out/status",
  lastKeysInPrefixRegexp: [],
  repaired: false,
};
const copy = (path: string, etag: string): ExportTask => ({
  op: "copy",
  path,
  sourceAddress: `s3://ns/data/${path}`,
  destKey: `exp/${path}`,
  etag,
  size: 1,
});
const stats = (path: string, etag: string): ObjectStats => ({
  path,
  path_type: "object",
  physical_address: `s3://ns/data/${path}`,
  checksum: etag,
  size_bytes: 1,
  mtime: 1,
});

/** lakeFS with commit c2 holding `objects` (the listing the fallback reads). */
const lakefs = (objects: ObjectStats[]) => ({
  getCommit: blankCommit,
  async *listObjects() {
    yield {
      results: objects,
      pagination: { has_more: false, next_offset: "", results: objects.length, max_per_page: 1000 },
    };
  },
});

/** Runs the status step of an export whose single shard held `tasks`, all done. */
async function status(
  store: MemoryExportStore,
  exportId: string,
  input: { commitId: string; fromCommit: string | null; mode: "full-copy" | "incremental" },
  tasks: ExportTask[],
  objects: ObjectStats[],
) {
  const keys = exportWorkKeys(exportId);
  await store.put("work", keys.taskShard(0), `${tasks.map(encodeTask).join("\n")}\n`);
  await store.put(
    "work",
    keys.shardResult(0),
    JSON.stringify({
      version: 1,
      shard: 0,
      copied: tasks.length,
      deleted: 0,
      copiedBytes: tasks.length,
      failed: [],
    }),
  );
  const counts = { copies: tasks.length, deletes: 0, copyBytes: tasks.length, shards: 1 };
  return runStatusStep(
    {
      store,
      lakefs: lakefs(objects) as never,
      workBucket: "work",
      now: () => new Date("2026-01-01T01:00:00Z"),
    },
    {
      ...base,
      ...input,
      exportId,
      plan: { done: true, cursor: { afterPath: "", counts }, counts },
    },
  );
}

/** c1 (a, b) exported in full, with its manifest. */
const exportC1 = (store: MemoryExportStore) =>
  status(
    store,
    "repo-main-c1-1",
    { commitId: "c1", fromCommit: null, mode: "full-copy" },
    [copy("a", "ea"), copy("b", "eb")],
    [],
  );

/** c2 (c changed) exported incrementally from c1; `listing` is what lakeFS lists of c2. */
const exportC2 = (store: MemoryExportStore, listing: ReturnType<typeof stats>[]) =>
  status(
    store,
    "repo-main-c2-2",
    { commitId: "c2", fromCommit: "c1", mode: "incremental" },
    [copy("c", "ec")],
    listing,
  );

/** The manifest index written for `commit`, and its lines, parts in order. */
async function manifestOf(store: MemoryExportStore, commit: string) {
  const k = statusKeys("status", "repo", "main", commit);
  const index = JSON.parse((await store.getText("out", k.manifestIndex)) ?? "") as ManifestIndex;
  const lines = [];
  for (const part of index.parts) {
    const body = await store.getText("out", part.key);
    expect(body, part.key).toBeDefined();
    lines.push(
      ...(body ?? "")
        .split("\n")
        .filter(Boolean)
        .map((l) => parseManifestLine(l)),
    );
  }
  return { index, lines };
}

it("lists the commit when a part of the previous manifest is gone, and reports success", async () => {
  const store = new MemoryExportStore();
  const c1 = await exportC1(store);
  expect(c1.status).toBe("exported-successfully");
  const { index: index1 } = await manifestOf(store, "c1");
  // The previous manifest's parts expire.
  for (const part of index1.parts) store.objects.delete(`out/${part.key}`);

  const c2 = await exportC2(store, [stats("a", "ea"), stats("b", "eb"), stats("c", "ec")]);

  expect(c2).toMatchObject({ status: "exported-successfully", signalledErrors: 0 });
  const k2 = statusKeys("status", "repo", "main", "c2");
  expect(await store.getText("out", k2.statusLine)).toBe(
    "status: exported-successfully, signalled_errors: 0\n",
  );
  const { index: index2, lines } = await manifestOf(store, "c2");
  expect(lines).toEqual([
    { path: "a", key: "exp/a", etag: "ea", size: 1 },
    { path: "b", key: "exp/b", etag: "eb", size: 1 },
    { path: "c", key: "exp/c", etag: "ec", size: 1 },
  ]);
  expect(index2.entries).toBe(3);
  // The Batch Operations manifest lists the same objects once, from files that exist.
  const batch = JSON.parse(
    (await store.getText("out", k2.batchOperationsManifest)) ?? "",
  ) as BatchOperationsManifest;
  const keys: string[] = [];
  for (const file of batch.files) {
    const gz = store.binary.get(`out/${file.key}`);
    expect(gz).toBeDefined();
    const text = gunzipSync(gz as Uint8Array).toString("utf8");
    for (const line of text.split("\n").filter(Boolean)) {
      keys.push(parseBatchOperationsCsvLine(line).key);
    }
  }
  expect(keys).toEqual(["exp/a", "exp/b", "exp/c"]);
});

it("lists the commit when the previous manifest index is not a manifest index", async () => {
  const store = new MemoryExportStore();
  await store.put("out", statusKeys("status", "repo", "main", "c1").manifestIndex, "{not json");
  const c2 = await exportC2(store, [stats("a", "ea"), stats("c", "ec")]);
  expect(c2).toMatchObject({ status: "exported-successfully", signalledErrors: 0 });
  const { index: index2 } = await manifestOf(store, "c2");
  expect(index2.entries).toBe(2);
});

it("the commit's listing that stands for the previous manifest leaves `_lakefs_actions/` out, as every manifest does", async () => {
  const store = new MemoryExportStore();
  const c2 = await exportC2(store, [
    stats("_lakefs_actions/lakeport.yaml", "ey"),
    stats("a", "ea"),
    stats("c", "ec"),
  ]);
  expect(c2).toMatchObject({ status: "exported-successfully", signalledErrors: 0 });
  const { index: index2, lines } = await manifestOf(store, "c2");
  expect(lines.map((l) => l.path)).toEqual(["a", "c"]);
  expect(index2.entries).toBe(2);
});

it("a previous manifest that does not record its export path (written before it was recorded) is not merged: the commit is listed", async () => {
  const store = new MemoryExportStore();
  await exportC1(store);
  const k1 = statusKeys("status", "repo", "main", "c1");
  const { exportPath: _recorded, ...older } = JSON.parse(
    (await store.getText("out", k1.manifestIndex)) ?? "",
  ) as ManifestIndex;
  await store.put("out", k1.manifestIndex, JSON.stringify(older));

  // Merged, the manifest would still list b (the old index's); the commit holds a and c.
  const c2 = await exportC2(store, [stats("a", "ea"), stats("c", "ec")]);
  expect(c2).toMatchObject({ status: "exported-successfully", signalledErrors: 0 });
  const { index: index2, lines } = await manifestOf(store, "c2");
  expect(index2.exportPath).toBe("s3://out/exp");
  expect(lines.map((l) => l.path)).toEqual(["a", "c"]);
});
