// What failed exports touched, read back from their task shards (the work bucket in memory):
// merged across exports in path order, each path once, resumable after a path; an export
// without a plan result touched nothing; a missing shard is an error that names the way out.
import { describe, expect, it } from "vitest";
import { TouchedPathsOfExports } from "../../lambdas/export/app/touched-paths";
import { mergeSortedPaths } from "../../lambdas/export/domain/sorted-paths";
import { encodeTask } from "../../lambdas/export/domain/tasks";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import { MemoryExportStore } from "../support/memory-export-store";

async function* of(items: string[]) {
  yield* items;
}

async function all(it: AsyncIterable<string>) {
  const out: string[] = [];
  for await (const p of it) out.push(p);
  return out;
}

async function failedExport(store: MemoryExportStore, id: string, shards: string[][]) {
  const keys = exportWorkKeys(id);
  for (const [i, paths] of shards.entries()) {
    await store.put(
      "work",
      keys.taskShard(i),
      `${paths.map((path) => encodeTask({ op: "delete", path, destKey: `x/${path}` })).join("\n")}\n`,
    );
  }
  await store.put("work", keys.planResult, JSON.stringify({ counts: { shards: shards.length } }));
}

describe("merging sorted paths", () => {
  it("gives the union in order, each path once", async () => {
    expect(
      await all(mergeSortedPaths([of(["a", "c", "e"]), of(["b", "c"]), of([]), of(["e", "f"])])),
    ).toEqual(["a", "b", "c", "e", "f"]);
  });

  it("refuses a source out of order", async () => {
    await expect(all(mergeSortedPaths([of(["b", "a"])]))).rejects.toThrow(/out of order/);
  });
});

describe("paths failed exports touched", () => {
  it("merges the exports' shards, after a path when resuming", async () => {
    const store = new MemoryExportStore();
    await failedExport(store, "e1", [["a/1", "a/2"], ["b/1"]]);
    await failedExport(store, "e2", [["a/2", "c/1"]]);
    // Its plan never completed: nothing of it reached the export path.
    await store.put(
      "work",
      exportWorkKeys("e3").taskShard(0),
      `${encodeTask({ op: "delete", path: "z", destKey: "x/z" })}\n`,
    );
    const touched = new TouchedPathsOfExports(store, "work", ["e1", "e2", "e3"]);
    expect(await all(touched.paths(undefined))).toEqual(["a/1", "a/2", "b/1", "c/1"]);
    expect(await all(touched.paths("a/2"))).toEqual(["b/1", "c/1"]);
  });

  it("a missing shard is an error naming the full repair", async () => {
    const store = new MemoryExportStore();
    await store.put(
      "work",
      exportWorkKeys("e1").planResult,
      JSON.stringify({ counts: { shards: 1 } }),
    );
    await expect(
      all(new TouchedPathsOfExports(store, "work", ["e1"]).paths(undefined)),
    ).rejects.toThrow(/missing, so what it touched is unknown: run export repair --full/);
  });
});
