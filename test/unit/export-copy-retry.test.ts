// A copy batch retried by Step Functions (after a Lambda service error: an earlier attempt ran,
// or still runs) is told its retry count, and leaves alone the shards an attempt completed: a
// shard with a result without failures. Before, every retry copied every shard of the batch
// again, so a batch retried after a slow shard redid the shards it had finished.
import type { S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { type CopyBatchEvent, runCopyStep } from "../../lambdas/export/app/copy-step";
import type { CopiedCounts } from "../../lambdas/export/domain/progress";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-c1-1-x";
const keys = exportWorkKeys(exportId);

/** An S3 client that copies every object, or fails the copies of `failing`, and counts them. */
function copyingS3(failing = new Set<string>()) {
  const copiedKeys: string[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: { Key: string } }) => {
      if (command.constructor.name !== "CopyObjectCommand") {
        throw new Error(`unexpected ${command.constructor.name}`);
      }
      if (failing.has(command.input.Key)) {
        throw Object.assign(new Error("Access Denied"), { name: "AccessDenied" });
      }
      copiedKeys.push(command.input.Key);
      return { CopyObjectResult: { ETag: '"e"' } };
    },
  } as unknown as S3Client;
  return { client, copiedKeys };
}

/** Shard s: three copies, exp/s-0 .. exp/s-2. */
const shardBody = (s: number) =>
  `${[0, 1, 2]
    .map((i) =>
      JSON.stringify({
        op: "copy",
        path: `${s}-${i}`,
        sourceAddress: `s3://lake-ns/data/${s}-${i}`,
        destKey: `exp/${s}-${i}`,
        etag: "e",
        size: 1,
      }),
    )
    .join("\n")}\n`;

/** The destination keys of shards' copies (shardBody's). */
const keysOfShards = (...shards: number[]) =>
  shards.flatMap((s) => [0, 1, 2].map((i) => `exp/${s}-${i}`));

const event = (retryCount?: unknown): CopyBatchEvent =>
  ({
    Items: [{ shard: 0 }, { shard: 1 }, { shard: 2 }],
    BatchInput: { exportId, exportPath: "s3://out/exp", lastKeysInPrefixRegexp: [] },
    ...(retryCount === undefined ? {} : { retryCount }),
  }) as CopyBatchEvent;

async function planned() {
  const store = new MemoryExportStore();
  for (const s of [0, 1, 2]) await store.put("work", keys.taskShard(s), shardBody(s));
  return store;
}

function recordingProgress() {
  const added: CopiedCounts[] = [];
  return {
    added,
    progress: {
      recordPlan: async () => {},
      addCopied: async (_id: string, c: CopiedCounts) => {
        added.push(c);
      },
      recordFinal: async () => {},
      getProgress: async () => undefined,
    },
  };
}

describe("a retried copy batch", () => {
  it("copies only the shards no attempt completed", async () => {
    const store = await planned();
    // The first attempt completed shard 1 only (its answer to Step Functions was lost).
    const first = copyingS3();
    await runCopyStep(
      { store, s3: first.client, workBucket: "work" },
      { ...event(0), Items: [{ shard: 1 }] },
    );
    const shard1Result = store.objects.get(`work/${keys.shardResult(1)}`);
    expect(shard1Result).toBeDefined();

    const retry = copyingS3();
    const { added, progress } = recordingProgress();
    const out = await runCopyStep(
      { store, s3: retry.client, workBucket: "work", progress },
      event(1),
    );
    expect(out).toEqual({ shards: 3, copied: 6, deleted: 0, failed: 0, skipped: 1 });
    expect(retry.copiedKeys.sort()).toEqual(keysOfShards(0, 2));
    // The completed shard's result and progress are the first attempt's, not added again.
    expect(store.objects.get(`work/${keys.shardResult(1)}`)).toEqual(shard1Result);
    expect(added).toHaveLength(2);
    for (const s of [0, 2]) expect(store.objects.has(`work/${keys.shardResult(s)}`)).toBe(true);
  });

  it("copies again a shard whose result recorded failures, and one whose result is unreadable", async () => {
    const store = await planned();
    const first = copyingS3(new Set(["exp/0-1"]));
    await runCopyStep({ store, s3: first.client, workBucket: "work" }, event());
    expect(first.copiedKeys).toHaveLength(8);
    await store.put("work", keys.shardResult(2), "{not json");

    const retry = copyingS3();
    const out = await runCopyStep({ store, s3: retry.client, workBucket: "work" }, event(2));
    expect(out).toMatchObject({ shards: 3, copied: 6, failed: 0, skipped: 1 });
    expect(retry.copiedKeys.sort()).toEqual(keysOfShards(0, 2));
    const result0 = JSON.parse(String(store.objects.get(`work/${keys.shardResult(0)}`)));
    expect(result0).toMatchObject({ shard: 0, copied: 3, failed: [] });
  });

  it("a first attempt (retryCount 0 or absent) copies every shard, results or not", async () => {
    for (const retryCount of [0, undefined]) {
      const store = await planned();
      await store.put(
        "work",
        keys.shardResult(1),
        JSON.stringify({ version: 1, shard: 1, copied: 3, deleted: 0, copiedBytes: 3, failed: [] }),
      );
      const s3 = copyingS3();
      const out = await runCopyStep(
        { store, s3: s3.client, workBucket: "work" },
        event(retryCount),
      );
      expect(out).toEqual({ shards: 3, copied: 9, deleted: 0, failed: 0 });
      expect(s3.copiedKeys).toHaveLength(9);
    }
  });

  it("a result of another shard under this shard's key does not count as complete", async () => {
    const store = await planned();
    await store.put(
      "work",
      keys.shardResult(1),
      JSON.stringify({ version: 1, shard: 7, copied: 3, deleted: 0, copiedBytes: 3, failed: [] }),
    );
    const s3 = copyingS3();
    const out = await runCopyStep({ store, s3: s3.client, workBucket: "work" }, event(1));
    expect(out).toEqual({ shards: 3, copied: 9, deleted: 0, failed: 0 });
  });

  it("a retry count that is not one is named, and nothing is copied", async () => {
    for (const bad of [-1, 1.5, "1", null]) {
      const store = await planned();
      const s3 = copyingS3();
      await expect(
        runCopyStep({ store, s3: s3.client, workBucket: "work" }, event(bad)),
      ).rejects.toThrow(/^retryCount: expected a retry count, got /);
      expect(s3.copiedKeys).toEqual([]);
    }
  });
});
