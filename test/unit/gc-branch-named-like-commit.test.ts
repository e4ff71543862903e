// lakeFS resolves a ref that is a full commit id (64 hex digits) as that commit before any
// branch of the same name (pkg/graveler/ref/resolve_ref.go), and lakeFS accepts such branch
// names. GC reads a branch's uncommitted entries through refs (listing and stat by the branch
// name), so for such a branch it would read the commit instead, miss the branch's staged
// entries, and sweep an object one of them links. The API offers no other way to read them:
// GC refuses to run instead, naming the branch.
import { expect, it } from "vitest";
import { markAndSweepInMemory } from "../support/gc-pipeline";
import { memoryGcWorld } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";
const HEX = "5f1c0a3e".repeat(8);

it("does not sweep an object staged on a branch named after a commit id; it fails naming the branch", async () => {
  const w = memoryGcWorld(new MemoryLakeFs(() => NOW), NOW * 1000 + 3_600_000);
  const put = (address: string) =>
    w.store.objects.set(address.replace("s3://", ""), new TextEncoder().encode(address));
  const exists = (address: string) => w.store.objects.has(address.replace("s3://", ""));
  const old = `${NS}/data/old-version`;
  put(old);
  const c0 = w.lakefs.addCommit([], new Map([["p", old]]), NOW - 30 * DAY);
  const c1 = w.lakefs.addCommit([c0], new Map(), NOW - 29 * DAY);
  // main's head has a lakeFS-like id; a branch named after it (as automation names branches
  // after the commit they start from) brings the old version back, uncommitted.
  const head = w.lakefs.addCommit([c1], new Map(), NOW - 3600, HEX);
  w.lakefs.createBranch("main", head);
  w.lakefs.createBranch(HEX, head);
  w.lakefs.stage(HEX, "restored/p", old);
  const out = await markAndSweepInMemory(w.deps, w.records, {
    runId: "20270101T000000000Z-hexbranch",
    storageNamespace: NS,
    rules: { default_retention_days: 7, branches: [] },
    now: NOW,
  });
  expect(exists(old), "staged on a branch: never deleted").toBe(true);
  expect(out.success).toBe(false);
  expect(JSON.stringify(out)).toContain(HEX);
});

it("reads a branch named with 64 hex digits that are no commit's id as usual", async () => {
  const w = memoryGcWorld(new MemoryLakeFs(() => NOW), NOW * 1000 + 3_600_000);
  const put = (address: string) =>
    w.store.objects.set(address.replace("s3://", ""), new TextEncoder().encode(address));
  const exists = (address: string) => w.store.objects.has(address.replace("s3://", ""));
  const old = `${NS}/data/old-version`;
  const garbage = `${NS}/data/garbage`;
  for (const a of [old, garbage]) put(a);
  const c0 = w.lakefs.addCommit(
    [],
    new Map([
      ["p", old],
      ["g", garbage],
    ]),
    NOW - 30 * DAY,
  );
  const c1 = w.lakefs.addCommit([c0], new Map(), NOW - 29 * DAY);
  const head = w.lakefs.addCommit([c1], new Map(), NOW - 3600);
  w.lakefs.createBranch("main", head);
  w.lakefs.createBranch(HEX, head);
  w.lakefs.stage(HEX, "restored/p", old);
  const out = await markAndSweepInMemory(w.deps, w.records, {
    runId: "20270101T000000000Z-hexnocommit",
    storageNamespace: NS,
    rules: { default_retention_days: 7, branches: [] },
    now: NOW,
  });
  expect(out.success).toBe(true);
  expect(exists(garbage)).toBe(false);
  expect(exists(old)).toBe(true);
});
