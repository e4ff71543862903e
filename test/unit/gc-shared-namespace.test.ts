// lakeFS lets a second repository use a storage namespace already in use: created bare (how
// refs-restore copies a repository: "copying the _lakefs/ directory and restoring its refs") or
// read-only, it skips lakeFS's namespace-in-use check. Both repositories then reference the same
// objects, so what one repository's GC finds expired the other may still read. GC must not
// delete in a namespace another repository uses; a lookalike prefix is not the same namespace.
import { describe, expect, it } from "vitest";
import { startGcRun } from "../../lambdas/gc/app/start-gc-run";
import type { GcRun } from "../../lambdas/gc/domain/run-records";
import type { GcWorkflowInput } from "../../lambdas/gc/domain/workflow-input";
import type { GcStateStore } from "../../lambdas/gc/ports";
import { ConflictError } from "../../lambdas/shared/errors";
import { FakeLakeFs, FakeWorkflowStarter } from "../support/api-fakes";
import { markAndSweepInMemory, runGcPipeline } from "../support/gc-pipeline";
import { labelledObjects, memoryGcWorld } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";
const RULES = { default_retention_days: 3, branches: [] };

const repo = (id: string, storage_namespace: string) => ({
  id,
  creation_date: NOW - 30 * DAY,
  default_branch: "main",
  storage_namespace,
});

/** r1's main: c0 (20 days) a=A0; c1 (10 days) a=A1; c2 (1 day) a=A2. The mark: A0. */
function world() {
  const w = memoryGcWorld(new MemoryLakeFs(() => NOW), NOW * 1000 + 3_600_000);
  const { address, object } = labelledObjects(w.store, NS);
  const c0 = w.lakefs.addCommit([], new Map([["a", object("A0")]]), NOW - 20 * DAY);
  const c1 = w.lakefs.addCommit([c0], new Map([["a", object("A1")]]), NOW - 10 * DAY);
  const c2 = w.lakefs.addCommit([c1], new Map([["a", object("A2")]]), NOW - 1 * DAY);
  w.lakefs.createBranch("main", c2);
  w.lakefs.repositories.push(repo("r1", NS));
  const exists = (label: string) => w.store.objects.has(address[label]!.replace("s3://", ""));
  return { ...w, exists };
}

/** A mark and sweep of r1 in `w`, run `runId`. */
const markAndSweep = (w: ReturnType<typeof world>, runId: string) =>
  markAndSweepInMemory(w.deps, w.records, { runId, storageNamespace: NS, rules: RULES, now: NOW });

function input(r: GcRun, markRunId: string): GcWorkflowInput {
  return {
    repository: "r1",
    runId: r.runId,
    markId: r.markId,
    doMark: r.mode !== "sweep-only",
    doSweep: r.mode !== "mark-only",
    storageNamespace: NS,
    rules: RULES,
    now: NOW,
    markRunId,
    markNow: NOW,
    markRules: RULES,
  };
}

function run(runId: string, mode: GcRun["mode"], markId: string): GcRun {
  return {
    repository: "r1",
    runId,
    mode,
    markId,
    status: "running",
    counts: {},
    startedAt: new Date(NOW * 1000).toISOString(),
  };
}

describe("a storage namespace another repository uses", () => {
  it("is not swept by mark and sweep: the run fails naming the other repository, nothing is deleted", async () => {
    const w = world();
    // A copy of r1 restored on r1's namespace (bare), its branch still at c0: it reads A0.
    w.lakefs.repositories.push(repo("r1-copy", `${NS}/`));
    const out = await markAndSweep(w, "20270101T000000000Z-shared");
    expect(out.success).toBe(false);
    expect(out.errorMessage).toContain('"r1-copy"');
    expect(w.exists("A0")).toBe(true);
  });

  it("stops a sweep-only run of a mark taken before the other repository came", async () => {
    const w = world();
    const mark = run("20270101T000000000Z-mark", "mark-only", "m1");
    w.records.startMarking(mark, NOW, RULES);
    expect((await runGcPipeline(w.deps, input(mark, mark.runId))).success).toBe(true);

    w.lakefs.repositories.push(repo("r1-copy", NS));
    const sweep = run("20270101T010000000Z-sweep", "sweep-only", "m1");
    expect(w.records.startSweeping(sweep, NOW)).toBeUndefined();
    const out = await runGcPipeline(w.deps, input(sweep, mark.runId));
    expect(out.success).toBe(false);
    expect(out.errorMessage).toContain('"r1-copy"');
    expect(w.exists("A0")).toBe(true);
    // Nothing was deleted, so the mark can be swept once the namespace is r1's alone.
    w.lakefs.repositories.pop();
    const again = run("20270101T020000000Z-again", "sweep-only", "m1");
    expect(w.records.startSweeping(again, NOW)).toBeUndefined();
    expect((await runGcPipeline(w.deps, input(again, mark.runId))).success).toBe(true);
    expect(w.exists("A0")).toBe(false);
  });

  it("a repository on a lookalike prefix or inside another bucket does not stop the sweep", async () => {
    const w = world();
    w.lakefs.repositories.push(
      repo("r1-old", "s3://lake/repos/r1-old"),
      repo("other", "s3://lake2/repos/r1"),
    );
    const out = await markAndSweep(w, "20270101T000000000Z-lookalike");
    expect(out.success).toBe(true);
    expect(w.exists("A0")).toBe(false);
    expect(w.exists("A1")).toBe(true);
    expect(w.exists("A2")).toBe(true);
  });
});

describe("a repository whose namespace lies inside this one's", () => {
  it("keeps its objects even when only an expired commit of this repository links one", async () => {
    const w = world();
    // lakeFS accepts r2 at s3://lake/repos/r1/sub (its namespace-in-use check looks at
    // sub/_lakefs/ only). r1's c0 links r2's object, and r1's later commits drop the link.
    const theirs = `${NS}/sub/data/theirs`;
    const store = (a: string) => w.store.objects.set(a.replace("s3://", ""), new Uint8Array(1));
    store(theirs);
    w.lakefs.repositories.push(repo("r2", `${NS}/sub`));
    const main = w.lakefs.branches.get("main")!;
    const c2 = w.lakefs.commits.get(main.head)!;
    const c1 = w.lakefs.commits.get(c2.parents[0]!)!;
    w.lakefs.commits.get(c1.parents[0]!)!.tree.set("linked", theirs);
    const out = await markAndSweep(w, "20270101T000000000Z-nested");
    expect(out.success).toBe(true);
    expect(w.exists("A0")).toBe(false);
    expect(w.store.objects.has(theirs.replace("s3://", ""))).toBe(true);
  });
});

describe("namespaces written otherwise than lakeFS reads them", () => {
  // lakeFS parses a namespace as a URL: `caf%C3%A9` is `café`, a query or user info is dropped
  // (pkg/block). Compared as written, a bare copy on such a spelling was not seen as sharing
  // the namespace, and a repository nested at one was not protected.
  const CAFE = "s3://lake/repos/café";
  for (const spelling of [
    "s3://lake/repos/caf%C3%A9",
    "s3://lake/repos/café?restored",
    "s3://admin@lake/repos/café",
    "S3://lake/repos/café/",
  ]) {
    it(`another repository on ${spelling} shares ${CAFE}: the run fails, nothing is deleted`, async () => {
      const w = memoryGcWorld(new MemoryLakeFs(() => NOW), NOW * 1000 + 3_600_000);
      const { address, object } = labelledObjects(w.store, CAFE);
      const c0 = w.lakefs.addCommit([], new Map([["a", object("A0")]]), NOW - 20 * DAY);
      const c1 = w.lakefs.addCommit([c0], new Map([["a", object("A1")]]), NOW - 10 * DAY);
      w.lakefs.createBranch("main", c1);
      w.lakefs.repositories.push(repo("r1", CAFE), repo("r1-copy", spelling));
      const out = await markAndSweepInMemory(w.deps, w.records, {
        runId: "20270101T000000000Z-spelling",
        storageNamespace: CAFE,
        rules: RULES,
        now: NOW,
      });
      expect(out.success).toBe(false);
      expect(out.errorMessage).toContain('"r1-copy"');
      expect(w.store.objects.has(address.A0!.replace("s3://", ""))).toBe(true);
    });
  }

  for (const nested of [`${NS}/d%C3%A9mo`, `${NS}/démo?x`, `s3://u@lake/repos/r1/démo`]) {
    it(`a repository nested at ${nested} keeps its objects under démo/`, async () => {
      const w = world();
      const theirs = `${NS}/démo/data/theirs`;
      w.store.objects.set(theirs.replace("s3://", ""), new Uint8Array(1));
      w.lakefs.repositories.push(repo("r2", nested));
      const main = w.lakefs.branches.get("main")!;
      const c2 = w.lakefs.commits.get(main.head)!;
      const c1 = w.lakefs.commits.get(c2.parents[0]!)!;
      w.lakefs.commits.get(c1.parents[0]!)!.tree.set("linked", theirs);
      const out = await markAndSweep(w, "20270101T000000000Z-nested-spelling");
      expect(out.success).toBe(true);
      expect(w.exists("A0")).toBe(false);
      expect(w.store.objects.has(theirs.replace("s3://", ""))).toBe(true);
    });
  }
});

describe("starting a GC run", () => {
  const start = (lakefs: FakeLakeFs, created: GcRun[]) => {
    const gc = {
      getRules: async () => RULES,
      createRun: async (r: GcRun) => {
        created.push(r);
        return { created: true as const, run: r };
      },
      recordExecution: async () => undefined,
    } as unknown as GcStateStore;
    const deps = {
      gc,
      lakefs,
      workflows: new FakeWorkflowStarter(),
      gcStateMachineArn: "arn:aws:states:us-east-1:1:stateMachine:gc",
      now: () => new Date(NOW * 1000),
    };
    return (mode: "mark-and-sweep" | "mark-only") => startGcRun(deps, { repository: "r1", mode });
  };

  it("is refused (409) on a namespace another repository uses, before anything is recorded", async () => {
    const created: GcRun[] = [];
    const lakefs = new FakeLakeFs().addRepository("r1", NS).addRepository("r1-copy", `${NS}//`);
    for (const mode of ["mark-and-sweep", "mark-only"] as const) {
      const err = await start(lakefs, created)(mode).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as Error).message).toContain('"r1-copy"');
    }
    expect(created).toEqual([]);
  });

  it("is refused (409) on a namespace not written as lakeFS reads it, or not on S3", async () => {
    for (const [ns, why] of [
      ["s3://lake/repos/caf%C3%A9", "'%', '?' or '#'"],
      ["s3://lake/repos/r1?x", "'%', '?' or '#'"],
      ["s3://admin@lake/repos/r1", "user info"],
      ["s3://lake/repos/r1//", "more than one '/'"],
      ["gs://bucket/repos/r1", "s3:// storage namespaces only"],
      ["local://repos/r1", "s3:// storage namespaces only"],
    ] as const) {
      const created: GcRun[] = [];
      const lakefs = new FakeLakeFs().addRepository("r1", ns);
      const err = await start(lakefs, created)("mark-and-sweep").catch((e: unknown) => e);
      expect(err, ns).toBeInstanceOf(ConflictError);
      expect((err as Error).message).toContain(`storage namespace ${ns} of repository "r1"`);
      expect((err as Error).message).toContain(why);
      expect(created).toEqual([]);
    }
  });

  it("starts beside a repository on a lookalike prefix", async () => {
    const created: GcRun[] = [];
    const lakefs = new FakeLakeFs()
      .addRepository("r1", NS)
      .addRepository("r1-old", "s3://lake/repos/r1-old")
      .addRepository("nested", `${NS}/nested`);
    await start(lakefs, created)("mark-and-sweep");
    expect(created).toHaveLength(1);
  });
});

describe("a mark made in another storage namespace", () => {
  it("is not swept in the repository's namespace now, even where a copy holds its lists (revalidation checks too)", async () => {
    const w = world();
    const mark = run("20270101T000000000Z-mark", "mark-only", "m1");
    w.records.startMarking(mark, NOW, RULES);
    expect((await runGcPipeline(w.deps, input(mark, mark.runId))).success).toBe(true);
    w.records.marks.get("m1")!.storageNamespace = NS;
    // r1 created again on a copy of its namespace (the mark's lists included).
    const moved = `${NS}-moved`;
    const from = NS.replace("s3://", "");
    for (const [key, body] of [...w.store.objects]) {
      if (key.startsWith(`${from}/`)) {
        w.store.objects.set(`${from}-moved/${key.slice(from.length + 1)}`, body);
      }
    }
    w.lakefs.repositories[0]!.storage_namespace = moved;
    const before = w.store.objects.size;
    const sweep = run("20270101T010000000Z-sweep", "sweep-only", "m1");
    expect(w.records.startSweeping(sweep, NOW)).toBeUndefined();
    const out = await runGcPipeline(w.deps, {
      ...input(sweep, mark.runId),
      storageNamespace: moved,
    });
    expect(out.success).toBe(false);
    expect(out.errorMessage).toContain(`made in storage namespace ${NS}, not ${moved}`);
    expect(w.store.objects.size).toBeGreaterThanOrEqual(before);
    expect(w.store.deleted).toEqual([]);
  });
});
