// A full export plans a delete for every key of the export path the commit lacks, the success
// markers included; the markers step then writes the markers of the selected directories again.
// A copy attempt that Step Functions retried (a dropped connection) may still run after that
// step and the success line: its delete of a selected directory's marker removed the marker
// the line vouched for. Such deletes are now the markers step's alone.
import type { S3Client } from "@aws-sdk/client-s3";
import { expect, it } from "vitest";
import { runCopyStep } from "../../lambdas/export/app/copy-step";
import { runMarkersStep } from "../../lambdas/export/app/markers-step";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import type { ExportWorkflowState } from "../../lambdas/export/domain/workflow-state";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-c1-1";
const keys = exportWorkKeys(exportId);

/** S3 as a map of keys; deletes wait for `gate` when given. */
function fakeS3(bucket: Map<string, string>, gate?: Promise<void>) {
  return {
    send: async (c: {
      constructor: { name: string };
      input: { Key: string; Delete: { Objects: { Key: string }[] } };
    }) => {
      const n = c.constructor.name;
      if (n === "CopyObjectCommand") {
        bucket.set(c.input.Key, "data");
        return { CopyObjectResult: { ETag: '"e"' } };
      }
      if (n === "PutObjectCommand") {
        bucket.set(c.input.Key, "");
        return {};
      }
      if (n === "DeleteObjectsCommand") {
        if (gate) await gate;
        for (const o of c.input.Delete.Objects) bucket.delete(o.Key);
        return { Errors: [] };
      }
      throw new Error(`unexpected ${n}`);
    },
  } as unknown as S3Client;
}

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
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  // The first attempt: its deletes held; Step Functions retried the batch meanwhile.
  const late = runCopyStep(
    { store, s3: fakeS3(out, gate), workBucket: "work" },
    { Items: [{ shard: 0 }], BatchInput, retryCount: 0 },
  );
  await new Promise((r) => setTimeout(r, 20));
  await runCopyStep(
    { store, s3: fakeS3(out), workBucket: "work" },
    { Items: [{ shard: 0 }], BatchInput, retryCount: 1 },
  );
  const counts = { copies: 1, deletes: 3, copyBytes: 1, shards: 1 };
  const state = {
    repository: "repo",
    branch: "main",
    exportId,
    fromCommit: null,
    commitId: "c1",
    exportPath: "s3://out/exp",
    exportStatusPath: "s3://status/st",
    lastKeysInPrefixRegexp: ["^[de]/$"],
    repaired: false,
    mode: "full-copy",
    plan: { done: true, cursor: { afterPath: "old.csv", counts }, counts },
  } as ExportWorkflowState;
  // e/ is looked up in the commit: nothing there.
  const lakefs = {
    listObjectsPage: async () => ({
      results: [],
      pagination: { has_more: false, next_offset: "", results: 0, max_per_page: 1 },
    }),
  };
  state.markers = await runMarkersStep(
    { store, s3: fakeS3(out), lakefs: lakefs as never, workBucket: "work" },
    state,
  );
  state.status = await runStatusStep(
    {
      store,
      lakefs: {
        getCommit: async () => ({ id: "c1", message: "", committer: "", creation_date: 0 }),
        listObjects: async function* () {},
      } as never,
      workBucket: "work",
      now: () => new Date(),
    },
    state,
  );
  expect(state.status.status).toBe("exported-successfully");
  release();
  await late;
  // What the line vouches for, after the late attempt ended.
  expect([...out.keys()].sort()).toEqual(["exp/d/_lakefs_success", "exp/d/a.csv"]);
});
