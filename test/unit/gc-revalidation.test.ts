// A sweep never deletes what became referenced again after its mark: revivals between a
// mark-only run and a sweep-only run (a branch or tag on an expired commit, a commit linking
// an old address, a revert, an uncommitted link, a branch moved back), between revalidation
// and the deletes (the sweep guard), and on random repositories (property). The steps run
// in the state machine's order over fakes at their ports (test/support/gc-pipeline.ts).
import fc from "fast-check";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { describe, expect, it, vi } from "vitest";
import { S3GcObjectStore } from "../../lambdas/gc/adapters/s3-object-store";
import type { RevalidateResult } from "../../lambdas/gc/app/revalidate";
import { CommitGraph } from "../../lambdas/gc/domain/commit-graph";
import { computeRetention, startingPoints } from "../../lambdas/gc/domain/retention";
import { nearestBases, planRevalidation } from "../../lambdas/gc/domain/revalidation";
import type { GcRules } from "../../lambdas/gc/domain/rules";
import type { GcRun } from "../../lambdas/gc/domain/run-records";
import type { GcWorkflowInput } from "../../lambdas/gc/domain/workflow-input";
import type { GcStepDeps } from "../../lambdas/gc/ports";
import { runGcPipeline } from "../support/gc-pipeline";
import { type MemoryGcRecords, type MemoryGcStore, memoryGcWorld } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";
const BUCKET = "lake";
const RULES = { default_retention_days: 3, branches: [] };

interface World {
  lakefs: MemoryLakeFs;
  store: MemoryGcStore;
  records: MemoryGcRecords;
  deps: GcStepDeps;
  /** label -> physical address */
  address: Record<string, string>;
  commit: Record<string, string>;
}

let seq = 0;
function world(): World {
  const w = memoryGcWorld(new MemoryLakeFs(() => NOW), NOW * 1000 + 3_600_000);
  return { ...w, address: {}, commit: {} };
}

/** An object written into the namespace (bytes in the store) and its address. */
function object(w: World, label: string): string {
  const address = `${NS}/data/${label}-${seq++}`;
  w.address[label] = address;
  w.store.objects.set(address.replace("s3://", ""), new TextEncoder().encode(label));
  return address;
}

const exists = (w: World, label: string) =>
  w.store.objects.has(w.address[label]!.replace("s3://", ""));

/**
 * main: c0 (20 days) a=A0 old=O0 keep=K0; c1 (15 days) a=A1, old deleted; c2 (10 days)
 * a=A2; c3 (1 day) a=A3. Retention 3 days: c3 and c2 active, c1 and c0 expired.
 * The mark: A0, O0, A1 (K0 is in every commit).
 */
function repository(): World {
  const w = world();
  const c0 = w.lakefs.addCommit(
    [],
    new Map([
      ["a", object(w, "A0")],
      ["old", object(w, "O0")],
      ["keep", object(w, "K0")],
    ]),
    NOW - 20 * DAY,
  );
  w.lakefs.createBranch("main", c0);
  w.lakefs.stage("main", "a", object(w, "A1"));
  w.lakefs.stage("main", "old", null);
  const c1 = w.lakefs.commit("main", NOW - 15 * DAY);
  w.lakefs.stage("main", "a", object(w, "A2"));
  const c2 = w.lakefs.commit("main", NOW - 10 * DAY);
  w.lakefs.stage("main", "a", object(w, "A3"));
  const c3 = w.lakefs.commit("main", NOW - 1 * DAY);
  w.commit = { c0, c1, c2, c3 };
  return w;
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

function input(r: GcRun, mark: { runId: string; now: number }): GcWorkflowInput {
  return {
    repository: "r1",
    runId: r.runId,
    markId: r.markId,
    doMark: r.mode !== "sweep-only",
    doSweep: r.mode !== "mark-only",
    storageNamespace: NS,
    rules: RULES,
    now: mark.now,
    markRunId: mark.runId,
    markNow: mark.now,
    markRules: RULES,
  };
}

async function markOnly(w: World, markId = "m1") {
  const r = run(`20270101T000000000Z-mark${seq++}`, "mark-only", markId);
  w.records.startMarking(r, NOW, RULES);
  const out = await runGcPipeline(w.deps, input(r, { runId: r.runId, now: NOW }));
  expect(out.success).toBe(true);
  return r;
}

/** A sweep-only run, or the start's refusal (as startGcRun would answer 409). */
async function sweepOnly(w: World, markRun: GcRun, hooks = {}) {
  const r = run(`20270101T010000000Z-sweep${seq++}`, "sweep-only", markRun.markId);
  const refusal = w.records.startSweeping(r, NOW);
  if (refusal) return { success: false, errorMessage: refusal, counts: {} };
  return runGcPipeline(w.deps, input(r, { runId: markRun.runId, now: NOW }), hooks);
}

describe("revalidation before the sweep", () => {
  it("without revivals deletes exactly the mark", async () => {
    const w = repository();
    const m = await markOnly(w);
    const out = await sweepOnly(w, m);
    expect(out.success).toBe(true);
    expect(["A0", "O0", "A1"].map((l) => exists(w, l))).toEqual([false, false, false]);
    expect(["A2", "A3", "K0"].map((l) => exists(w, l))).toEqual([true, true, true]);
    expect(out.counts).toMatchObject({ deleted_objects: 3, spared_objects: 0 });
  });

  it.each<[string, (w: World) => void, string[]]>([
    [
      "a branch created from an expired commit",
      (w) => w.lakefs.createBranch("back", w.commit.c1!),
      ["A1"],
    ],
    [
      "a new commit that links an old physical address",
      (w) => {
        w.lakefs.stage("main", "old-again", w.address.O0!);
        w.lakefs.commit("main");
      },
      ["O0"],
    ],
    [
      "a revert of the commit that deleted an object",
      (w) => w.lakefs.revert("main", w.commit.c1!),
      ["O0", "A0"],
    ],
    ["a tag on an expired commit", (w) => w.lakefs.createTag("v0", w.commit.c0!), ["A0", "O0"]],
    [
      "an object staged with an old address",
      (w) => w.lakefs.stage("main", "staged", w.address.A1!),
      ["A1"],
    ],
    [
      "a branch moved back to an expired commit (hard reset)",
      (w) => {
        w.lakefs.createBranch("dev", w.commit.c3!);
        w.lakefs.hardReset("dev", w.commit.c0!);
      },
      ["A0", "O0"],
    ],
  ])("keeps what %s revives, and deletes the rest of the mark", async (_name, revive, kept) => {
    const w = repository();
    const m = await markOnly(w);
    revive(w);
    const out = await sweepOnly(w, m);
    expect(out.success).toBe(true);
    for (const label of ["A0", "O0", "A1"]) {
      expect(exists(w, label), label).toBe(kept.includes(label));
    }
    expect(out.counts.spared_objects).toBe(kept.length);
    expect(out.counts.deleted_objects).toBe(3 - kept.length);
  });

  it.each<[string, GcRules, string[]]>([
    [
      "main's retention raised",
      { default_retention_days: 3, branches: [{ branch_id: "main", retention_days: 30 }] },
      ["A0", "O0", "A1"],
    ],
    ["the default raised", { default_retention_days: 12, branches: [] }, ["A1"]],
    [
      "a rule added for a branch created since on main's head",
      { default_retention_days: 3, branches: [{ branch_id: "long", retention_days: 14 }] },
      ["A1"],
    ],
  ])(
    "a sweep-only run keeps what the rules in force keep when %s after the mark-only run",
    async (_name, rules, kept) => {
      const w = repository();
      const m = await markOnly(w);
      w.lakefs.createBranch("long", w.commit.c3!);
      w.records.rules = rules;
      const out = await sweepOnly(w, m);
      expect(out.success).toBe(true);
      for (const label of ["A0", "O0", "A1"]) {
        expect(exists(w, label), label).toBe(kept.includes(label));
      }
    },
  );

  it("keeps what a tag revives when the mark's commits.csv in the namespace was edited to call it kept", async () => {
    // The CSV lies in the namespace, where anyone with write access can edit it; a commit it
    // wrongly calls kept would not be listed when it becomes active again.
    const w = repository();
    const m = await markOnly(w);
    const key = `lake/repos/r1/_lakefs/retention/gc/commits/run_id=${m.runId}/commits.csv`;
    const csv = w.store.text(key)!;
    expect(csv).toContain(`${w.commit.c1},true`);
    w.store.objects.set(
      key,
      new TextEncoder().encode(csv.replace(`${w.commit.c1},true`, `${w.commit.c1},false`)),
    );
    w.lakefs.createTag("v1", w.commit.c1!);
    const out = await sweepOnly(w, m);
    expect(out.success).toBe(true);
    expect(exists(w, "A1"), "A1 is in tagged c1").toBe(true);
    expect(["A0", "O0"].map((l) => exists(w, l))).toEqual([false, false]);
  });

  it("keeps what is linked between revalidation and the deletes (the sweep guard)", async () => {
    const w = repository();
    const m = await markOnly(w);
    const out = await sweepOnly(w, m, {
      beforeSweepMap: () => {
        w.lakefs.stage("main", "late-link", w.address.O0!);
      },
    });
    expect(out.success).toBe(true);
    expect([exists(w, "A0"), exists(w, "O0"), exists(w, "A1")]).toEqual([false, true, false]);
    expect(out.counts).toMatchObject({
      spared_objects: 1,
      spared_at_delete: 1,
      spared_by_revalidation: 0,
      deleted_objects: 2,
    });
    // The deleted-objects log lists what was deleted and says what was spared.
    const deleted: string[] = [];
    const meta: Record<string, number> = {};
    for (const key of w.store.keysUnder("lake/repos/r1/_lakefs/logs/gc/deleted_objects/")) {
      const bytes = w.store.objects.get(key)!;
      const buffer = bytes.buffer.slice(
        bytes.byteOffset,
        bytes.byteOffset + bytes.byteLength,
      ) as ArrayBuffer;
      const rows = (await parquetReadObjects({ file: buffer })) as { address: string }[];
      deleted.push(...rows.map((r) => `${NS}/${r.address}`));
      for (const kv of parquetMetadata(buffer).key_value_metadata ?? []) {
        meta[kv.key] = (meta[kv.key] ?? 0) + Number(kv.value);
      }
    }
    expect(deleted.sort()).toEqual([w.address.A0, w.address.A1].sort());
    expect(meta).toEqual({
      "lakeport.marked_candidates": 3,
      "lakeport.spared_at_delete": 1,
      "lakeport.spared_by_revalidation": 0,
    });
  });

  it("stops when an expired commit becomes active again during the deletes; the same mark's next sweep keeps what it references", async () => {
    const w = repository();
    const m = await markOnly(w);
    const stopped = await sweepOnly(w, m, {
      beforeSweepMap: () => {
        w.lakefs.createBranch("late", w.commit.c1!);
      },
    });
    expect(stopped.success).toBe(false);
    expect(stopped.errorMessage).toContain(
      `commit ${w.commit.c1} became active again during the sweep`,
    );
    expect(stopped.errorMessage).toContain("--sweep-only --mark-id");
    expect(w.store.deleted).toEqual([]);
    const resumed = await sweepOnly(w, m);
    expect(resumed.success).toBe(true);
    expect([exists(w, "A0"), exists(w, "O0"), exists(w, "A1")]).toEqual([false, false, true]);
    expect(resumed.counts).toMatchObject({ spared_by_revalidation: 1, deleted_objects: 2 });
  });

  it("a mark-and-sweep run keeps what is revived between its mark and sweep phases", async () => {
    const w = repository();
    const r = run("20270101T000000000Z-both", "mark-and-sweep", "20270101T000000000Z-both");
    w.records.startMarking(r, NOW, RULES);
    const out = await runGcPipeline(w.deps, input(r, { runId: r.runId, now: NOW }), {
      afterMark: () => {
        w.lakefs.revert("main", w.commit.c1!);
      },
    });
    expect(out.success).toBe(true);
    expect([exists(w, "A0"), exists(w, "O0"), exists(w, "A1")]).toEqual([true, true, false]);
  });

  it("refuses to sweep a mark twice, and a mark a restore retired", async () => {
    const w = repository();
    const m = await markOnly(w);
    expect((await sweepOnly(w, m)).success).toBe(true);
    const again = await sweepOnly(w, m);
    expect(again.success).toBe(false);
    expect(again.errorMessage).toMatch(/already swept by run .*at most once/);

    const w2 = repository();
    const m2 = await markOnly(w2);
    w2.records.marks.get("m1")!.retiredAt = "2027-01-01T00:00:00.000Z";
    const refused = await sweepOnly(w2, m2);
    expect(refused.success).toBe(false);
    expect(refused.errorMessage).toMatch(/retired .* can no longer be swept/);
    expect(["A0", "O0", "A1"].every((l) => exists(w2, l))).toBe(true);
  });

  it("a mark retired between the mark and sweep phases of one run is not swept", async () => {
    const w = repository();
    const r = run("20270101T000000000Z-both2", "mark-and-sweep", "20270101T000000000Z-both2");
    w.records.startMarking(r, NOW, RULES);
    const out = await runGcPipeline(w.deps, input(r, { runId: r.runId, now: NOW }), {
      afterMark: () => {
        w.records.marks.get(r.markId)!.retiredAt = "2027-01-01T00:00:00.000Z";
      },
    });
    expect(out.success).toBe(false);
    expect(out.errorMessage).toMatch(/MarkNotSweepable: .*retired/);
    expect(["A0", "O0", "A1"].every((l) => exists(w, l))).toBe(true);
  });

  it("an interrupted sweep is resumed by a new sweep-only run", async () => {
    const w = repository();
    const m = await markOnly(w);
    w.store.failDelete.set(w.address.A1!.replace("s3://lake/", ""), "InternalError");
    const first = await sweepOnly(w, m);
    expect(first.success).toBe(false);
    // README (Limits): the run fails and names the objects it could not delete.
    expect(first.errorMessage).toBe(
      `1 marked object(s) could not be deleted, e.g. ${w.address.A1!.slice(`${NS}/`.length)} (InternalError)`,
    );
    expect(exists(w, "A1")).toBe(true);
    w.store.failDelete.clear();
    const resumed = await sweepOnly(w, m);
    expect(resumed.success).toBe(true);
    expect(["A0", "O0", "A1"].map((l) => exists(w, l))).toEqual([false, false, false]);
  });

  it("a sweep with many undeletable objects fails counting them all and naming five (README: Limits)", async () => {
    const w = world();
    const tree = new Map<string, string>();
    for (let i = 0; i < 8; i++) tree.set(`x/${i}`, object(w, `X${i}`));
    const c0 = w.lakefs.addCommit([], tree, NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    for (let i = 0; i < 8; i++) w.lakefs.stage("main", `x/${i}`, null);
    w.lakefs.commit("main", NOW - 15 * DAY);
    w.lakefs.stage("main", "k", object(w, "K1"));
    w.lakefs.commit("main", NOW - 1 * DAY);
    const m = await markOnly(w);
    for (let i = 0; i < 8; i++)
      w.store.failDelete.set(w.address[`X${i}`]!.replace("s3://lake/", ""), "AccessDenied");
    const failed = await sweepOnly(w, m);
    expect(failed.success).toBe(false);
    const message = failed.errorMessage ?? "";
    expect(message).toMatch(/^8 marked object\(s\) could not be deleted, e\.g\. /);
    const named = message.match(/data\/X\d+-\d+ \(AccessDenied\)/g) ?? [];
    expect(named).toHaveLength(5);
    expect(new Set(named).size).toBe(5);
    for (let i = 0; i < 8; i++) expect(exists(w, `X${i}`)).toBe(true);
    // The mark stays sweepable: a sweep-only run of it resumes the job.
    w.store.failDelete.clear();
    expect((await sweepOnly(w, m)).success).toBe(true);
    for (let i = 0; i < 8; i++) expect(exists(w, `X${i}`)).toBe(false);
    expect(exists(w, "K1")).toBe(true);
  });

  it("a mark-and-sweep run whose sweep fails leaves its mark, which a sweep-only run resumes", async () => {
    const w = repository();
    w.store.failDelete.set(w.address.A1!.replace("s3://lake/", ""), "InternalError");
    const r = run(`20270101T000000000Z-ms${seq++}`, "mark-and-sweep", "ms1");
    w.records.startMarking(r, NOW, RULES);
    const failed = await runGcPipeline(w.deps, input(r, { runId: r.runId, now: NOW }));
    expect(failed.success).toBe(false);
    expect(w.records.marks.get("ms1")?.status).toBe("succeeded");
    expect(exists(w, "A1")).toBe(true);
    w.store.failDelete.clear();
    const resumed = await sweepOnly(w, r);
    expect(resumed.success).toBe(true);
    expect(["A0", "O0", "A1"].map((l) => exists(w, l))).toEqual([false, false, false]);
    expect(exists(w, "K0")).toBe(true);
  });

  it("a run that lost its lease stops before deleting", async () => {
    const w = repository();
    const m = await markOnly(w);
    const out = await sweepOnly(w, m, {
      beforeSweepMap: () => {
        w.records.leaseHolder = "someone-else";
      },
    });
    expect(out.success).toBe(false);
    expect(out.errorMessage).toMatch(/LeaseLostError/);
    expect(["A0", "O0", "A1"].every((l) => exists(w, l))).toBe(true);
  });

  it("revalidates only the commits made since the mark, each listed once", async () => {
    const w = repository();
    // A long history: 200 more commits on main, each changing one object.
    for (let i = 0; i < 200; i++) {
      w.lakefs.stage("main", `f${i % 7}`, object(w, `F${i}`));
      w.lakefs.commit("main", NOW - 1 * DAY + i);
    }
    const m = await markOnly(w);
    w.lakefs.stage("main", "new", object(w, "N"));
    w.lakefs.commit("main");
    for (const k of Object.keys(w.lakefs.calls)) w.lakefs.calls[k] = 0;
    const out = await sweepOnly(w, m);
    expect(out.success).toBe(true);
    // One new commit: its log page and one listing of its tree (a diff against its parent
    // could miss an address a revert brought back with the same identity), plus the branch
    // listed as it reads now (its uncommitted entries); none of the 200 commits the mark
    // covered is read again.
    expect(w.lakefs.calls.listObjects).toBe(1 + w.lakefs.branches.size);
    expect(w.lakefs.calls.diffRefs ?? 0).toBe(0);
    expect(w.lakefs.calls.logCommits).toBe(1);
  });
});

describe("catch-up rounds after the revalidation map", () => {
  it("list what moved while the map ran, round after round, at most 5 rounds", async () => {
    const w = repository();
    const m = await markOnly(w);
    let commits = 0;
    const answers: { round?: number; items: number; settled?: boolean }[] = [];
    const out = await sweepOnly(w, m, {
      catchUp: async (invoke: () => Promise<RevalidateResult>) => {
        const r = await invoke();
        answers.push({ round: r.round, items: r.items, settled: r.settled });
        return r;
      },
      // From now on the repository moves before every read of its branches: each catch-up
      // round finds a new commit. The first one links A1 (marked) again.
      afterRevalidationMap: () => {
        w.lakefs.beforeRead = (op) => {
          if (op !== "listBranches") return;
          commits++;
          w.lakefs.stage(
            "main",
            `n${commits}`,
            commits === 1 ? w.address.A1! : object(w, `N${commits}`),
          );
          w.lakefs.commit("main");
        };
      },
      beforeSweepMap: () => {
        w.lakefs.beforeRead = undefined;
      },
    });
    expect(out.success).toBe(true);
    expect(answers.filter((a) => a.items > 0).map((a) => a.round)).toEqual([1, 2, 3, 4, 5]);
    expect(answers.at(-1)).toEqual({ round: 6, items: 0, settled: true });
    // The sixth round found the repository moved again and left it to the sweep's checks
    // (each round reads the refs twice: two commits a round).
    expect(commits).toBe(12);
    // Revived during the map and found by the first round: kept.
    expect(exists(w, "A1")).toBe(true);
    expect(exists(w, "A0")).toBe(false);
    expect(exists(w, "O0")).toBe(false);
  });
});

describe("delete requests", () => {
  it("DeleteObjects gets 1 000 keys a request; the summary counts the sweep checks and their longest", async () => {
    // Addresses (and so their partitions) independent of the tests before.
    seq = 0;
    const w = world();
    const tree = new Map<string, string>();
    for (let i = 0; i < 2_500; i++) tree.set(`x/${i}`, object(w, `X${i}`));
    const c0 = w.lakefs.addCommit([], tree, NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    for (let i = 0; i < 2_500; i++) w.lakefs.stage("main", `x/${i}`, null);
    w.lakefs.stage("main", "k", object(w, "K1"));
    w.lakefs.commit("main", NOW - 15 * DAY);
    w.lakefs.stage("main", "k", object(w, "K2"));
    w.lakefs.commit("main", NOW - 1 * DAY);
    const requests: number[] = [];
    w.store.beforeDelete = (keys) => {
      requests.push(keys.length);
    };
    const r = run(`20270101T000000000Z-ms${seq++}`, "mark-and-sweep", "ms");
    w.records.startMarking(r, NOW, RULES);
    const out = await runGcPipeline(w.deps, input(r, { runId: r.runId, now: NOW }));
    expect(out.success).toBe(true);
    // Requests are per partition (addresses spread by hash): full ones of 1 000, one last per
    // partition with the rest.
    expect(Math.max(...requests)).toBe(1_000);
    expect(requests.filter((n) => n === 1_000).length).toBeGreaterThanOrEqual(2);
    expect(requests.reduce((a, b) => a + b, 0)).toBe(2_500);
    expect(exists(w, "X0")).toBe(false);
    expect(exists(w, "K1")).toBe(true);
    const summaryKey = [...w.store.objects.keys()].find((k) =>
      k.includes(`_lakefs/retention/gc/summary/run_id=${r.runId}.json`),
    )!;
    const summary = JSON.parse(new TextDecoder().decode(w.store.objects.get(summaryKey)));
    expect(summary.counts.deleted_objects).toBe(2_500);
    expect(summary.counts.sweep_checks).toBeGreaterThanOrEqual(1);
    expect(summary.counts.sweep_check_max_ms).toEqual(expect.any(Number));
  });

  it("a throttled key is checked again before it is resent, and spared once referenced", async () => {
    // S3 answers SlowDown for O0 four times (resent after 0.1, 0.2, 0.4, 0.8 s). A link of
    // O0's address is staged on main after the third answer, more than a check's second
    // before the fifth request: that request's check finds it. Resends went out unchecked
    // before, and the fifth deleted O0 under main's uncommitted entry.
    const w = repository();
    const m = await markOnly(w);
    const o0 = w.address.O0!.replace(`s3://${BUCKET}/`, "");
    let attempts = 0;
    const client = {
      send: async (cmd: { input: { Delete: { Objects: { Key: string }[] } } }) => {
        const keys = cmd.input.Delete.Objects.map((o) => o.Key);
        if (keys.includes(o0)) attempts++;
        if (attempts === 3) w.lakefs.stage("main", "late-link", w.address.O0!);
        const errors = [];
        for (const k of keys) {
          if (k === o0 && attempts <= 4) errors.push({ Key: k, Code: "SlowDown", Message: "slow" });
          else w.store.objects.delete(`${BUCKET}/${k}`);
        }
        return { Errors: errors };
      },
    };
    const s3 = new S3GcObjectStore(client as never);
    w.store.deleteKeys = (bucket, keys, opts) => s3.deleteKeys(bucket, keys, opts);
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    try {
      const out = await sweepOnly(w, m);
      expect(out.success).toBe(true);
      expect(attempts).toBe(4);
      expect(exists(w, "O0"), "main's uncommitted entry references O0").toBe(true);
      expect(["A0", "A1"].map((l) => exists(w, l))).toEqual([false, false]);
      expect(out.counts).toMatchObject({ deleted_objects: 2, spared_at_delete: 1 });
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("the summary's sweep_check_max_ms is the longest check of all partitions, not their sum", async () => {
    const { addCounts } = await import("../../lambdas/gc/app/common");
    const counts: Record<string, number> = {};
    addCounts(counts, { sweep_check_max_ms: 12, sweep_checks: 3, deleted_objects: 1_000 });
    addCounts(counts, { sweep_check_max_ms: 40, sweep_checks: 2, deleted_objects: 500 });
    addCounts(counts, { sweep_check_max_ms: 7, sweep_checks: 1, deleted_objects: 0 });
    expect(counts).toEqual({ sweep_check_max_ms: 40, sweep_checks: 6, deleted_objects: 1_500 });
  });
});

describe("the sweep guard", () => {
  async function guardOn(w: World, clock: () => number) {
    const { SweepGuard } = await import("../../lambdas/gc/app/sweep-guard");
    const { CommitGraph: Graph } = await import("../../lambdas/gc/domain/commit-graph");
    const g = new Graph();
    for (const c of w.lakefs.commits.values()) g.add(c);
    w.records.leaseHolder = "run";
    const refs = {
      branches: [...w.lakefs.branches].map(([id, b]) => ({ id, commit_id: b.head })),
      tags: [...w.lakefs.tags].map(([id, commit_id]) => ({ id, commit_id })),
    };
    return new SweepGuard(
      { lakefs: w.lakefs, lease: w.records, clock, loadGraph: async () => g },
      {
        repository: "r1",
        runId: "run",
        storageNamespace: NS,
        partition: 0,
        snapshot: {
          refs,
          covered: [w.commit.c3!, w.commit.c2!],
          partitions: 1,
          markNow: NOW,
          rules: RULES,
          checkedAt: "2027-01-01T00:00:00.000Z",
        },
      },
      // No recheck given: the default (SWEEP_RECHECK_MS unset) is what the README states.
    );
  }
  const key = (w: World, label: string) => w.address[label]!.slice(`${NS}/`.length);

  it("checks again only when the last check started more than 1 s before, and renews the lease", async () => {
    const w = repository();
    let now = 0;
    const guard = await guardOn(w, () => now);
    await guard.ensureFresh();
    now = 900;
    await guard.ensureFresh();
    expect(guard.stats.checks).toBe(1);
    now = 1001;
    await guard.ensureFresh();
    expect(guard.stats.checks).toBe(2);
    // Before and after each check's reads.
    expect(w.records.renewals).toBe(4);
    // Cost of a check: branches listed three times (for the staging, then twice with the
    // tags: a ref moved between listings is in one of them), tags twice, each branch's
    // staging once.
    for (const k of Object.keys(w.lakefs.calls)) w.lakefs.calls[k] = 0;
    w.lakefs.createBranch("dev", w.commit.c3!);
    w.lakefs.stage("dev", "x", object(w, "X"));
    now = 3000;
    await guard.ensureFresh();
    expect(w.lakefs.calls).toMatchObject({
      listBranches: 3,
      listTags: 2,
      diffBranch: 2,
      statObject: 1,
    });
  });

  it("reads branches and tags as at one moment: a tag turned into a branch while they are listed is seen", async () => {
    // A tag v1 on the expired c1 (made during the sweep). While a check lists the tags, v1
    // becomes a branch (created from it, then the tag deleted): the branches were listed
    // before, the tags after, so c1 was in neither listing, the refs looked unchanged, and the
    // check let A1 (c1's) be deleted. Refs are now read twice, every ref either saw taken.
    seq = 0; // the partitions of the addresses (which partition deletes first) as written
    const w = repository();
    const m = await markOnly(w);
    let inSweep = false;
    let raced = false;
    w.lakefs.beforeRead = (op) => {
      if (inSweep && op === "listTags" && !raced) {
        raced = true;
        w.lakefs.createBranch("restore", w.commit.c1!);
        w.lakefs.tags.delete("v1");
      }
    };
    const out = await sweepOnly(w, m, {
      beforeSweepMap: () => {
        w.lakefs.createTag("v1", w.commit.c1!);
        inSweep = true;
      },
    });
    expect(raced).toBe(true);
    expect(exists(w, "A1"), "branch restore (c1) references A1").toBe(true);
    expect(out.success).toBe(false);
    expect(out.errorMessage).toContain(`commit ${w.commit.c1} became active again`);
  });

  it("finds an entry committed while the check runs, staged or in its commit", async () => {
    for (const when of ["before staging is read", "after staging is read"] as const) {
      const w = repository();
      const guard = await guardOn(w, () => 0);
      w.lakefs.stage("main", "relink", w.address.A1!);
      w.lakefs.beforeRead = (op) => {
        const staged = w.lakefs.branches.get("main")!.staged.size > 0;
        const commitNow =
          when === "before staging is read" ? op === "diffBranch" : op === "listTags";
        if (staged && commitNow) w.lakefs.commit("main");
      };
      await guard.ensureFresh();
      expect(guard.unreferenced([key(w, "A1"), key(w, "A0")]), when).toEqual([key(w, "A0")]);
    }
  });
});

describe("revalidation plan", () => {
  const graph = (edges: Record<string, string[]>) => {
    const g = new CommitGraph();
    for (const [id, parents] of Object.entries(edges)) {
      g.add({ id, parents, creation_date: NOW });
    }
    return g;
  };

  it("bases each newly active commit on the nearest covered or already based commit", () => {
    // a <- b <- c <- d (covered: c, d); x <- y on a branch from b; new commits n1 <- n2 on d.
    const g = graph({
      a: [],
      b: ["a"],
      c: ["b"],
      d: ["c"],
      x: ["b"],
      y: ["x"],
      n1: ["d"],
      n2: ["n1"],
    });
    const bases = nearestBases(g, new Set(["c", "d"]), new Set(["a", "y", "n1", "n2"]));
    expect(bases.get("n1")).toBe("d");
    expect(bases.get("n2")).toBe("n1");
    expect(bases.get("a")).toBe("c");
    expect(bases.get("y")).toBe("c");
  });

  it("lists a newly active commit nothing covered connects to", () => {
    const g = graph({ a: [], b: ["a"], lone: [] });
    const plan = planRevalidation(
      g,
      new Set(["b"]),
      [
        { kind: "branch", name: "main", commitId: "b", retentionDays: 1 },
        { kind: "branch", name: "lone", commitId: "lone", retentionDays: 1 },
      ],
      NOW,
    );
    expect(plan.items).toContainEqual({ side: "active", kind: "list", commit: "lone" });
    expect(plan.newlyActive).toContain("lone");
  });
});

// ---------------------------------------------------------------------------- property

const arbOp = fc.record({
  kind: fc.constantFrom("put", "put", "delete", "link"),
  path: fc.nat(6),
  pick: fc.nat(),
});
const arbRevival = fc.record({
  kind: fc.constantFrom(
    "branch",
    "tag",
    "commit-link",
    "revert",
    "cherry-pick",
    "stage-link",
    "reset",
    "commit",
  ),
  pick: fc.nat(),
  pick2: fc.nat(),
  path: fc.nat(8),
});
type Revival = typeof arbRevival extends fc.Arbitrary<infer T> ? T : never;
const arbScenario = fc.record({
  commits: fc.array(
    fc.record({
      branch: fc.nat(2),
      ageDays: fc.integer({ min: 0, max: 30 }),
      ops: fc.array(arbOp, { minLength: 1, maxLength: 3 }),
    }),
    { minLength: 2, maxLength: 18 },
  ),
  revivals: fc.array(arbRevival, { maxLength: 4 }),
  lateRevivals: fc.array(arbRevival, { maxLength: 2 }),
  retention: fc.integer({ min: 0, max: 10 }),
  partitionsPer: fc.constantFrom(10_000_000, 400_000),
});

describe("GC with revivals between mark and sweep (property)", () => {
  it("never deletes a live object, and still deletes the garbage", async () => {
    const seen = { spared: 0, deleted: 0, stopped: 0 };
    await fc.assert(
      fc.asyncProperty(arbScenario, async (s) => {
        const w = world();
        const rules = { default_retention_days: s.retention, branches: [] };
        const addresses: string[] = [];
        const root = w.lakefs.addCommit([], new Map([["p0", object(w, "root")]]), NOW - 40 * DAY);
        addresses.push(w.address.root!);
        const names = ["main", "b1", "b2"];
        for (const n of names) w.lakefs.createBranch(n, root);
        s.commits.forEach((c, i) => {
          const branch = names[c.branch]!;
          for (const op of c.ops) {
            const path = `p${op.path}`;
            if (op.kind === "put") {
              const a = object(w, `o${i}-${op.path}-${seq}`);
              addresses.push(a);
              w.lakefs.stage(branch, path, a);
            } else if (op.kind === "delete") w.lakefs.stage(branch, path, null);
            else w.lakefs.stage(branch, path, addresses[op.pick % addresses.length]!);
          }
          w.lakefs.commit(branch, NOW - c.ageDays * DAY);
        });
        const commits = [...w.lakefs.commits.keys()];
        const revive = (r: Revival, n: number) => {
          const commit = commits[r.pick % commits.length]!;
          const branch = names[r.pick2 % names.length]!;
          const address = addresses[r.pick2 % addresses.length]!;
          if (r.kind === "branch") w.lakefs.createBranch(`rev${n}`, commit);
          else if (r.kind === "tag") w.lakefs.createTag(`t${n}`, commit);
          else if (r.kind === "stage-link") w.lakefs.stage(branch, `s${r.path}`, address);
          else if (r.kind === "reset") w.lakefs.hardReset(branch, commit);
          else if (r.kind === "revert" && w.lakefs.commits.get(commit)!.parents.length > 0) {
            w.lakefs.revert(branch, commit);
          } else if (r.kind === "cherry-pick" && w.lakefs.commits.get(commit)!.parents.length > 0) {
            w.lakefs.cherryPick(branch, commit);
          } else if (r.kind === "commit-link") {
            w.lakefs.stage(branch, `l${r.path}`, address);
            w.lakefs.commit(branch);
          } else if (r.kind === "commit") {
            const a = object(w, `new${n}-${seq}`);
            w.lakefs.stage(branch, `p${r.path}`, a);
            w.lakefs.commit(branch);
          }
        };

        const markRun = run(`20270101T000000000Z-m${seq++}`, "mark-only", "m1");
        w.records.startMarking(markRun, NOW, rules);
        const mk = {
          ...input(markRun, { runId: markRun.runId, now: NOW }),
          rules,
          markRules: rules,
        };
        const marked = await runGcPipeline(w.deps, mk, {
          addressesPerPartition: s.partitionsPer,
          keysPerPass: 3,
        });
        expect(marked.success).toBe(true);
        const markText = [
          ...w.store.keysUnder("lake/repos/r1/_lakefs/retention/gc/addresses.text/"),
        ]
          .flatMap((k) => w.store.text(k)!.split("\n"))
          .filter(Boolean);

        // What is live: addresses of commits active (the mark's time, the refs of that
        // moment) and uncommitted entries.
        const liveNow = () => {
          const g = new CommitGraph();
          for (const c of w.lakefs.commits.values()) g.add(c);
          const refs = [...w.lakefs.branches].map(([id, b]) => ({ id, commit_id: b.head }));
          const tags = [...w.lakefs.tags].map(([id, commit_id]) => ({ id, commit_id }));
          const live = new Set<string>();
          for (const id of computeRetention(g, startingPoints(rules, refs, tags), NOW).active) {
            for (const a of w.lakefs.commits.get(id)!.tree.values()) live.add(a);
          }
          for (const b of w.lakefs.branches.values()) {
            for (const a of b.staged.values()) if (a !== null) live.add(a);
          }
          return live;
        };
        s.revivals.forEach((r, i) => {
          revive(r, i);
        });
        let liveAtRevalidation = liveNow();
        let liveAtFirstRevalidation = liveAtRevalidation;
        const sweepRun = run(`20270101T010000000Z-s${seq++}`, "sweep-only", "m1");
        expect(w.records.startSweeping(sweepRun, NOW)).toBeUndefined();
        const sw = {
          ...input(sweepRun, { runId: markRun.runId, now: NOW }),
          rules,
          markRules: rules,
        };
        let out = await runGcPipeline(w.deps, sw, {
          keysPerPass: 2,
          beforeSweepMap: () => {
            s.lateRevivals.forEach((r, i) => {
              revive(r, 100 + i);
            });
          },
        });
        if (!out.success) {
          // An expired commit revived during the deletes (or a revert of a commit whose parent is
          // expired) stops the sweep before any request; the same mark's next sweep lists it at
          // revalidation.
          expect(out.errorMessage).toMatch(
            /became active again during the sweep|was made during the sweep and may hold entries of a commit the mark found expired/,
          );
          expect(w.store.deleted).toEqual([]);
          // The resumed sweep revalidates on today's refs: what was live only at the first
          // revalidation (a reset moved its branch away since) is garbage to it, unless the
          // stopped sweep answered its line (spared it): answered lines are skipped.
          liveAtFirstRevalidation = liveAtRevalidation;
          liveAtRevalidation = liveNow();
          const again = run(`20270101T020000000Z-s${seq++}`, "sweep-only", "m1");
          expect(w.records.startSweeping(again, NOW)).toBeUndefined();
          out = await runGcPipeline(w.deps, {
            ...input(again, { runId: markRun.runId, now: NOW }),
            rules,
            markRules: rules,
          });
          seen.stopped++;
        }
        expect(out.success).toBe(true);

        // Never an address live when the deletes ran; exactly the mark minus what any check
        // saw live (an address live at revalidation stays spared even if it is garbage again).
        // After a stopped sweep: at most the mark minus what the resumed sweep's checks saw
        // live, at least that minus what the stopped sweep's revalidation spared (a line it
        // answered by sparing its key is skipped by the resumed sweep).
        const live = liveNow();
        const deleted = new Set(w.store.deleted.map((k) => `s3://${k}`));
        for (const a of live) expect(deleted.has(a), `live ${a} deleted`).toBe(false);
        const garbage = markText
          .map((k) => `${NS}/${k}`)
          .filter((a) => !live.has(a) && !liveAtRevalidation.has(a));
        const surelyGarbage = garbage.filter((a) => !liveAtFirstRevalidation.has(a));
        for (const a of deleted) expect(garbage, `${a} deleted, not garbage`).toContain(a);
        for (const a of surelyGarbage) expect(deleted.has(a), `garbage ${a} kept`).toBe(true);
        if (liveAtFirstRevalidation === liveAtRevalidation) {
          expect([...deleted].sort()).toEqual(garbage.sort());
        }
        if (garbage.length < markText.length) seen.spared++;
        if (garbage.length > 0) seen.deleted++;
      }),
      {
        numRuns: Number(process.env.GC_PROPERTY_RUNS ?? 150),
        ...(process.env.GC_PROPERTY_SEED ? { seed: Number(process.env.GC_PROPERTY_SEED) } : {}),
      },
    );
    expect(seen.spared).toBeGreaterThan(10);
    expect(seen.deleted).toBeGreaterThan(30);
    expect(seen.stopped).toBeGreaterThan(3);
  });
});
