// Review (helper-b): do GC's outputs tell the truth under retries and partial failures?
// Each test compares the run's reports and counts with what the fake S3 actually deleted.
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { describe, expect, it, vi } from "vitest";
import { S3GcObjectStore } from "../../lambdas/gc/adapters/s3-object-store";
import { gcWorkKeys } from "../../lambdas/gc/app/common";
import { runSweepStep } from "../../lambdas/gc/app/sweep";
import type { GcRules } from "../../lambdas/gc/domain/rules";
import type { GcRun } from "../../lambdas/gc/domain/run-records";
import { encodeAddressShard } from "../../lambdas/gc/domain/shards";
import type { GcWorkflowInput } from "../../lambdas/gc/domain/workflow-input";
import { runGcPipeline } from "../support/gc-pipeline";
import { type MemoryGcStore, memoryGcWorld } from "../support/memory-gc";
import { MemoryLakeFs } from "../support/memory-lakefs";

const DAY = 86_400;
const NOW = 1_800_000_000;
const NS = "s3://lake/repos/r1";
const BUCKET = "lake";
const PREFIX = "lake/repos/r1/";
const RULES: GcRules = { default_retention_days: 3, branches: [] };
const LOGS = `${PREFIX}_lakefs/logs/gc/deleted_objects/`;

let seq = 0;

function world() {
  return memoryGcWorld(new MemoryLakeFs(() => NOW), NOW * 1000 + 3_600_000);
}
type W = ReturnType<typeof world>;

/** c0 (20 days) holds `keys`, c1 (15 days) deletes them, c2 (1 day) is main's head. */
function expiredObjects(w: W, keys: string[]) {
  const tree = new Map<string, string>();
  keys.forEach((k, i) => {
    tree.set(`p${i}`, `${NS}/${k}`);
    w.store.objects.set(`${PREFIX}${k}`, new TextEncoder().encode("x"));
  });
  const c0 = w.lakefs.addCommit([], tree, NOW - 20 * DAY);
  w.lakefs.createBranch("main", c0);
  for (const path of tree.keys()) w.lakefs.stage("main", path, null);
  w.lakefs.commit("main", NOW - 15 * DAY);
  w.lakefs.stage("main", "keep", `${NS}/data/keep`);
  w.store.objects.set(`${PREFIX}data/keep`, new TextEncoder().encode("k"));
  w.lakefs.commit("main", NOW - 1 * DAY);
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

function input(r: GcRun, mark: { runId: string; now: number }, now = mark.now): GcWorkflowInput {
  return {
    repository: "r1",
    runId: r.runId,
    markId: r.markId,
    doMark: r.mode !== "sweep-only",
    doSweep: r.mode !== "mark-only",
    storageNamespace: NS,
    rules: RULES,
    now,
    markRunId: mark.runId,
    markNow: mark.now,
    markRules: RULES,
  };
}

async function markOnly(w: W, hooks = {}) {
  const r = run(`20270101T000000000Z-mark${seq++}`, "mark-only", `m${seq++}`);
  w.records.startMarking(r, NOW, RULES);
  const out = await runGcPipeline(w.deps, input(r, { runId: r.runId, now: NOW }), hooks);
  return { r, out };
}

/** A sweep-only run at `now` (its logs' dt=). */
async function sweepOnly(w: W, markRun: GcRun, hooks = {}, now = NOW + 60) {
  const r = run(`20270101T010000000Z-sweep${seq++}`, "sweep-only", markRun.markId);
  const refusal = w.records.startSweeping(r, NOW);
  if (refusal) throw new Error(refusal);
  const out = await runGcPipeline(w.deps, input(r, { runId: markRun.runId, now: NOW }, now), hooks);
  return { r, out };
}

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

async function parquetRows(store: MemoryGcStore, key: string): Promise<string[]> {
  const file = arrayBufferOf(store.objects.get(key)!);
  const rows = (await parquetReadObjects({ file })) as { address: string }[];
  return rows.map((r) => r.address);
}

function parquetKv(store: MemoryGcStore, key: string): Record<string, string> {
  const file = arrayBufferOf(store.objects.get(key)!);
  return Object.fromEntries(
    (parquetMetadata(file).key_value_metadata ?? []).map((kv) => [kv.key, kv.value ?? ""]),
  );
}

/** Every logged deleted key (relative to the namespace), per dt= directory. */
async function deletedLogs(store: MemoryGcStore): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const key of store.keysUnder(LOGS)) {
    const dt = key.slice(LOGS.length).split("/")[0]!;
    out.set(dt, [...(out.get(dt) ?? []), ...(await parquetRows(store, key))]);
  }
  return out;
}

/**
 * The world's deletes through the real S3 adapter (retries, resends and their checks) over a
 * fake S3 `client` whose DeleteObjects answers the test decides.
 */
function deleteThrough(w: W, client: { send: (cmd: never) => Promise<unknown> }) {
  const s3 = new S3GcObjectStore(client as never);
  w.store.deleteKeys = (bucket, keys, opts) => s3.deleteKeys(bucket, keys, opts);
}

describe("spared_at_delete when a DeleteObjects request is resent", () => {
  it("counts a key withheld by the check once, although the request went out twice (lost answer)", async () => {
    const w = world();
    expiredObjects(w, ["data/a", "data/b", "data/o"]);
    const { r: m } = await markOnly(w, { addressesPerPartition: 100_000_000 });
    // S3 deletes the first request's keys but its answer is lost (a 500 on the way back):
    // the request is resent; the check before each send spares data/o (linked on main).
    let sends = 0;
    const client = {
      send: async (cmd: { input: { Delete: { Objects: { Key: string }[] } } }) => {
        const keys = cmd.input.Delete.Objects.map((o) => o.Key);
        for (const k of keys) w.store.objects.delete(`${BUCKET}/${k}`);
        if (++sends === 1) {
          throw Object.assign(new Error("We encountered an internal error"), {
            name: "InternalError",
            $metadata: { httpStatusCode: 500 },
          });
        }
        return { Errors: [] };
      },
    };
    deleteThrough(w, client);
    vi.spyOn(Math, "random").mockReturnValue(0);
    try {
      const { out } = await sweepOnly(w, m, {
        beforeSweepMap: () => w.lakefs.stage("main", "late-link", `${NS}/data/o`),
      });
      expect(out.success).toBe(true);
      expect(sends).toBe(2);
      expect(w.store.objects.has(`${PREFIX}data/o`)).toBe(true);
      const logged = [...(await deletedLogs(w.store)).values()].flat().sort();
      expect(logged).toEqual(["data/a", "data/b"]);
      expect(out.counts.deleted_objects).toBe(2);
      // 3 candidates: 2 deleted, 1 spared.
      expect(out.counts.spared_at_delete).toBe(1);
      expect(out.counts.spared_objects).toBe(1);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("a request answered with AccessDenied for one key, SlowDown for another and a key withheld: the log lists exactly what was deleted", async () => {
    const w = world();
    expiredObjects(w, ["data/a", "data/denied", "data/slow", "data/o"]);
    const { r: m } = await markOnly(w, { addressesPerPartition: 100_000_000 });
    let slowAnswers = 0;
    const client = {
      send: async (cmd: { input: { Delete: { Objects: { Key: string }[] } } }) => {
        const keys = cmd.input.Delete.Objects.map((o) => o.Key);
        const errors = [];
        for (const k of keys) {
          if (k.endsWith("data/denied")) {
            errors.push({ Key: k, Code: "AccessDenied", Message: "Access Denied" });
          } else if (k.endsWith("data/slow") && slowAnswers++ < 2) {
            errors.push({ Key: k, Code: "SlowDown", Message: "slow" });
          } else w.store.objects.delete(`${BUCKET}/${k}`);
        }
        return { Errors: errors };
      },
    };
    deleteThrough(w, client);
    vi.spyOn(Math, "random").mockReturnValue(0);
    try {
      const { out } = await sweepOnly(w, m, {
        beforeSweepMap: () => w.lakefs.stage("main", "late-link", `${NS}/data/o`),
      });
      expect(out.success).toBe(false);
      const logged = [...(await deletedLogs(w.store)).values()].flat().sort();
      expect(logged).toEqual(["data/a", "data/slow"]);
      expect(out.counts).toMatchObject({
        deleted_objects: 2,
        delete_errors: 1,
        spared_at_delete: 1,
        spared_objects: 1,
      });
      expect(w.store.objects.has(`${PREFIX}data/denied`)).toBe(true);
      expect(w.store.objects.has(`${PREFIX}data/o`)).toBe(true);
    } finally {
      vi.restoreAllMocks();
    }
  });
});

/** `n` objects only expired commits hold, marked in one partition by a mark-only run. */
async function markedExpiredObjects(n: number) {
  const w = world();
  const keys = Array.from({ length: n }, (_, i) => `data/o-${String(i).padStart(4, "0")}`);
  expiredObjects(w, keys);
  const { r: m } = await markOnly(w, { addressesPerPartition: 100_000_000 });
  return { w, keys, m };
}

describe("a sweep child attempt still running after the run ended", () => {
  it("does not replace the completed attempt's deleted-objects log with its partial one", async () => {
    // Step Functions retries a Lambda service error (Lambda.ClientExecutionTimeoutException,
    // SdkClientException...) while the first invocation may still run. Attempt 2 sweeps the
    // whole part, the run ends (the summary releases the lease); attempt 1, paused in its
    // second request, then goes on: its next check finds the lease gone and it stops, writing
    // its log (2 000 keys, "incomplete") at the same key as attempt 2's (2 500 keys).
    const { w, m } = await markedExpiredObjects(2500);
    let now = 0;
    let requests = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let paused!: () => void;
    const pausedP = new Promise<void>((r) => {
      paused = r;
    });
    let attempt1: Promise<unknown> | undefined;
    const { r: s, out } = await sweepOnly(w, m, {
      sweep: { concurrency: 1 },
      beforeSweepMap: async () => {
        const runs = [...w.records.runs.keys()];
        const sweepRun = runs.at(-1)!;
        const parts = w.store
          .text(`work/gc/r1/${sweepRun}/sweep-parts.jsonl`)!
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l));
        expect(parts).toHaveLength(1);
        w.store.beforeDelete = async () => {
          if (++requests === 2) {
            paused();
            await gate;
          }
        };
        attempt1 = runSweepStep(
          w.deps,
          {
            Items: parts,
            BatchInput: { repository: "r1", runId: sweepRun, storageNamespace: NS, now: NOW + 60 },
          },
          { concurrency: 1, clock: () => now },
        ).catch((e) => e);
        await pausedP;
      },
    });
    expect(out.success).toBe(true);
    expect(out.counts.deleted_objects).toBe(2500);
    const record = w.records.completed.find((c) => c.runId === s.runId)!;
    expect(record.end.counts?.deletedObjects).toBe(2500);
    // Attempt 2 recorded the whole list answered (the resume record, sweep-resume.ts).
    const resumeKeys = w.store.keysUnder("work/gc/r1/.sweep-resume/");
    expect(resumeKeys).toHaveLength(1);
    const answeredWhole = w.store.text(resumeKeys[0]!)!;
    expect(JSON.parse(answeredWhole)).toMatchObject({ passes: 1, pass: 0, throughLine: 2500 });
    // Attempt 1 goes on, a few seconds later by its clock.
    now += 5_000;
    release();
    const err = await attempt1;
    expect(String(err)).toMatch(/lost the lease/);
    // Its own, shorter point does not replace attempt 2's.
    expect(w.store.text(resumeKeys[0]!)).toBe(answeredWhole);
    const logKeys = w.store.keysUnder(LOGS);
    expect(logKeys).toHaveLength(1);
    const rows = await parquetRows(w.store, logKeys[0]!);
    // What the run record and summary say was deleted, the log must list.
    expect(parquetKv(w.store, logKeys[0]!)["lakeport.incomplete"]).toBeUndefined();
    expect(rows.length).toBe(2500);
  });
});

describe("a resumed sweep of the same mark", () => {
  // The first sweep stops after its first request; it records how far it answered the list,
  // and the resumed sweep begins there: it offers, deletes and lists only the other 500 keys
  // (it used to offer all 1 500 again, listing and counting again the 1 000 already gone), and
  // says how many it skipped. Every object is listed in one log.
  it("a resumed sweep deletes the rest, skipping what the first sweep answered", async () => {
    const { w, m } = await markedExpiredObjects(1500);
    let requests = 0;
    w.store.beforeDelete = () => {
      if (++requests === 2) throw new Error("DeleteObjects: InternalError");
    };
    const first = await sweepOnly(w, m, { sweep: { concurrency: 1 } }, NOW + 60);
    expect(first.out.success).toBe(false);
    expect(w.store.deleted).toHaveLength(1000);
    w.store.beforeDelete = undefined;
    const deletedBefore = w.store.deleted.length;
    const second = await sweepOnly(w, m, { sweep: { concurrency: 1 } }, NOW + 120);
    expect(second.out.success).toBe(true);
    const offeredBySecond = w.store.deleted.slice(deletedBefore);
    expect(offeredBySecond).toHaveLength(500);
    expect(new Set([...w.store.deleted]).size).toBe(1500);
    const logs = await deletedLogs(w.store);
    const all = [...logs.values()].flat();
    expect(first.out.counts.deleted_objects).toBe(1000);
    expect(second.out.counts.deleted_objects).toBe(500);
    expect(second.out.counts.skipped_answered_earlier).toBe(1000);
    expect(second.out.counts.spared_by_revalidation).toBe(0);
    expect(all.length).toBe(1500);
    expect(new Set(all).size).toBe(1500);
  });
});

describe("resuming a stopped sweep where its list was answered", () => {
  /** Records every request's keys (relative to the namespace) in `requests`. */
  function recordRequests(w: W, onRequest?: (n: number) => Promise<void> | void) {
    const requests: string[][] = [];
    w.store.beforeDelete = async (keys) => {
      requests.push(keys.map((k) => k.slice(PREFIX.length - BUCKET.length - 1)));
      await onRequest?.(requests.length);
    };
    return requests;
  }

  it("offers again the request with a key that failed, not those answered before or after it", async () => {
    const { w, m, keys } = await markedExpiredObjects(2500);
    const first = recordRequests(w);
    const failing = "data/o-1500";
    w.store.failDelete.set(`${PREFIX.slice(BUCKET.length + 1)}${failing}`, "AccessDenied");
    const one = await sweepOnly(w, m, { sweep: { concurrency: 1 } }, NOW + 60);
    expect(one.out.success).toBe(false);
    expect(one.out.errorMessage).toContain("could not be deleted");
    expect(first).toHaveLength(3);
    expect(first[1]).toContain(failing);
    w.store.failDelete.clear();
    const second = recordRequests(w);
    const two = await sweepOnly(w, m, { sweep: { concurrency: 1 } }, NOW + 120);
    expect(two.out.success).toBe(true);
    // The failed key's request again; not the first request's keys, nor the third's (answered
    // after the failed one).
    expect(second.flat().sort()).toEqual([...first[1]!].sort());
    expect(two.out.counts.skipped_answered_earlier).toBe(1500);
    for (const k of keys) expect(w.store.objects.has(`${PREFIX}${k}`)).toBe(false);
  });

  it("requests answered out of order: every answered one is skipped, the unanswered one offered again", async () => {
    const { w, m, keys } = await markedExpiredObjects(5500);
    // Six requests, four in flight: the second fails after the third to sixth were answered.
    const first = recordRequests(w, async (n) => {
      if (n === 2) {
        await new Promise((r) => setTimeout(r, 50));
        throw new Error("DeleteObjects: InternalError");
      }
    });
    const one = await sweepOnly(w, m, { sweep: { concurrency: 4 } }, NOW + 60);
    expect(one.out.success).toBe(false);
    expect(first).toHaveLength(6);
    const second = recordRequests(w);
    const two = await sweepOnly(w, m, { sweep: { concurrency: 4 } }, NOW + 120);
    expect(two.out.success).toBe(true);
    // Only the failed request's keys: those of the requests answered after it too are skipped
    // (they used to be offered again, 3 500 keys, and listed again as deleted).
    expect(second.flat().sort()).toEqual([...first[1]!].sort());
    expect(two.out.counts.skipped_answered_earlier).toBe(4500);
    expect(two.out.counts.deleted_objects).toBe(1000);
    for (const k of keys) expect(w.store.objects.has(`${PREFIX}${k}`)).toBe(false);
  });

  it("a key withheld by the last-moment check is not offered again", async () => {
    const { w, m, keys } = await markedExpiredObjects(1500);
    let linked = false;
    const first = recordRequests(w, (n) => {
      if (n === 2) throw new Error("DeleteObjects: InternalError");
    });
    const one = await sweepOnly(
      w,
      m,
      {
        sweep: { concurrency: 1 },
        beforeSweepMap: () => {
          // Linked again on main before the sweep: the check withholds it.
          w.lakefs.stage("main", "late-link", `${NS}/data/o-0007`);
          linked = true;
        },
      },
      NOW + 60,
    );
    expect(linked).toBe(true);
    expect(one.out.success).toBe(false);
    expect(one.out.counts.spared_at_delete).toBe(1);
    expect(first[0]).not.toContain("data/o-0007");
    const second = recordRequests(w);
    const two = await sweepOnly(w, m, { sweep: { concurrency: 1 } }, NOW + 120);
    expect(two.out.success).toBe(true);
    expect(second.flat()).toHaveLength(500);
    expect(w.store.objects.has(`${PREFIX}data/o-0007`)).toBe(true);
    for (const k of keys.filter((k) => k !== "data/o-0007")) {
      expect(w.store.objects.has(`${PREFIX}${k}`)).toBe(false);
    }
  });

  it("a key the stopped sweep's revalidation spared stays spared, even once garbage again", async () => {
    const { w, m, keys } = await markedExpiredObjects(1500);
    // Linked again before the sweep: its revalidation spares it.
    w.lakefs.stage("main", "relinked", `${NS}/data/o-0007`);
    const first = recordRequests(w, (n) => {
      if (n === 2) throw new Error("DeleteObjects: InternalError");
    });
    const one = await sweepOnly(w, m, { sweep: { concurrency: 1 } }, NOW + 60);
    expect(one.out.success).toBe(false);
    expect(one.out.counts.spared_by_revalidation).toBe(1);
    expect(first[0]).not.toContain("data/o-0007");
    // The link is dropped again: the key is garbage to today's refs, but its line was
    // answered (spared) by the stopped sweep, so the resumed one skips it.
    w.lakefs.stage("main", "relinked", null);
    const second = recordRequests(w);
    const two = await sweepOnly(w, m, { sweep: { concurrency: 1 } }, NOW + 120);
    expect(two.out.success).toBe(true);
    // The first request's 1 000 keys came from lines 1 to 1 001: the spared key's line too.
    expect(second.flat()).toHaveLength(499);
    expect(second.flat()).not.toContain("data/o-0007");
    expect(two.out.counts.skipped_answered_earlier).toBe(1001);
    expect(w.store.objects.has(`${PREFIX}data/o-0007`)).toBe(true);
    for (const k of keys.filter((k) => k !== "data/o-0007")) {
      expect(w.store.objects.has(`${PREFIX}${k}`)).toBe(false);
    }
  });

  it("a stopped sweep whose log could not be written records nothing: the next one offers and lists every key", async () => {
    const { w, m, keys } = await markedExpiredObjects(1500);
    recordRequests(w, (n) => {
      if (n === 2) throw new Error("DeleteObjects: InternalError");
    });
    const upload = w.store.upload.bind(w.store);
    w.store.upload = (bucket, key) => {
      const u = upload(bucket, key);
      if (!key.includes("/deleted_objects/")) return u;
      return { ...u, close: async () => Promise.reject(new Error("S3: the log's upload failed")) };
    };
    const one = await sweepOnly(w, m, { sweep: { concurrency: 1 } }, NOW + 60);
    w.store.upload = upload;
    expect(one.out.success).toBe(false);
    expect(w.store.deleted).toHaveLength(1000);
    expect(await deletedLogs(w.store)).toEqual(new Map());
    const second = recordRequests(w);
    const two = await sweepOnly(w, m, { sweep: { concurrency: 1 } }, NOW + 120);
    expect(two.out.success).toBe(true);
    expect(second.flat()).toHaveLength(1500);
    const logged = [...(await deletedLogs(w.store)).values()].flat().sort();
    expect(logged).toEqual(keys);
    expect(two.out.counts.skipped_answered_earlier).toBeUndefined();
  });

  it("a part swept in passes: the passes answered are skipped whole, the stopped one from its point", async () => {
    const { w, m, keys } = await markedExpiredObjects(2500);
    // Revived keys none of the marked ones: the part is swept in several passes, each run.
    const reviveUnrelated = async () => {
      const runId = [...w.records.runs.values()].at(-1)!.runId;
      const shard = gcWorkKeys("r1", runId).addressShard(0, "active", "b0", "revived");
      const revived = Array.from({ length: 200 }, (_, i) => `data/unrelated-${i}`);
      await w.deps.s3.put(w.deps.workBucket, shard, encodeAddressShard(revived));
    };
    const first = recordRequests(w, (n) => {
      if (n === 3) throw new Error("DeleteObjects: InternalError");
    });
    const hooks = { keysPerPass: 10, beforeSweepMap: reviveUnrelated };
    const one = await sweepOnly(w, m, { ...hooks, sweep: { concurrency: 1 } }, NOW + 60);
    expect(one.out.success).toBe(false);
    expect(first).toHaveLength(3);
    // One request a pass here: passes 0 and 1 answered, pass 2's request failed.
    expect(first.map((r) => r.length).every((n) => n > 0 && n < 1000)).toBe(true);
    const second = recordRequests(w);
    const two = await sweepOnly(w, m, { ...hooks, sweep: { concurrency: 1 } }, NOW + 120);
    expect(two.out.success).toBe(true);
    const answered = new Set([...first[0]!, ...first[1]!]);
    expect(second.flat().filter((k) => answered.has(k))).toEqual([]);
    expect(second.flat().length + answered.size).toBe(2500);
    expect(two.out.counts.skipped_answered_earlier).toBe(answered.size);
    expect(two.out.counts.spared_by_revalidation ?? 0).toBe(0);
    for (const k of keys) expect(w.store.objects.has(`${PREFIX}${k}`)).toBe(false);
  });
});

describe("a sweep whose function runs out of time", () => {
  // A Lambda killed at its timeout leaves no deleted-objects log for what it had deleted: the
  // sweep stops sending requests with a minute left, writes its log and counts, and fails,
  // naming the way on (a sweep-only run of the mark).
  it("sends no further request, logs exactly what was deleted, and a sweep-only run finishes", async () => {
    const { w, m } = await markedExpiredObjects(2500);
    let requests = 0;
    w.store.beforeDelete = () => {
      requests++;
    };
    const first = await sweepOnly(
      w,
      m,
      { sweep: { concurrency: 1, outOfTime: () => requests >= 1 } },
      NOW + 60,
    );
    expect(first.out.success).toBe(false);
    expect(first.out.errorMessage).toMatch(
      /^sweep stopped: sweep of part 0 stopped with less than a minute of its function's time left, its deleted-objects log written: start a sweep-only run of the mark/,
    );
    expect(requests).toBe(1);
    expect(w.store.deleted).toHaveLength(1000);
    const logged = [...(await deletedLogs(w.store)).values()].flat();
    expect(logged.sort()).toEqual(w.store.deleted.map((k) => k.slice(PREFIX.length)).sort());
    expect(first.out.counts.deleted_objects).toBe(1000);
    const logKey = w.store.keysUnder(LOGS)[0]!;
    expect(parquetKv(w.store, logKey)["lakeport.incomplete"]).toBe("true");
    const second = await sweepOnly(w, m, { sweep: { concurrency: 1 } }, NOW + 120);
    expect(second.out.success).toBe(true);
    expect(new Set(w.store.deleted).size).toBe(2500);
  });
});

describe("a sweep whose time runs out inside a batch (review of the stop)", () => {
  // The stop was checked only when a batch began: a batch whose throttled keys were resent
  // (after back-offs, each behind a fresh lakeFS check) went on sending requests inside the
  // last minute, every one of which may hang up to the S3 request timeout (5 minutes), and the
  // function was killed with no log of what the part had deleted.
  it("sends no resend once out of time, and logs what the first request deleted", async () => {
    const w = world();
    expiredObjects(w, ["data/a", "data/b", "data/slow"]);
    const { r: m } = await markOnly(w, { addressesPerPartition: 100_000_000 });
    let sends = 0;
    const client = {
      send: async (cmd: { input: { Delete: { Objects: { Key: string }[] } } }) => {
        sends++;
        const errors = [];
        for (const k of cmd.input.Delete.Objects.map((o) => o.Key)) {
          if (k.endsWith("data/slow")) errors.push({ Key: k, Code: "SlowDown", Message: "slow" });
          else w.store.objects.delete(`${BUCKET}/${k}`);
        }
        return { Errors: errors };
      },
    };
    deleteThrough(w, client);
    vi.spyOn(Math, "random").mockReturnValue(0);
    try {
      const { out } = await sweepOnly(w, m, {
        sweep: { concurrency: 1, outOfTime: () => sends >= 1 },
      });
      expect(out.success).toBe(false);
      expect(out.errorMessage).toContain("less than a minute of its function's time left");
      expect(sends).toBe(1);
      const logged = [...(await deletedLogs(w.store)).values()].flat().sort();
      expect(logged).toEqual(["data/a", "data/b"]);
      expect(out.counts.deleted_objects).toBe(2);
    } finally {
      vi.restoreAllMocks();
    }
  });

  // A request in flight when the time runs out may hang (a connection dropped on the way) up
  // to the S3 client's request timeout, 5 minutes: the stop waits for it, and the function was
  // killed with no log of the other requests' deletions. A delete request is given far less;
  // past it, it is taken as lost and its resend meets the stop.
  it("does not wait past a short limit for a request that hangs once out of time", async () => {
    const { w, m } = await markedExpiredObjects(1500);
    let sends = 0;
    const firstKeys: string[] = [];
    const client = {
      send: (
        cmd: { input: { Delete: { Objects: { Key: string }[] } } },
        options?: { requestTimeout?: number },
      ) => {
        sends++;
        const keys = cmd.input.Delete.Objects.map((o) => o.Key);
        if (sends === 1) {
          for (const k of keys) w.store.objects.delete(`${BUCKET}/${k}`);
          firstKeys.push(...keys.map((k) => k.slice(PREFIX.length - BUCKET.length - 1)));
          return Promise.resolve({ Errors: [] });
        }
        // No answer ever begins: the HTTP handler fails it at its request timeout.
        return new Promise((_, reject) => {
          const ms = options?.requestTimeout ?? 300_000;
          const t = setTimeout(
            () => reject(Object.assign(new Error("hung"), { name: "TimeoutError" })),
            ms,
          );
          t.unref?.();
        });
      },
    };
    deleteThrough(w, client);
    vi.spyOn(Math, "random").mockReturnValue(0);
    try {
      const { out } = await sweepOnly(w, m, {
        sweep: { concurrency: 2, outOfTime: () => sends >= 2, deleteRequestTimeoutMs: 50 },
      });
      expect(out.success).toBe(false);
      expect(out.errorMessage).toContain("less than a minute of its function's time left");
      expect(sends).toBe(2);
      const logged = [...(await deletedLogs(w.store)).values()].flat().sort();
      expect(logged).toEqual(firstKeys.sort());
      expect(out.counts.deleted_objects).toBe(1000);
    } finally {
      vi.restoreAllMocks();
    }
  }, 5_000);

  // spared_by_revalidation was candidates - offered, candidates counted over the whole list in
  // pass 0: a part swept in several passes (many revived keys) and stopped counted the keys of
  // the passes it never reached as spared by revalidation, in its counts, the run record's
  // sparedObjects and the metrics.
  it("counts no key of an unreached pass as spared by revalidation", async () => {
    const { w, m } = await markedExpiredObjects(2500);
    let requests = 0;
    w.store.beforeDelete = () => {
      requests++;
    };
    const { out } = await sweepOnly(w, m, {
      keysPerPass: 10,
      // Revived keys none of the marked ones: the part is swept in several passes.
      beforeSweepMap: async () => {
        const runId = [...w.records.runs.values()].at(-1)!.runId;
        const shard = gcWorkKeys("r1", runId).addressShard(0, "active", "b0", "revived");
        const revived = Array.from({ length: 200 }, (_, i) => `data/unrelated-${i}`);
        await w.deps.s3.put(w.deps.workBucket, shard, encodeAddressShard(revived));
      },
      sweep: { concurrency: 1, outOfTime: () => requests >= 1 },
    });
    expect(out.success).toBe(false);
    expect(requests).toBe(1);
    expect(out.counts.spared_by_revalidation ?? 0).toBe(0);
    expect(out.counts.spared_objects ?? 0).toBe(0);
    expect(out.counts.deleted_objects).toBe(w.store.deleted.length);
  });
});

describe("a batch whose resend is stopped by the check", () => {
  it("still logs what the batch's first request deleted", async () => {
    // One request of 3 keys: S3 deletes two and answers SlowDown for the third. Before the
    // resend the check finds an expired commit active again (a branch on it): the sweep
    // stops. The two objects the first request deleted are gone: the log must list them.
    const w = world();
    expiredObjects(w, ["data/a", "data/b", "data/slow"]);
    const c0 = [...w.lakefs.commits.values()].find((c) => c.tree.has("p0"))!.id;
    const { r: m } = await markOnly(w, { addressesPerPartition: 100_000_000 });
    let sends = 0;
    const client = {
      send: async (cmd: { input: { Delete: { Objects: { Key: string }[] } } }) => {
        sends++;
        const keys = cmd.input.Delete.Objects.map((o) => o.Key);
        const errors = [];
        for (const k of keys) {
          if (k.endsWith("data/slow")) errors.push({ Key: k, Code: "SlowDown", Message: "slow" });
          else w.store.objects.delete(`${BUCKET}/${k}`);
        }
        w.lakefs.createBranch("late", c0);
        return { Errors: errors };
      },
    };
    deleteThrough(w, client);
    vi.spyOn(Math, "random").mockReturnValue(0);
    try {
      let t = 0;
      const { out } = await sweepOnly(w, m, {
        sweep: { clock: () => (t += 10_000), concurrency: 1 },
      });
      expect(out.success).toBe(false);
      expect(out.errorMessage).toContain("became active again");
      expect(sends).toBe(1);
      expect(w.store.objects.has(`${PREFIX}data/a`)).toBe(false);
      const logged = [...(await deletedLogs(w.store)).values()].flat().sort();
      expect(logged).toEqual(["data/a", "data/b"]);
      expect(out.counts.deleted_objects).toBe(2);
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe("the mark's Parquet and text lists and the sweep's log, with unusual keys", () => {
  const odd = [
    "data/\uFEFFbom",
    "data/trailing space ",
    "data/ leading",
    "data/tab\tkey",
    "data/nel\u0085x",
    "data/ls\u2028x",
    "data/%FF%FE",
    "data/\uFFFDreplacement",
    "data/Ã©moji😀",
    "data/ctrl\u0001x",
    "data/amp&<>\"'",
    `data/${"x".repeat(1000)}`,
  ];

  it("lists the same keys in Parquet and text, deletes them all and logs exactly them", async () => {
    const w = world();
    expiredObjects(w, odd);
    const { r: m, out: marked } = await markOnly(w, { addressesPerPartition: 100_000_000 });
    expect(marked.success).toBe(true);
    expect(marked.counts.marked_addresses).toBe(odd.length);
    const pq = w.store.keysUnder(`${PREFIX}_lakefs/retention/gc/addresses/mark_id=${m.markId}/`);
    const txt = w.store.keysUnder(
      `${PREFIX}_lakefs/retention/gc/addresses.text/mark_id=${m.markId}/`,
    );
    const fromParquet = (await Promise.all(pq.map((k) => parquetRows(w.store, k)))).flat();
    const fromText = txt.flatMap((k) => w.store.text(k)!.split("\n").slice(0, -1));
    expect(fromParquet.sort()).toEqual([...odd].sort());
    expect(fromText.sort()).toEqual([...odd].sort());
    const exp = w.store.keysUnder(`${PREFIX}_lakefs/logs/gc/expired_addresses/`);
    const fromExpired = (await Promise.all(exp.map((k) => parquetRows(w.store, k)))).flat();
    expect(fromExpired.sort()).toEqual([...odd].sort());
    const { out } = await sweepOnly(w, m);
    expect(out.success).toBe(true);
    for (const k of odd)
      expect(w.store.objects.has(`${PREFIX}${k}`), JSON.stringify(k)).toBe(false);
    const logged = [...(await deletedLogs(w.store)).values()].flat();
    expect(logged.sort()).toEqual([...odd].sort());
    expect(out.counts.deleted_objects).toBe(odd.length);
  });

  // A text list holds one key a line: the mark fails saying why, before anything is deleted
  // (every mark of the repository, for as long as an expired commit holds such a key).
  it("a marked key with a line break fails the mark, saying why, and deletes nothing", async () => {
    const w = world();
    expiredObjects(w, ["data/a", "data/line\nbreak"]);
    const { out } = await markOnly(w, { addressesPerPartition: 100_000_000 });
    expect(out.success).toBe(false);
    expect(out.errorMessage).toContain("contains a line break and cannot go in a text list");
    expect(w.store.objects.has(`${PREFIX}data/a`)).toBe(true);
  });

  it("a mark marked in several passes lists each key once in both formats", async () => {
    const w = world();
    const keys = Array.from({ length: 700 }, (_, i) => `data/k-${i}`);
    expiredObjects(w, keys);
    const { r: m, out } = await markOnly(w, {
      addressesPerPartition: 100_000_000,
      keysPerPass: 100,
    });
    expect(out.success).toBe(true);
    expect(out.counts.passes).toBeGreaterThan(1);
    const pq = w.store.keysUnder(`${PREFIX}_lakefs/retention/gc/addresses/mark_id=${m.markId}/`);
    const txt = w.store.keysUnder(
      `${PREFIX}_lakefs/retention/gc/addresses.text/mark_id=${m.markId}/`,
    );
    const fromParquet = (await Promise.all(pq.map((k) => parquetRows(w.store, k)))).flat();
    const fromText = txt.flatMap((k) => w.store.text(k)!.split("\n").slice(0, -1));
    expect(fromParquet.length).toBe(700);
    expect(new Set(fromParquet).size).toBe(700);
    expect(fromText.sort()).toEqual(fromParquet.sort());
    const s = await sweepOnly(w, m, { keysPerPass: 100 });
    expect(s.out.success).toBe(true);
    const logged = [...(await deletedLogs(w.store)).values()].flat();
    expect(logged.length).toBe(700);
    expect(new Set(logged).size).toBe(700);
    expect(s.out.counts.deleted_objects).toBe(700);
  });

  it("an empty mark", async () => {
    const w = world();
    const c0 = w.lakefs.addCommit([], new Map([["keep", `${NS}/data/keep`]]), NOW - 20 * DAY);
    w.lakefs.createBranch("main", c0);
    const { r: m, out } = await markOnly(w);
    expect(out.success).toBe(true);
    expect(out.counts.marked_addresses ?? 0).toBe(0);
    const s = await sweepOnly(w, m);
    expect(s.out.success, s.out.errorMessage).toBe(true);
    expect(s.out.counts.deleted_objects ?? 0).toBe(0);
    const logged = [...(await deletedLogs(w.store)).values()].flat();
    expect(logged).toEqual([]);
  });
});

/** main rewrote `a` three times: c1's data/A1 is held by expired c1 only (a tag may come). */
function rewrittenThreeTimes() {
  const w = world();
  const o = (k: string) => {
    w.store.objects.set(`${PREFIX}${k}`, new TextEncoder().encode(k));
    return `${NS}/${k}`;
  };
  const c0 = w.lakefs.addCommit([], new Map([["a", o("data/A0")]]), NOW - 20 * DAY);
  w.lakefs.createBranch("main", c0);
  w.lakefs.stage("main", "a", o("data/A1"));
  const c1 = w.lakefs.commit("main", NOW - 15 * DAY);
  w.lakefs.stage("main", "a", o("data/A2"));
  w.lakefs.commit("main", NOW - 10 * DAY);
  w.lakefs.stage("main", "a", o("data/A3"));
  w.lakefs.commit("main", NOW - 1 * DAY);
  return { w, c1 };
}

describe("two attempts of the Commits step at once", () => {
  it("the mark, its commits.csv and its sweep agree on which commits were kept, and the tag's object survives", async () => {
    // Step Functions retries a Lambda service error of Commits while the first attempt may
    // still run. Attempt A reads the refs, then a tag is created on expired c1, then attempt
    // B reads them (c1 kept). A's writes stall after its commits.csv; B writes everything; A
    // then writes its graph and work items (c1 expired: its object marked). With shared keys the
    // mark was A's and the commits.csv (namespace and work copy) B's: revalidation took c1 for
    // covered and never listed it, so the sweep deleted what tag v1 holds. Now each attempt
    // writes its own keys and the first to record itself is the mark, for both.
    const { w, c1 } = rewrittenThreeTimes();

    const { runCommitsStep } = await import("../../lambdas/gc/app/commits");
    const r = run(`20270101T000000000Z-mark${seq++}`, "mark-only", `m${seq++}`);
    w.records.startMarking(r, NOW, RULES);
    const inp = input(r, { runId: r.runId, now: NOW });
    const put = w.store.put.bind(w.store);
    let attemptB: Promise<unknown> | undefined;
    w.store.put = async (bucket, key, body) => {
      if (key.includes(r.runId) && key.endsWith("/commits.jsonl") && !attemptB) {
        w.lakefs.createTag("v1", c1);
        attemptB = runCommitsStep(w.deps, inp, { addressesPerPartition: 100_000_000 });
        await attemptB;
      }
      return put(bucket, key, body);
    };
    const marked = await runGcPipeline(w.deps, inp, { addressesPerPartition: 100_000_000 });
    w.store.put = put;
    expect(marked.success).toBe(true);
    const csv = w.store.text(
      `${PREFIX}_lakefs/retention/gc/commits/run_id=${r.runId}/commits.csv`,
    )!;
    const pq = w.store.keysUnder(`${PREFIX}_lakefs/retention/gc/addresses/mark_id=${r.markId}/`);
    const markedKeys = (await Promise.all(pq.map((k) => parquetRows(w.store, k)))).flat();
    const c1Kept = csv.includes(`${c1},false`);
    // The report must not say c1 was kept while the mark marked the object only c1 holds.
    const reportLies = c1Kept && markedKeys.includes("data/A1");
    const s = await sweepOnly(w, r);
    expect(s.out.success, s.out.errorMessage).toBe(true);
    expect(w.lakefs.tags.get("v1")).toBe(c1);
    expect(w.store.objects.has(`${PREFIX}data/A1`), "tag v1 -> c1 holds it").toBe(true);
    expect(reportLies, `${csv}\nmarked: ${markedKeys}`).toBe(false);
  });

  it("a first attempt that reads the repository after its retry finished adopts the retry's mark, and the tag's object survives", async () => {
    // Attempt A stalls before it reads the refs; its retry B reads them (c1 expired, A1 marked)
    // and records itself; a tag is then created on c1, and A reads (c1 kept). The state machine
    // goes on with B's answer; A, recording itself last, would have told revalidation that c1
    // was covered (its commits.csv) while the mark (B's) marked A1.
    const { w, c1 } = rewrittenThreeTimes();
    const r = run(`20270101T000000000Z-mark${seq++}`, "mark-only", `m${seq++}`);
    w.records.startMarking(r, NOW, RULES);
    const inp = input(r, { runId: r.runId, now: NOW });
    const marked = await runGcPipeline(w.deps, inp, {
      addressesPerPartition: 100_000_000,
      commits: async (invoke) => {
        const retry = await invoke();
        w.lakefs.createTag("v1", c1);
        await invoke();
        return retry;
      },
    });
    expect(marked.success).toBe(true);
    const s = await sweepOnly(w, r);
    expect(s.out.success, s.out.errorMessage).toBe(true);
    expect(w.store.objects.has(`${PREFIX}data/A1`), "tag v1 -> c1 holds it").toBe(true);
  });
});
