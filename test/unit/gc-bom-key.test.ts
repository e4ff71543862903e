// A key may begin with U+FEFF (the byte-order mark's character; S3 and lakeFS take it as any
// other). Mark writes its lists as text, one key a line; read back by a decoder that drops a
// leading byte-order mark, the first line of a list named another key: with `\uFEFFdata/live`
// marked (only an expired commit holds it) and `data/live` in main's head, the sweep deleted
// `data/live`. Here at the namespace's top level (`\uFEFFlive`, `live`): marks leave out keys
// outside `data/` and the top level, which lakeFS's GC never deletes. The list is read with the
// mark kept (S3ObjectStore.lines; on the embedded S3,
// test/integration/s3-object-store-listing.test.ts).
import { expect, it } from "vitest";
import { markAndSweepInMemory } from "../support/gc-pipeline";
import { memoryGcWorld } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";

it("sweeps the marked key that begins with U+FEFF, and not the live key without it", async () => {
  const { lakefs, store, records, deps } = memoryGcWorld(new MemoryLakeFs(() => NOW), NOW * 1000);
  const live = `${NS}/live`;
  const bom = `${NS}/\uFEFFlive`;
  const at = (address: string) => address.replace("s3://", "");
  for (const a of [live, bom]) store.objects.set(at(a), new TextEncoder().encode(a));
  const c0 = lakefs.addCommit([], new Map([["old", bom]]), NOW - 20 * DAY);
  const c1 = lakefs.addCommit([c0], new Map([["p", live]]), NOW - 10 * DAY);
  lakefs.createBranch("main", c1);
  const out = await markAndSweepInMemory(deps, records, {
    runId: "20270101T000000000Z-bom",
    storageNamespace: NS,
    rules: { default_retention_days: 3, branches: [] },
    now: NOW,
  });
  expect(out.success).toBe(true);
  expect(store.objects.has(at(live)), "main's head holds live").toBe(true);
  expect(store.objects.has(at(bom)), "only the expired commit held the other").toBe(false);
});
