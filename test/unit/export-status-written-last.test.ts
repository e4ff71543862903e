// README, Continuous export, step 4: the status files are written last, in this order: the
// manifests, the status document, then the status line. A job that waits for the status line
// reads the manifest it points to: were the line written first, the job could find a success
// line and no manifest (or the previous commit's), and a crash between the two would leave a
// success line with no manifest at all.
import { expect, it } from "vitest";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import { statusKeys } from "../../lambdas/export/domain/status";
import { type ExportTask, encodeTask } from "../../lambdas/export/domain/tasks";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import { blankCommit } from "../support/blank-commit";
import { MemoryExportStore } from "../support/memory-export-store";

/** The store, recording every object that appears in the status bucket, in order. */
class OrderedStore extends MemoryExportStore {
  readonly written: string[] = [];
  override async put(bucket: string, key: string, body: string | Uint8Array) {
    await super.put(bucket, key, body);
    if (bucket === "out") this.written.push(key);
  }
  override upload(bucket: string, key: string) {
    const inner = super.upload(bucket, key);
    return {
      ...inner,
      close: async () => {
        await inner.close();
        if (bucket === "out") this.written.push(key);
      },
    };
  }
}

const copy = (path: string): ExportTask => ({
  op: "copy",
  path,
  sourceAddress: `s3://ns/data/${path}`,
  destKey: `exp/${path}`,
  etag: `e-${path}`,
  size: 1,
});

async function runStatus(store: OrderedStore, markersFailed: number) {
  const exportId = "repo-main-c1-1";
  const tasks = [copy("a/1"), copy("b/2")];
  const keys = exportWorkKeys(exportId);
  await store.put("work", keys.taskShard(0), `${tasks.map(encodeTask).join("\n")}\n`);
  await store.put(
    "work",
    keys.shardResult(0),
    JSON.stringify({ version: 1, shard: 0, copied: 2, deleted: 0, copiedBytes: 2, failed: [] }),
  );
  const counts = { copies: 2, deletes: 0, copyBytes: 2, shards: 1 };
  return runStatusStep(
    {
      store,
      lakefs: {
        getCommit: blankCommit,
        async *listObjects() {},
      } as never,
      workBucket: "work",
      now: () => new Date("2026-01-01T01:00:00Z"),
    },
    {
      repository: "repo",
      branch: "main",
      exportPath: "s3://out/exp",
      exportStatusPath: "s3://out/status",
      lastKeysInPrefixRegexp: [],
      repaired: false,
      commitId: "c1",
      fromCommit: null,
      mode: "full-copy",
      configVersion: 3,
      exportId,
      plan: { done: true, cursor: { afterPath: "", counts }, counts },
      markers: { markers: 0, removed: 0, withheld: 0, failed: markersFailed, errorSamples: [] },
    } as never,
  );
}

it("a successful export writes its manifests, then the status document, then the status line", async () => {
  const store = new OrderedStore();
  const out = await runStatus(store, 0);
  expect(out.status).toBe("exported-successfully");
  const sk = statusKeys("status", "repo", "main", "c1");
  const w = store.written;
  expect(w.at(-1)).toBe(sk.statusLine);
  expect(w.at(-2)).toBe(sk.statusDocument);
  // Every manifest file (parts, CSV twins, both indexes) is in before the document names them.
  const manifestFiles = w.slice(0, -2);
  expect(manifestFiles).toContain(sk.manifestIndex);
  expect(manifestFiles).toContain(sk.batchOperationsManifest);
  expect(manifestFiles.filter((k) => k.includes(".manifest/part-")).length).toBeGreaterThanOrEqual(
    2,
  );
  expect(new Set(w).size).toBe(w.length);
  // The document says which kind of export wrote it, with which configuration version.
  expect(JSON.parse((await store.getText("out", sk.statusDocument)) ?? "")).toMatchObject({
    status: "exported-successfully",
    mode: "full-copy",
    configVersion: 3,
    manifest: sk.manifestIndex,
  });
});

it("a failed export writes no manifest, and its status document before its status line", async () => {
  const store = new OrderedStore();
  const out = await runStatus(store, 1);
  expect(out.status).toBe("export-failed");
  const sk = statusKeys("status", "repo", "main", "c1");
  expect(store.written).toEqual([sk.statusDocument, sk.statusLine]);
  expect(await store.getText("out", sk.statusLine)).toBe(
    "status: export-failed, signalled_errors: 1\n",
  );
});
