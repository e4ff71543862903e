// A full export's manifest written by groups of task shards side by side (README, Manifests):
// the plan writes the groups, each map child writes its group's parts and a descriptor, and the
// status step lists them in order, writing itself a group whose descriptor is missing. The
// manifest must hold the same lines, in path order, as one written in a single pass.
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { runManifestGroupStep } from "../../lambdas/export/app/manifest-group-step";
import { runPlanStep } from "../../lambdas/export/app/plan-step";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import type { ManifestIndex } from "../../lambdas/export/domain/manifest";
import {
  descriptorOfGroup,
  manifestGroupsOf,
  parseManifestGroup,
} from "../../lambdas/export/domain/manifest-groups";
import { statusKeys } from "../../lambdas/export/domain/status";
import { type ExportTask, encodeTask } from "../../lambdas/export/domain/tasks";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import type { ExportWorkflowState } from "../../lambdas/export/domain/workflow-state";
import { blankCommit } from "../support/blank-commit";
import { MemoryExportStore } from "../support/memory-export-store";

describe("manifest groups", () => {
  it("cuts the shards into runs of consecutive shards", () => {
    expect(manifestGroupsOf(250)).toEqual([
      { group: 0, first: 0, last: 99 },
      { group: 1, first: 100, last: 199 },
      { group: 2, first: 200, last: 249 },
    ]);
    expect(manifestGroupsOf(0)).toEqual([]);
    expect(manifestGroupsOf(3, 2)).toEqual([
      { group: 0, first: 0, last: 1 },
      { group: 1, first: 2, last: 2 },
    ]);
    expect(() => manifestGroupsOf(3, 0)).toThrow(/positive integer/);
  });

  it("refuses a map item or a descriptor that is not the group's", () => {
    expect(() => parseManifestGroup({ group: 0, first: 3, last: 2 })).toThrow(/manifest group/);
    expect(() => parseManifestGroup("x")).toThrow(/manifest group/);
    const g = { group: 1, first: 2, last: 3 };
    const d = { version: 1, ...g, parts: [{ key: "k", entries: 2, bytes: 10 }] };
    expect(descriptorOfGroup(JSON.stringify(d), g)).toEqual(d);
    expect(descriptorOfGroup(JSON.stringify({ ...d, last: 4 }), g)).toBeUndefined();
    expect(descriptorOfGroup(JSON.stringify({ ...d, parts: [{ key: "k" }] }), g)).toBeUndefined();
    expect(descriptorOfGroup("{", g)).toBeUndefined();
    expect(descriptorOfGroup(undefined, g)).toBeUndefined();
  });
});

const exportId = "repo-main-c1-1";
const copy = (path: string): ExportTask => ({
  op: "copy",
  path,
  sourceAddress: `s3://ns-bucket/data/${path}`,
  destKey: `exp/${path}`,
  etag: `e-${path}`,
  size: path.length,
});
/** Five shards of three tasks, in path order. */
const shards = Array.from({ length: 5 }, (_, s) =>
  Array.from({ length: 3 }, (_, t) => copy(`d${s}/f${t}`)),
);
const copyTasks = shards.flat() as Extract<ExportTask, { op: "copy" }>[];
const counts = { copies: 15, deletes: 0, copyBytes: 90, shards: 5 };

function stateOf(plan: ExportWorkflowState["plan"]): ExportWorkflowState {
  return {
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
    ...(plan ? { plan } : {}),
    markers: { markers: 0, removed: 0, withheld: 0, failed: 0, errorSamples: [] },
  };
}

async function storeWithShards(): Promise<MemoryExportStore> {
  const store = new MemoryExportStore();
  const keys = exportWorkKeys(exportId);
  for (const [i, tasks] of shards.entries()) {
    await store.put("work", keys.taskShard(i), `${tasks.map(encodeTask).join("\n")}\n`);
    const result = { version: 1, shard: i, copied: 3, deleted: 0, copiedBytes: 18, failed: [] };
    await store.put("work", keys.shardResult(i), JSON.stringify(result));
  }
  return store;
}

const lakefs = {
  getCommit: blankCommit,
  async *listObjects() {},
} as never;
const now = () => new Date("2026-01-01T01:00:00Z");

async function status(store: MemoryExportStore, state: ExportWorkflowState) {
  const out = await runStatusStep({ store, lakefs, workBucket: "work", now }, state);
  expect(out.status).toBe("exported-successfully");
  const sk = statusKeys("status", "repo", "main", "c1");
  const index = JSON.parse((await store.getText("out", sk.manifestIndex))!) as ManifestIndex;
  const lines: string[] = [];
  for (const p of index.parts)
    lines.push(...(await store.getText("out", p.key))!.trimEnd().split("\n"));
  const batch = JSON.parse((await store.getText("out", sk.batchOperationsManifest))!) as {
    files: { key: string }[];
  };
  const csv: string[] = [];
  for (const f of batch.files) {
    const body = store.binary.get(`out/${f.key}`);
    csv.push(...gunzipSync(body!).toString("utf8").trimEnd().split("\n"));
  }
  return { index, lines, csv };
}

describe("a full export's manifest by groups", () => {
  it("the plan writes the groups; the children's parts make the manifest of a single pass", async () => {
    // One pass: the status step alone (a plan from before groups).
    const single = await status(
      await storeWithShards(),
      stateOf({ done: true, cursor: { afterPath: "", counts } as never, counts }),
    );

    const store = await storeWithShards();
    const groups = manifestGroupsOf(5, 2);
    await store.put(
      "work",
      exportWorkKeys(exportId).manifestGroups,
      `${groups.map((g) => JSON.stringify(g)).join("\n")}\n`,
    );
    const plan = {
      done: true,
      cursor: { afterPath: "", counts } as never,
      counts,
      manifestGroups: groups.length,
      manifestGroupsKey: exportWorkKeys(exportId).manifestGroups,
    };
    // Groups 0 and 2 written by their children; group 1's child failed (no descriptor).
    for (const g of [groups[0], groups[2]]) {
      const out = await runManifestGroupStep(
        { store, workBucket: "work", now },
        { Items: [g], BatchInput: { state: stateOf(plan) } },
      );
      expect(out).toEqual({ groups: 1, parts: 1, entries: 6 - 3 * (g!.group === 2 ? 1 : 0) });
    }
    expect(await store.getText("work", exportWorkKeys(exportId).manifestGroup(1))).toBeUndefined();
    const grouped = await status(store, stateOf(plan));

    expect(grouped.lines).toEqual(single.lines);
    expect(grouped.lines).toHaveLength(15);
    expect(grouped.csv).toEqual(single.csv);
    expect(grouped.index.entries).toBe(15);
    expect(grouped.index.totalSize).toBe(single.index.totalSize);
    // A part per group, in group order: the children's, and the status step's for group 1.
    expect(grouped.index.parts.map((p) => [p.firstPath, p.lastPath])).toEqual([
      ["d0/f0", "d1/f2"],
      ["d2/f0", "d3/f2"],
      ["d4/f0", "d4/f2"],
    ]);
    expect(grouped.index.parts.every((p) => p.csv !== undefined)).toBe(true);
  });

  it("the plan writes groups for a full export with a status path only", async () => {
    const planned = async (state: ExportWorkflowState) => {
      const store = new MemoryExportStore();
      const out = await runPlanStep(
        {
          store,
          lakefs: {
            async *listObjects() {
              yield {
                results: copyTasks.map((t) => ({
                  path: t.path,
                  path_type: "object" as const,
                  physical_address: `s3://ns-bucket/data/${t.path}`,
                  checksum: t.etag,
                  size_bytes: t.size,
                  mtime: 0,
                })),
                pagination: { has_more: false, next_offset: "", results: 15, max_per_page: 1000 },
              };
            },
          } as never,
          workBucket: "work",
        },
        state,
        { limits: { maxTasksPerShard: 3 }, shardsPerManifestGroup: 2 },
      );
      return { out, groups: await store.getText("work", exportWorkKeys(exportId).manifestGroups) };
    };
    const full = await planned(stateOf(undefined));
    expect(full.out).toMatchObject({ done: true, manifestGroups: 3 });
    expect(
      full.groups
        ?.trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual(manifestGroupsOf(5, 2));
    const { exportStatusPath: _, ...withoutStatus } = stateOf(undefined);
    const none = await planned(withoutStatus as ExportWorkflowState);
    expect(none.out.manifestGroups).toBeUndefined();
    expect(none.groups).toBeUndefined();
  });
});
