// Two attempts of one sweep's revalidation step (or of one catch-up round) running at once:
// the state machine retries a Lambda service error (a client timeout of the invoke) while the
// first attempt still runs. The repository moves between their reads, and their writes to the
// work bucket interleave (an attempt stalls on a read or a write, a big commit graph, while
// the other runs). The sweep must still delete nothing referenced: the map must list the items
// of the very snapshot the catch-up and the sweep's checks start from.
import { describe, expect, it } from "vitest";
import type { RevalidateResult } from "../../lambdas/gc/app/revalidate";
import type { GcRun } from "../../lambdas/gc/domain/run-records";
import type { GcWorkflowInput } from "../../lambdas/gc/domain/workflow-input";
import type { GcObjectStore, GcStepDeps } from "../../lambdas/gc/ports";
import { type PipelineHooks, runGcPipeline } from "../support/gc-pipeline";
import { type MemoryGcStore, memoryGcWorld } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";
const RULES = { default_retention_days: 3, branches: [] };

type Access = (key: string, op: "read" | "write") => boolean;

/** `store` whose first access `at` matches waits until released. */
function heldAt(store: MemoryGcStore, at: Access) {
  let reached!: () => void;
  let release!: () => void;
  const arrived = new Promise<void>((r) => {
    reached = r;
  });
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let held = false;
  const hold = async (key: string, op: "read" | "write") => {
    if (held || !at(key, op)) return;
    held = true;
    reached();
    await gate;
  };
  const s3: GcObjectStore = {
    put: async (b, k, body) => {
      await hold(k, "write");
      return store.put(b, k, body);
    },
    putIf: async (b, k, body, condition, type) => {
      await hold(k, "write");
      return store.putIf(b, k, body, condition, type);
    },
    getText: async (b, k) => {
      await hold(k, "read");
      return store.getText(b, k);
    },
    getVersioned: (b, k) => store.getVersioned(b, k),
    lines: (b, k, o) => store.lines(b, k, o),
    upload: (b, k) => store.upload(b, k),
    list: (b, p) => store.list(b, p),
    deleteKeys: (b, keys, o) => store.deleteKeys(b, keys, o),
  };
  return { s3, arrived, release };
}

/** An access to the items or graph of a revalidation or catch-up attempt (either naming). */
const revalidationFile =
  (name: "items" | "commits", access: "read" | "write" = "write"): Access =>
  (key, op) =>
    op === access &&
    key.includes("/revalidation/") &&
    new RegExp(`/${name}(-\\d+)?\\.jsonl$`).test(key);

const MARK_RUN = "20270101T000000000Z-mark";

/**
 * main: c0 (25 days) x=X0 link=L0; c1 (20 days) a=A0 old=O0, x and link deleted; c2 (15 days)
 * a=A1, old deleted; c3 (1 day) a=A2. Retention 3 days: c2 and c3 are kept, and a mark-only
 * run marks X0, L0, A0 and O0. `revive` then makes A0, O0 and L0 referenced: a branch on the
 * expired c1, and a commit linking L0 (then one unlinking it: only a listing of the commit
 * between finds it).
 */
async function markedRepository() {
  const w = memoryGcWorld(new MemoryLakeFs(() => NOW), NOW * 1000 + 3_600_000);
  let seq = 0;
  const object = (label: string) => {
    const address = `${NS}/data/${label}-${seq++}`;
    w.store.objects.set(address.replace("s3://", ""), new TextEncoder().encode(label));
    return address;
  };
  const X0 = object("X0");
  const L0 = object("L0");
  const c0 = w.lakefs.addCommit(
    [],
    new Map([
      ["x", X0],
      ["link", L0],
    ]),
    NOW - 25 * DAY,
  );
  w.lakefs.createBranch("main", c0);
  const A0 = object("A0");
  const O0 = object("O0");
  for (const [path, address] of [
    ["a", A0],
    ["old", O0],
    ["x", null],
    ["link", null],
  ] as const) {
    w.lakefs.stage("main", path, address);
  }
  const c1 = w.lakefs.commit("main", NOW - 20 * DAY);
  w.lakefs.stage("main", "a", object("A1"));
  w.lakefs.stage("main", "old", null);
  w.lakefs.commit("main", NOW - 15 * DAY);
  w.lakefs.stage("main", "a", object("A2"));
  w.lakefs.commit("main", NOW - 1 * DAY);

  const input = (runId: string, mode: GcRun["mode"]): GcWorkflowInput => ({
    repository: "r1",
    runId,
    markId: "m1",
    doMark: mode !== "sweep-only",
    doSweep: mode !== "mark-only",
    storageNamespace: NS,
    rules: RULES,
    now: NOW,
    markRunId: MARK_RUN,
    markNow: NOW,
    markRules: RULES,
  });
  const record = (runId: string, mode: GcRun["mode"]): GcRun => ({
    repository: "r1",
    runId,
    mode,
    markId: "m1",
    status: "running",
    counts: {},
    startedAt: new Date(NOW * 1000).toISOString(),
  });
  w.records.startMarking(record(MARK_RUN, "mark-only"), NOW, RULES);
  expect((await runGcPipeline(w.deps, input(MARK_RUN, "mark-only"))).success).toBe(true);

  const exists = (address: string) => w.store.objects.has(address.replace("s3://", ""));
  return {
    ...w,
    revive: () => {
      w.lakefs.createBranch("back", c1);
      w.lakefs.stage("main", "restored", L0);
      w.lakefs.commit("main", NOW - 60);
      w.lakefs.stage("main", "restored", null);
      w.lakefs.commit("main", NOW);
    },
    /** A sweep-only run of the mark with these hooks; then what it deleted must be only X0. */
    sweep: async (hooks: PipelineHooks) => {
      const runId = "20270101T010000000Z-sweep";
      expect(w.records.startSweeping(record(runId, "sweep-only"), NOW)).toBeUndefined();
      const out = await runGcPipeline(w.deps, input(runId, "sweep-only"), hooks);
      expect(out.errorMessage).toBeUndefined();
      expect(out.success).toBe(true);
      expect([A0, O0, L0].filter((a) => !exists(a))).toEqual([]);
      expect(w.store.deleted).toEqual([X0.replace("s3://", "")]);
    },
  };
}

/** A commit during the revalidation map: the first catch-up round has work. */
const movedDuringTheMap = (w: { lakefs: MemoryLakeFs }) => () => {
  w.lakefs.stage("main", "new", `${NS}/data/new`);
  w.lakefs.commit("main", NOW);
};

/** Invokes with `deps` whose store holds at `at`; resolves once held there. */
async function stalled(
  w: { store: MemoryGcStore; deps: GcStepDeps },
  invoke: (deps: GcStepDeps) => Promise<RevalidateResult>,
  at: Access,
) {
  const held = heldAt(w.store, at);
  const done = invoke({ ...w.deps, s3: held.s3 });
  await held.arrived;
  return { done, release: held.release };
}

/**
 * The first attempt reads the repository and stalls before its first write; the repository
 * moves; the retry reads it, writes its items and stalls on its graph; the first attempt, with
 * the older view, then writes; the state machine goes on with the retry's answer.
 */
async function olderViewWritesAfterRetry(
  w: Parameters<typeof stalled>[0] & { revive: () => void },
  invoke: (deps: GcStepDeps) => Promise<RevalidateResult>,
) {
  const first = await stalled(w, invoke, revalidationFile("items"));
  w.revive();
  const retry = await stalled(w, invoke, revalidationFile("commits"));
  first.release();
  await first.done;
  retry.release();
  return retry.done;
}

/**
 * The first attempt stalls at `at`, before it reads the repository; the retry runs through; the
 * repository moves; the first attempt then reads it and writes last. The retry's answer is used.
 */
async function firstReadsAfterRetry(
  w: Parameters<typeof stalled>[0] & { revive: () => void },
  invoke: (deps: GcStepDeps) => Promise<RevalidateResult>,
  at: Access,
) {
  const first = await stalled(w, invoke, at);
  const answer = await invoke(w.deps);
  w.revive();
  first.release();
  await first.done;
  return answer;
}

describe("overlapping attempts of the revalidation step", () => {
  it("the retry's answer lists what the sweep's snapshot calls covered when the first attempt, with an older view, writes its items after the retry's", async () => {
    const w = await markedRepository();
    await w.sweep({
      revalidate: (invoke) => olderViewWritesAfterRetry(w, invoke),
    });
  });

  it("the retry's answer lists what the sweep's snapshot calls covered when the first attempt, reading the repository after the retry ran, writes last", async () => {
    const w = await markedRepository();
    await w.sweep({
      // The first attempt stalls on reading the mark's graph, before it reads the repository.
      revalidate: (invoke) =>
        firstReadsAfterRetry(
          w,
          invoke,
          (k, op) =>
            op === "read" &&
            k.startsWith(`gc/r1/${MARK_RUN}/commits-attempts/`) &&
            k.endsWith("/commits.jsonl"),
        ),
    });
  });

  it("a catch-up round's answer lists what the snapshot calls covered when its first attempt writes its items after the retry's", async () => {
    const w = await markedRepository();
    let round = 0;
    await w.sweep({
      afterRevalidationMap: movedDuringTheMap(w),
      catchUp: async (invoke) => {
        if (++round > 1) return invoke();
        return olderViewWritesAfterRetry(w, invoke);
      },
    });
  });

  it("a catch-up round's answer lists what the snapshot calls covered when its first attempt, reading the repository after the retry ran, writes last", async () => {
    const w = await markedRepository();
    let round = 0;
    await w.sweep({
      afterRevalidationMap: movedDuringTheMap(w),
      catchUp: async (invoke) => {
        if (++round > 1) return invoke();
        // The first attempt stalls on reading the graph, before it reads the repository.
        return firstReadsAfterRetry(w, invoke, revalidationFile("commits", "read"));
      },
    });
  });
});
