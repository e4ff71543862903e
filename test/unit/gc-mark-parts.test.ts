// A sweep deletes what the mark's text lists in the storage namespace hold, part n holding the
// keys of hash partition n. Revalidation and the checks before each delete request spare keys
// per partition, so a list whose part number is not one of the mark's partitions would be
// swept with no protection, and a missing list would leave part of the mark unswept while the
// run reports success. Both must stop the sweep before it deletes anything.
import { expect, it } from "vitest";
import { gcPaths } from "../../lambdas/gc/domain/paths";
import { markAndSweepInMemory } from "../support/gc-pipeline";
import { memoryGcWorld } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";

function world() {
  const w = memoryGcWorld(new MemoryLakeFs(() => NOW), NOW * 1000 + 3_600_000);
  const data = `${NS}/data/old-object`;
  const kept = `${NS}/data/kept-object`;
  for (const a of [data, kept]) {
    w.store.objects.set(a.replace("s3://", ""), new TextEncoder().encode(a));
  }
  const c0 = w.lakefs.addCommit([], new Map([["old", data]]), NOW - 30 * DAY);
  const c1 = w.lakefs.addCommit([c0], new Map(), NOW - 29 * DAY);
  const c2 = w.lakefs.addCommit([c1], new Map([["kept", kept]]), NOW - 3600);
  w.lakefs.createBranch("main", c2);
  const exists = (address: string) => w.store.objects.has(address.replace("s3://", ""));
  return { w, data, kept, exists };
}

async function run(w: ReturnType<typeof world>["w"], runId: string, afterMark: () => unknown) {
  return markAndSweepInMemory(
    w.deps,
    w.records,
    { runId, storageNamespace: NS, rules: { default_retention_days: 7, branches: [] }, now: NOW },
    { afterMark: async () => void (await afterMark()) },
  );
}

it("a list part that is not one of the mark's partitions stops the sweep before any delete", async () => {
  const { w, data, kept, exists } = world();
  const runId = "20270101T000000000Z-stray";
  const out = await run(w, runId, () =>
    // Left by another mark with this id and more partitions (a reused namespace).
    w.store.put("lake", `repos/r1/${gcPaths.addressesTextPart(runId, 7)}`, "data/kept-object\n"),
  );
  expect(out.success).toBe(false);
  expect(out.errorMessage).toMatch(/part-00007\.txt.* not one of its \d+ partition/);
  expect(exists(kept)).toBe(true);
  expect(exists(data)).toBe(true);
});

it("a missing list part stops the sweep instead of reporting success", async () => {
  const { w, data, exists } = world();
  const runId = "20270101T000000000Z-missing";
  const out = await run(w, runId, () =>
    w.store.objects.delete(`lake/repos/r1/${gcPaths.addressesTextPart(runId, 0)}`),
  );
  expect(out.success).toBe(false);
  expect(out.errorMessage).toMatch(/part-00000\.txt is missing/);
  expect(exists(data)).toBe(true);
});

it("a second list of one of its parts (a copy in a folder beside the mark's own) stops the sweep before any delete", async () => {
  const { w, data, kept, exists } = world();
  const runId = "20270101T000000000Z-copied";
  // Its number is read from the name's end: part 0 again, checked against partition 0's
  // revived keys only, whatever partitions its keys are in.
  const copy = `repos/r1/${gcPaths.addressesTextPrefix(runId)}old/part-00000.txt`;
  const out = await run(w, runId, () => w.store.put("lake", copy, "data/kept-object\n"));
  expect(out.success).toBe(false);
  expect(out.errorMessage).toMatch(/old\/part-00000\.txt and .* are both a list of its part 0/);
  expect(exists(kept)).toBe(true);
  expect(exists(data)).toBe(true);
});

it("a list edited in the namespace after the mark wrote it (a live key added) stops the sweep before any delete", async () => {
  const { w, data, kept, exists } = world();
  const runId = "20270101T000000000Z-edited";
  const part = `repos/r1/${gcPaths.addressesTextPart(runId, 0)}`;
  // Revalidation lists only what changed since the mark: a key the list gains afterwards, held
  // by a commit the mark kept, is checked by nothing.
  const out = await run(w, runId, async () =>
    w.store.put("lake", part, `${await w.store.getText("lake", part)}data/kept-object\n`),
  );
  expect(out.success).toBe(false);
  expect(out.errorMessage).toMatch(/part-00000\.txt was changed since the mark wrote it/);
  expect(exists(kept)).toBe(true);
  expect(exists(data)).toBe(true);
});

it("a list edited after revalidation checked it stops its part's sweep before any delete", async () => {
  const { w, data, kept, exists } = world();
  const runId = "20270101T000000000Z-edited-late";
  const part = `repos/r1/${gcPaths.addressesTextPart(runId, 0)}`;
  const out = await markAndSweepInMemory(
    w.deps,
    w.records,
    { runId, storageNamespace: NS, rules: { default_retention_days: 7, branches: [] }, now: NOW },
    {
      beforeSweepMap: async () =>
        w.store.put("lake", part, `${await w.store.getText("lake", part)}data/kept-object\n`),
    },
  );
  expect(out.success).toBe(false);
  expect(out.errorMessage).toMatch(/part-00000\.txt was changed since the mark wrote it/);
  expect(exists(kept)).toBe(true);
  expect(exists(data)).toBe(true);
});
