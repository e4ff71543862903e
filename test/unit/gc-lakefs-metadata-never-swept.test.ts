// An entry can be linked to any key of the storage namespace, including lakeFS's own metadata
// under `_lakefs/` (ranges, metaranges). When only an expired commit holds such an entry, GC
// must still leave the key alone: deleting it would break the repository, not free data.
import { expect, it } from "vitest";
import { gcPaths, gcWorkKeys } from "../../lambdas/gc/domain/paths";
import { markAndSweepInMemory } from "../support/gc-pipeline";
import { type memoryGcWorld, objectGcWorld } from "../support/memory-gc";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";

/** As a mark written before marks recorded their lists' ETags (its sweep cannot tell an edit). */
async function forgetListEtag(w: ReturnType<typeof memoryGcWorld>, runId: string) {
  const key = gcWorkKeys("r1", runId).markCounts(0);
  const { text_etag: _, ...counts } = JSON.parse((await w.store.getText("work", key))!);
  await w.store.put("work", key, JSON.stringify(counts));
}

const gcWorld = () => objectGcWorld(NOW);

/**
 * main's head (recent) holds `kept`; only an expired commit holds `data`. Mark and sweep, with
 * `lines` appended to the mark's list after the mark, as a mark written before marks recorded
 * their lists' ETags (its sweep cannot tell the edit).
 */
async function sweepWithLinesAdded(
  { w, put }: ReturnType<typeof gcWorld>,
  runId: string,
  lines: string[],
) {
  const data = `${NS}/data/old-object`;
  const kept = `${NS}/data/kept-object`;
  for (const a of [data, kept]) put(a);
  const c0 = w.lakefs.addCommit([], new Map([["old", data]]), NOW - 30 * DAY);
  const c1 = w.lakefs.addCommit([c0], new Map(), NOW - 29 * DAY);
  const c2 = w.lakefs.addCommit([c1], new Map([["kept", kept]]), NOW - 3600);
  w.lakefs.createBranch("main", c2);
  const out = await markAndSweepInMemory(
    w.deps,
    w.records,
    { runId, storageNamespace: NS, rules: { default_retention_days: 7, branches: [] }, now: NOW },
    {
      afterMark: async () => {
        const part = `repos/r1/${gcPaths.addressesTextPart(runId, 0)}`;
        const text = (await w.store.getText("lake", part)) ?? "";
        await w.store.put("lake", part, `${text}${lines.map((l) => `${l}\n`).join("")}`);
        await forgetListEtag(w, runId);
      },
    },
  );
  return { out, data, kept };
}

it("never marks or deletes a key under the namespace's _lakefs/, even when only expired commits hold it", async () => {
  const { w, put, exists } = gcWorld();
  const metadata = `${NS}/_lakefs/a1b2c3d4`;
  const data = `${NS}/data/old-object`;
  const kept = `${NS}/data/kept-object`;
  for (const a of [metadata, data, kept]) put(a);
  // c0 (old) links both; c1 (old) deletes them; head c2 is recent.
  const c0 = w.lakefs.addCommit(
    [],
    new Map([
      ["meta", metadata],
      ["old", data],
    ]),
    NOW - 30 * DAY,
  );
  const c1 = w.lakefs.addCommit([c0], new Map(), NOW - 29 * DAY);
  const c2 = w.lakefs.addCommit([c1], new Map([["kept", kept]]), NOW - 3600);
  w.lakefs.createBranch("main", c2);
  const out = await markAndSweepInMemory(w.deps, w.records, {
    runId: "20270101T000000000Z-meta",
    storageNamespace: NS,
    rules: { default_retention_days: 7, branches: [] },
    now: NOW,
  });
  expect(out.success).toBe(true);
  // The expired data object goes (the test would pass vacuously if nothing were swept).
  expect(exists(data)).toBe(false);
  expect(exists(metadata)).toBe(true);
  expect(exists(kept)).toBe(true);
});

it("never deletes a key under _lakefs/ that a mark's list holds (a mark written before marks left them out)", async () => {
  const world = gcWorld();
  const metadata = `${NS}/_lakefs/e5f6a7b8`;
  world.put(metadata);
  // The mark's text list as an earlier Lakeport wrote it: with the _lakefs/ key.
  const { out, data, kept } = await sweepWithLinesAdded(world, "20270101T000000000Z-oldmark", [
    "_lakefs/e5f6a7b8",
  ]);
  expect(out.success).toBe(true);
  expect(world.exists(data)).toBe(false);
  expect(world.exists(metadata), "lakeFS metadata must never be swept").toBe(true);
  expect(world.exists(kept)).toBe(true);
});

it("never marks or deletes a key with a `..`, `.` or empty segment (another object where paths resolve)", async () => {
  const { w, put, exists } = gcWorld();
  const odd = [`${NS}/../r2/data/x`, `${NS}/data/./y`, `${NS}/data//z`];
  const data = `${NS}/data/old-object`;
  for (const a of [...odd, data]) put(a);
  const linked = new Map([["old", data], ...odd.map((a, i) => [`odd${i}`, a] as [string, string])]);
  const c0 = w.lakefs.addCommit([], linked, NOW - 30 * DAY);
  const c1 = w.lakefs.addCommit([c0], new Map(), NOW - 29 * DAY);
  w.lakefs.createBranch("main", c1);
  const out = await markAndSweepInMemory(w.deps, w.records, {
    runId: "20270101T000000000Z-dots",
    storageNamespace: NS,
    rules: { default_retention_days: 7, branches: [] },
    now: NOW,
  });
  expect(out.success).toBe(true);
  expect(exists(data)).toBe(false);
  for (const a of odd) expect(exists(a), a).toBe(true);
});

it("never deletes the object a kept entry's `..`, `.` or empty-segment address resolves to", async () => {
  // GC leaves such keys alone because a store or tool that resolves paths (the embedded S3
  // does) reads another object there. The same store reads a kept entry linked to
  // `ns/tmp/../data/a` from `ns/data/a`: that object is referenced by a kept commit and must
  // not be deleted because an expired commit also holds it under its plain address.
  const { w, put, exists } = gcWorld();
  const viaDots = `${NS}/data/via-dots`;
  const viaEmpty = `${NS}/data/via-empty`;
  const viaOutside = `${NS}/data/via-outside`;
  const gone = `${NS}/data/old-object`;
  for (const a of [viaDots, viaEmpty, viaOutside, gone]) put(a);
  const c0 = w.lakefs.addCommit(
    [],
    new Map([
      ["a", viaDots],
      ["b", viaEmpty],
      ["c", viaOutside],
      ["old", gone],
    ]),
    NOW - 30 * DAY,
  );
  const c1 = w.lakefs.addCommit([c0], new Map(), NOW - 29 * DAY);
  // The head (kept) links the same objects through addresses that resolve to them.
  const c2 = w.lakefs.addCommit(
    [c1],
    new Map([
      ["a", `${NS}/tmp/../data/./via-dots`],
      ["b", `${NS}/data//via-empty`],
      ["c", "s3://lake/repos/r2/../r1/data/via-outside"],
    ]),
    NOW - 3600,
  );
  w.lakefs.createBranch("main", c2);
  const out = await markAndSweepInMemory(w.deps, w.records, {
    runId: "20270101T000000000Z-resolved",
    storageNamespace: NS,
    rules: { default_retention_days: 7, branches: [] },
    now: NOW,
  });
  expect(out.success).toBe(true);
  expect(exists(gone)).toBe(false);
  for (const a of [viaDots, viaEmpty, viaOutside]) expect(exists(a), a).toBe(true);
});

it("never deletes a line of the mark's list with a `..`, `.` or empty segment (a list edited in the namespace)", async () => {
  // The mark never writes such a line, but its list lies in the namespace, where anyone with
  // write access can edit it; a store that resolves paths (the embedded S3 does) would delete
  // another object there: outside the namespace for `..`. Backup and restore refuse such lines.
  // A mark that recorded its list's ETag refuses the edited list whole (gc-mark-parts); one
  // written before (no ETag to compare) still never deletes such a line.
  const world = gcWorld();
  const odd = ["../r2/data/theirs", "data/./kept-object", "data//kept-object", "/data/x"];
  for (const l of odd) world.put(`${NS}/${l}`);
  const { out, data, kept } = await sweepWithLinesAdded(world, "20270101T000000000Z-edited", odd);
  expect(out.success).toBe(true);
  expect(world.exists(data)).toBe(false);
  expect(world.exists(kept)).toBe(true);
  expect(world.w.store.deleted.filter((k) => odd.some((l) => k.endsWith(l)))).toEqual([]);
});
