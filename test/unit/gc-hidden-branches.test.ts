// lakeFS branches can be created hidden (`hidden: true`): lakeFS's branch listing leaves them
// out unless `show_hidden=true` is asked for, but they are read by name like any other branch,
// and lakeFS's own GC starts at their heads and keeps their uncommitted entries
// (GCBranchIterator and the uncommitted GC list branches with ShowHidden). A GC that lists
// branches the default way would expire a hidden branch's head and sweep what it or its
// staging area references.
import { expect, it } from "vitest";
import { markAndSweepInMemory } from "../support/gc-pipeline";
import { memoryGcWorld } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";
const RULES = { default_retention_days: 7, branches: [] };

function world() {
  const w = memoryGcWorld(new MemoryLakeFs(() => NOW), NOW * 1000 + 3_600_000);
  const put = (address: string) =>
    w.store.objects.set(address.replace("s3://", ""), new TextEncoder().encode(address));
  const exists = (address: string) => w.store.objects.has(address.replace("s3://", ""));
  return { w, put, exists };
}

it("keeps the head of a hidden branch and what it references", async () => {
  const { w, put, exists } = world();
  const onHidden = `${NS}/data/on-hidden-head`;
  const garbage = `${NS}/data/garbage`;
  for (const a of [onHidden, garbage]) put(a);
  // main: c0 (garbage) <- c1 (onHidden instead) <- c2 (empty) <- head, all but the head old.
  const c0 = w.lakefs.addCommit([], new Map([["g", garbage]]), NOW - 31 * DAY);
  const c1 = w.lakefs.addCommit([c0], new Map([["a", onHidden]]), NOW - 30 * DAY);
  const c2 = w.lakefs.addCommit([c1], new Map(), NOW - 29 * DAY);
  w.lakefs.createBranch("main", w.lakefs.addCommit([c2], new Map(), NOW - 3600));
  // A hidden branch reads c1.
  w.lakefs.createBranch("snapshot", c1, { hidden: true });
  const out = await markAndSweepInMemory(w.deps, w.records, {
    runId: "20270101T000000000Z-hidden-head",
    storageNamespace: NS,
    rules: RULES,
    now: NOW,
  });
  expect(out.success).toBe(true);
  expect(exists(garbage), "the expired garbage goes (the test is not vacuous)").toBe(false);
  expect(exists(onHidden), "a hidden branch's head is a starting point").toBe(true);
});

it("keeps an object only a hidden branch's uncommitted entry links, and still sweeps garbage", async () => {
  const { w, put, exists } = world();
  const linked = `${NS}/data/linked-on-hidden`;
  const garbage = `${NS}/data/garbage`;
  for (const a of [linked, garbage]) put(a);
  const c0 = w.lakefs.addCommit(
    [],
    new Map([
      ["a", linked],
      ["g", garbage],
    ]),
    NOW - 30 * DAY,
  );
  const c1 = w.lakefs.addCommit([c0], new Map(), NOW - 29 * DAY);
  const c2 = w.lakefs.addCommit([c1], new Map(), NOW - 3600);
  w.lakefs.createBranch("main", c2);
  w.lakefs.createBranch("scratch", c2, { hidden: true });
  w.lakefs.stage("scratch", "restored/a", linked);
  const out = await markAndSweepInMemory(w.deps, w.records, {
    runId: "20270101T000000000Z-hidden-staged",
    storageNamespace: NS,
    rules: RULES,
    now: NOW,
  });
  expect(out.success).toBe(true);
  expect(exists(garbage), "the expired garbage goes (the test is not vacuous)").toBe(false);
  expect(exists(linked), "staged on a hidden branch: never deleted").toBe(true);
});

it("keeps what a hidden branch created on an expired commit between mark and sweep references", async () => {
  const { w, put, exists } = world();
  const revived = `${NS}/data/revived`;
  const garbage = `${NS}/data/garbage`;
  for (const a of [revived, garbage]) put(a);
  const c0 = w.lakefs.addCommit([], new Map([["g", garbage]]), NOW - 31 * DAY);
  const c1 = w.lakefs.addCommit([c0], new Map([["a", revived]]), NOW - 30 * DAY);
  const c2 = w.lakefs.addCommit([c1], new Map(), NOW - 29 * DAY);
  w.lakefs.createBranch("main", w.lakefs.addCommit([c2], new Map(), NOW - 3600));
  const out = await markAndSweepInMemory(
    w.deps,
    w.records,
    {
      runId: "20270101T000000000Z-hidden-revived",
      storageNamespace: NS,
      rules: RULES,
      now: NOW,
    },
    { afterMark: () => w.lakefs.createBranch("restore", c1, { hidden: true }) },
  );
  expect(out.success).toBe(true);
  expect(exists(garbage)).toBe(false);
  expect(exists(revived), "revalidation sees the hidden branch").toBe(true);
});

it("the sweep's checks see a hidden branch created on an expired commit during the deletes", async () => {
  const { w, put, exists } = world();
  const revived = `${NS}/data/revived`;
  put(revived);
  const c0 = w.lakefs.addCommit([], new Map([["a", revived]]), NOW - 30 * DAY);
  const c1 = w.lakefs.addCommit([c0], new Map(), NOW - 29 * DAY);
  w.lakefs.createBranch("main", w.lakefs.addCommit([c1], new Map(), NOW - 3600));
  const out = await markAndSweepInMemory(
    w.deps,
    w.records,
    {
      runId: "20270101T000000000Z-hidden-during",
      storageNamespace: NS,
      rules: RULES,
      now: NOW,
    },
    { beforeSweepMap: () => w.lakefs.createBranch("restore", c0, { hidden: true }) },
  );
  expect(out.success).toBe(false);
  expect(out.errorMessage).toContain(`commit ${c0} became active again during the sweep`);
  expect(exists(revived)).toBe(true);
});
