// lakeFS's GC deletes only what it lists: the namespace's `data/` (where lakeFS writes objects)
// and its top level (repositories older than that layout), less the `dummy` object lakeFS
// writes there. An entry can be linked to any key of the namespace (stageObject takes a full
// address), e.g. `raw/file.csv` written there by another tool; lakeFS's GC never deletes it,
// and neither may Lakeport, even when only expired commits hold it. Real app code on the
// in-memory fakes (test/support/gc-pipeline.ts).
import { expect, it } from "vitest";
import { gcPaths, gcWorkKeys } from "../../lambdas/gc/domain/paths";
import { markAndSweepInMemory } from "../support/gc-pipeline";
import { objectGcWorld } from "../support/memory-gc";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";

const gcWorld = () => objectGcWorld(NOW);

/** c0 (30 days) holds `expired`, c1 (29 days) deletes them, main's head c2 (an hour) `kept`. */
function repository({ w, put }: ReturnType<typeof gcWorld>, expired: string[]) {
  const kept = `${NS}/data/kept-object`;
  for (const a of [...expired, kept]) put(a);
  const c0 = w.lakefs.addCommit([], new Map(expired.map((a, i) => [`p${i}`, a])), NOW - 30 * DAY);
  const c1 = w.lakefs.addCommit([c0], new Map(), NOW - 29 * DAY);
  const c2 = w.lakefs.addCommit([c1], new Map([["kept", kept]]), NOW - 3600);
  w.lakefs.createBranch("main", c2);
  return kept;
}

const RULES = { default_retention_days: 7, branches: [] };

it("never marks or deletes a key outside data/ and the namespace's top level, nor lakeFS's dummy", async () => {
  const world = gcWorld();
  const data = `${NS}/data/old-object`;
  const top = `${NS}/old-layout-object`;
  const raw = `${NS}/raw/file.csv`;
  const deep = `${NS}/exports/2026/part-0.parquet`;
  const dummy = `${NS}/dummy`;
  const kept = repository(world, [data, top, raw, deep, dummy]);
  const out = await markAndSweepInMemory(world.w.deps, world.w.records, {
    runId: "20270101T000000000Z-raw",
    storageNamespace: NS,
    rules: RULES,
    now: NOW,
  });
  expect(out.success).toBe(true);
  // What lakeFS's GC deletes goes (the test would pass vacuously if nothing were swept).
  expect(world.exists(data)).toBe(false);
  expect(world.exists(top)).toBe(false);
  for (const a of [raw, deep, dummy, kept]) expect(world.exists(a), a).toBe(true);
});

it("never deletes such a key that a mark's list holds (a mark written before marks left them out)", async () => {
  const world = gcWorld();
  const { w } = world;
  const data = `${NS}/data/old-object`;
  const raw = `${NS}/raw/file.csv`;
  world.put(raw);
  const kept = repository(world, [data]);
  const runId = "20270101T000000000Z-oldraw";
  const out = await markAndSweepInMemory(
    w.deps,
    w.records,
    { runId, storageNamespace: NS, rules: RULES, now: NOW },
    {
      afterMark: async () => {
        // The list as an earlier Lakeport wrote it, with the key (and no recorded ETag).
        const part = `repos/r1/${gcPaths.addressesTextPart(runId, 0)}`;
        const text = (await w.store.getText("lake", part)) ?? "";
        await w.store.put("lake", part, `${text}raw/file.csv\n`);
        const key = gcWorkKeys("r1", runId).markCounts(0);
        const { text_etag: _, ...counts } = JSON.parse((await w.store.getText("work", key))!);
        await w.store.put("work", key, JSON.stringify(counts));
      },
    },
  );
  expect(out.success).toBe(true);
  expect(world.exists(data)).toBe(false);
  expect(world.exists(raw)).toBe(true);
  expect(world.exists(kept)).toBe(true);
});
