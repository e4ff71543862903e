// The writers of an export path (copy batches, the markers step) and the status step that
// closes the export to them: a writer registered before the close is listed and waited for,
// one starting after it writes nothing (lambdas/export/domain/writers.ts).
import { expect, it } from "vitest";
import { runCopyStep } from "../../lambdas/export/app/copy-step";
import { asWriter, closeWriters, registerWriter } from "../../lambdas/export/app/export-writers";
import { runFinishStep } from "../../lambdas/export/app/finish-export";
import { runManifestGroupStep } from "../../lambdas/export/app/manifest-group-step";
import { runMarkersStep } from "../../lambdas/export/app/markers-step";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import type { ExportWorkflowState } from "../../lambdas/export/domain/workflow-state";
import {
  writerEndedKey,
  writerIdOf,
  writerStartedKey,
  writersInFlight,
} from "../../lambdas/export/domain/writers";
import { statusDepsOf } from "../support/export-steps";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-c1-1";
const keys = exportWorkKeys(exportId);
const T0 = Date.parse("2026-01-01T01:00:00Z");
const MIN = 60_000;
const at = (ms: number) => () => new Date(ms);

async function* listed(...names: string[]) {
  for (const n of [...names].sort()) yield `${keys.writersPrefix}${n}`;
}

it("a writer started and not ended runs until its function's timeout and a minute", async () => {
  const a = writerIdOf("copy", new Date(T0), "a1");
  const b = writerIdOf("markers", new Date(T0 + 2 * MIN), "b2");
  const ended = writerIdOf("copy", new Date(T0 + 3 * MIN), "c3");
  const names = [`${a}.started`, `${b}.started`, `${ended}.started`, `${ended}.ended`];
  expect(await writersInFlight(listed(...names), keys.writersPrefix, new Date(T0 + MIN))).toEqual({
    running: 2,
    until: new Date(T0 + 2 * MIN + 16 * MIN).toISOString(),
  });
  // Past its deadline, a writer cannot run any more (it died: its end was never recorded).
  expect(
    await writersInFlight(listed(...names), keys.writersPrefix, new Date(T0 + 17 * MIN)),
  ).toEqual({ running: 1, until: new Date(T0 + 18 * MIN).toISOString() });
  expect(
    await writersInFlight(listed(...names), keys.writersPrefix, new Date(T0 + 19 * MIN)),
  ).toEqual({ running: 0 });
  // A record of unknown shape waits the longest.
  expect(await writersInFlight(listed("odd.started"), keys.writersPrefix, new Date(T0))).toEqual({
    running: 1,
    until: new Date(T0 + 16 * MIN).toISOString(),
  });
});

it("a writer registers before it writes and records its end, also when it fails", async () => {
  const store = new MemoryExportStore();
  const deps = { store, workBucket: "work", now: at(T0) };
  expect(await asWriter(deps, exportId, "copy", async () => "wrote")).toBe("wrote");
  await expect(
    asWriter(deps, exportId, "markers", async () => {
      throw new Error("S3 down");
    }),
  ).rejects.toThrow("S3 down");
  const records = [...store.objects.keys()].filter((k) => k.includes("/writers/"));
  expect(records).toHaveLength(4);
  expect(records.filter((k) => k.endsWith(".ended"))).toHaveLength(2);
  expect(await closeWriters(deps, exportId)).toEqual({ running: 0 });
});

it("the status step lists a writer registered before it closed; one starting after writes nothing", async () => {
  const store = new MemoryExportStore();
  const deps = { store, workBucket: "work", now: at(T0) };
  const early = await registerWriter(deps, exportId, "copy");
  expect(early).not.toBe("closed");
  expect(await closeWriters({ ...deps, now: at(T0 + MIN) }, exportId)).toEqual({
    running: 1,
    until: new Date(T0 + 16 * MIN).toISOString(),
  });
  let wrote = false;
  expect(
    await asWriter(deps, exportId, "copy", async () => {
      wrote = true;
    }),
  ).toBeUndefined();
  expect(wrote).toBe(false);
  if (early !== "closed") await early.end();
  expect(await closeWriters({ ...deps, now: at(T0 + MIN) }, exportId)).toEqual({ running: 0 });
});

it("a copy batch starting after its export ended copies nothing and records no result (its task shard, read while it registered, is dropped)", async () => {
  const store = new MemoryExportStore();
  await store.put("work", keys.writersClosed, "{}");
  await store.put(
    "work",
    keys.taskShard(0),
    `${JSON.stringify({ op: "copy", path: "a.csv", sourceAddress: "s3://lake/a", destKey: "exp/a.csv", size: 1 })}\n`,
  );
  const s3 = {
    send: async () => {
      throw new Error("no S3 request expected");
    },
  };
  const out = await runCopyStep(
    { store, s3: s3 as never, workBucket: "work" },
    {
      Items: [{ shard: 0 }],
      BatchInput: { exportId, exportPath: "s3://out/exp", lastKeysInPrefixRegexp: [] },
    },
  );
  expect(out).toEqual({ shards: 0, copied: 0, deleted: 0, failed: 0, late: true });
  expect(
    [...store.objects.keys()].filter((k) => !k.includes("/writers") && !k.includes("/tasks/")),
  ).toEqual([]);
});

it("a copy batch reads its task shards while it registers as a writer, not after", async () => {
  let shardRead!: () => void;
  const shardReadStarted = new Promise<void>((resolve) => {
    shardRead = resolve;
  });
  const store = new (class extends MemoryExportStore {
    override async put(bucket: string, key: string, body: string | Uint8Array) {
      // The writer's record is written only once the shard's read has begun: run one after
      // the other, the batch would never end.
      if (key.endsWith(".started")) await shardReadStarted;
      return super.put(bucket, key, body);
    }
    override async getText(bucket: string, key: string) {
      if (key === keys.taskShard(0)) shardRead();
      return super.getText(bucket, key);
    }
  })();
  store.objects.set(`work/${keys.taskShard(0)}`, "");
  const out = await runCopyStep(
    { store, s3: {} as never, workBucket: "work" },
    {
      Items: [{ shard: 0 }],
      BatchInput: { exportId, exportPath: "s3://out/exp", lastKeysInPrefixRegexp: [] },
    },
  );
  expect(out).toEqual({ shards: 1, copied: 0, deleted: 0, failed: 0 });
  expect(store.objects.has(`work/${keys.shardResult(0)}`)).toBe(true);
}, 10_000);

it("a manifest group starting after its export ended writes no part", async () => {
  const store = new MemoryExportStore();
  await store.put("work", keys.writersClosed, "{}");
  const out = await runManifestGroupStep(
    { store, workBucket: "work", now: at(T0) },
    { Items: [{ group: 0, first: 0, last: 0 }], BatchInput: { state: { ...input, plan } } },
  );
  expect(out).toEqual({ groups: 0, parts: 0, entries: 0, late: true });
  expect([...store.objects.keys()].filter((k) => !k.includes("/writers"))).toEqual([]);
});

it("a markers step starting after its export ended writes no marker; without markers configured it registers nothing", async () => {
  const store = new MemoryExportStore();
  const s3 = {
    send: async () => {
      throw new Error("no S3 request expected");
    },
  };
  const lakefs = {
    listObjectsPage: async () => {
      throw new Error("no lakeFS call expected");
    },
  };
  const deps = { store, s3: s3 as never, lakefs: lakefs as never, workBucket: "work" };
  // No marker directories: nothing to write, so no writer record either.
  await runMarkersStep(deps, { ...input, plan });
  expect([...store.objects.keys()].filter((k) => k.includes("/writers"))).toEqual([]);
  // Markers configured, the export closed: the late attempt reads no summary, writes nothing.
  await store.put("work", keys.writersClosed, "{}");
  const out = await runMarkersStep(deps, { ...input, lastKeysInPrefixRegexp: ["^d/$"], plan });
  expect(out).toMatchObject({ markers: 0, failed: 0, late: true });
  expect(store.reads.filter((k) => k.includes("/results/") || k.includes("/markers/"))).toEqual([]);
});

const input = {
  repository: "repo",
  branch: "main",
  exportId,
  fromCommit: null,
  commitId: "c1",
  exportPath: "s3://out/exp",
  exportStatusPath: "s3://out/status",
  lastKeysInPrefixRegexp: [],
  repaired: false,
  mode: "full-copy" as const,
};
const counts = { copies: 1, deletes: 0, copyBytes: 1, shards: 1 };
const plan = { done: true, cursor: { afterPath: "a", counts }, counts };

/** The status step of an export whose one shard reported, with `failed` operations. */
async function statusWithRunningWriter(failed: number) {
  const store = new MemoryExportStore();
  const task = { op: "copy", path: "a", sourceAddress: "s3://ns/data/a", destKey: "exp/a" };
  await store.put(
    "work",
    keys.taskShard(0),
    `${JSON.stringify({ ...task, etag: "e", size: 1 })}\n`,
  );
  const failures = Array.from({ length: failed }, () => ({
    path: "a",
    code: "AccessDenied",
    message: "no",
  }));
  await store.put(
    "work",
    keys.shardResult(0),
    JSON.stringify({
      version: 1,
      shard: 0,
      copied: 1 - failed,
      deleted: 0,
      copiedBytes: 1,
      failed: failures,
    }),
  );
  // An earlier attempt of the batch that reported, still copying.
  const id = writerIdOf("copy", new Date(T0), "early");
  await store.put("work", writerStartedKey(keys.writersPrefix, id), "{}");
  const state: ExportWorkflowState = { ...input, plan };
  state.status = await runStatusStep(
    {
      ...statusDepsOf(store, at(T0 + MIN)),
    },
    state,
  );
  return { store, state, id };
}

it("a success with a writer still running says until when; a failure waits for it as for an unreported batch", async () => {
  const ok = await statusWithRunningWriter(0);
  expect(ok.state.status).toMatchObject({
    status: "exported-successfully",
    writersRunUntil: new Date(T0 + 16 * MIN).toISOString(),
  });
  expect(ok.state.status?.copiesMayRun).toBeUndefined();
  // Ended meanwhile: not running any more.
  await ok.store.put("work", writerEndedKey(keys.writersPrefix, ok.id), "{}");
  expect(
    await closeWriters({ store: ok.store, workBucket: "work", now: at(T0) }, exportId),
  ).toEqual({ running: 0 });

  const failed = await statusWithRunningWriter(1);
  expect(failed.state.status).toMatchObject({ status: "export-failed", copiesMayRun: true });
  expect(failed.state.status?.writersRunUntil).toBeUndefined();
  expect(runFinishStep(failed.state)).toMatchObject({ error: "ExportFailedCopiesMayRun" });
});
