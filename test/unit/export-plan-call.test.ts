// One writer per plan call (lambdas/export/domain/plan-call.ts): the rule, the claim on an
// in-memory store, and the hole it closes: a late attempt of a plan call listing the export path
// after the copies of its segment changed it, and rewriting the segment's task shards with
// other boundaries.
import { describe, expect, it } from "vitest";
import {
  PlanCallInProgressError,
  runClaimedPlanCall,
} from "../../lambdas/export/app/plan-call-claim";
import { runPlanStep } from "../../lambdas/export/app/plan-step";
import {
  decidePlanCall,
  InvalidPlanCallRecordError,
  OWNER_DEADLINE_SKEW_MS,
  parsePlanCallRecord,
  planCallNumber,
} from "../../lambdas/export/domain/plan-call";
import type { ExportTask } from "../../lambdas/export/domain/tasks";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import type { PlanStepOutput } from "../../lambdas/export/domain/workflow-state";
import { WriteConditionFailedError } from "../../lambdas/shared/write-condition";
import { MemoryExportStore } from "../support/memory-export-store";

const output = (shards: number): PlanStepOutput => ({
  done: true,
  cursor: { afterPath: "z", counts: { copies: 1, deletes: 0, copyBytes: 1, shards } },
  counts: { copies: 1, deletes: 0, copyBytes: 1, shards },
});

describe("the plan call rule", () => {
  const T = 1_000_000;
  it("adopts an answer, owns its own record, takes over an ended or expired owner, else waits", () => {
    expect(decidePlanCall({ attempt: "a", until: T, output: output(3) }, "b", T)).toEqual({
      action: "adopt",
      output: output(3),
    });
    // Even its own answered record: the answer is what it wrote.
    expect(decidePlanCall({ attempt: "b", until: T, output: output(2) }, "b", T)).toMatchObject({
      action: "adopt",
    });
    expect(decidePlanCall({ attempt: "b", until: T }, "b", T)).toEqual({ action: "own" });
    expect(decidePlanCall({ attempt: "a", until: T + 5, ended: true }, "b", T)).toEqual({
      action: "take-over",
    });
    expect(decidePlanCall({ attempt: "a", until: T }, "b", T)).toEqual({
      action: "wait",
      untilMs: T + OWNER_DEADLINE_SKEW_MS,
    });
    expect(decidePlanCall({ attempt: "a", until: T }, "b", T + OWNER_DEADLINE_SKEW_MS - 1)).toEqual(
      { action: "wait", untilMs: T + OWNER_DEADLINE_SKEW_MS },
    );
    expect(decidePlanCall({ attempt: "a", until: T }, "b", T + OWNER_DEADLINE_SKEW_MS)).toEqual({
      action: "take-over",
    });
  });

  it("numbers the calls of a plan from 0", () => {
    expect(planCallNumber(undefined)).toBe(0);
    expect(planCallNumber({ done: true, call: 4 })).toBe(0);
    expect(planCallNumber({ done: false, call: 0 })).toBe(1);
    expect(planCallNumber({ done: false, call: 6 })).toBe(7);
    // A state written before calls were numbered: its first call had no claim.
    expect(planCallNumber({ done: false })).toBe(1);
  });

  it("names what is wrong with a record", () => {
    const bad = (text: string) => () => parsePlanCallRecord(text, "k");
    expect(bad("{")).toThrow(InvalidPlanCallRecordError);
    expect(bad("{")).toThrow("k: not JSON");
    expect(bad("null")).toThrow("k: attempt: expected a non-empty string");
    expect(bad('{"attempt":""}')).toThrow("attempt");
    expect(bad('{"attempt":"a"}')).toThrow("k: until: expected epoch milliseconds");
    expect(bad('{"attempt":"a","until":1,"output":3}')).toThrow("k: output: expected an object");
    expect(parsePlanCallRecord('{"attempt":"a","until":1}', "k")).toEqual({
      attempt: "a",
      until: 1,
    });
  });
});

describe("the claim of a plan call", () => {
  const KEY = "exports/e/plan/calls/call-000001.json";
  const record = (store: MemoryExportStore) =>
    JSON.parse(store.objects.get(`work/${KEY}`) ?? "null");
  /** Deps on a clock that only sleeps move, with `onSleep` after each sleep; a plan that says it ran. */
  const clocked = (store: MemoryExportStore, start: number, onSleep = async () => {}) => {
    const t = { clock: start, ran: false };
    const deps = {
      store,
      workBucket: "work",
      now: () => t.clock,
      sleep: async (ms: number) => {
        t.clock += ms;
        await onSleep();
      },
    };
    const plan = async () => {
      t.ran = true;
      return output(0);
    };
    return { t, deps, plan };
  };

  it("runs the plan once: a second attempt answers what the first did", async () => {
    const store = new MemoryExportStore();
    const writes: string[] = [];
    const put = store.put.bind(store);
    const putIf = store.putIf.bind(store);
    // Requests as S3 would count them (the fake's putIf writes through its own put).
    let inPutIf = false;
    store.put = async (bucket, key, body) => {
      if (!inPutIf) writes.push(`put ${JSON.parse(String(body)).attempt}`);
      return put(bucket, key, body);
    };
    store.putIf = async (bucket, key, body, condition) => {
      writes.push(`putIf ${JSON.parse(body).attempt}`);
      inPutIf = true;
      try {
        return await putIf(bucket, key, body, condition);
      } finally {
        inPutIf = false;
      }
    };
    const deps = { store, workBucket: "work" };
    let runs = 0;
    const plan = async () => {
      runs++;
      return output(runs);
    };
    const first = await runClaimedPlanCall(
      deps,
      { key: KEY, attempt: "a", deadlineMs: 9e15 },
      plan,
    );
    const again = await runClaimedPlanCall(
      deps,
      { key: KEY, attempt: "b", deadlineMs: 9e15 },
      plan,
    );
    expect(first).toEqual(output(1));
    expect(again).toEqual(output(1));
    expect(runs).toBe(1);
    expect(record(store)).toEqual({ attempt: "a", until: 9e15, output: output(1) });
    // The claim's cost: two PUTs by the owner (the claim, the answer), none by the other.
    expect(writes).toEqual(["putIf a", "putIf a", "putIf b"]);
  });

  it("waits for an owner still running and answers as it did", async () => {
    const store = new MemoryExportStore();
    let polls = 0;
    let ownerDone!: () => void;
    // The owner answers while the retry waits (after three reads).
    const { t, deps, plan } = clocked(store, 0, async () => {
      if (++polls === 3) {
        ownerDone();
        await owner;
      }
    });
    const owner = runClaimedPlanCall(
      { store, workBucket: "work", now: deps.now },
      { key: KEY, attempt: "a", deadlineMs: 900_000 },
      () =>
        new Promise<PlanStepOutput>((resolve) => {
          ownerDone = () => resolve(output(7));
        }),
    );
    await new Promise((r) => setImmediate(r));
    const retried = runClaimedPlanCall(deps, { key: KEY, attempt: "b", deadlineMs: 910_000 }, plan);
    expect(await retried).toEqual(output(7));
    expect(t.ran).toBe(false);
    // A read each second (the default) until the answer.
    expect(polls).toBe(3);
    expect(t.clock).toBe(3000);
  });

  it("takes over an owner that ended without an answer, or whose deadline has passed", async () => {
    const store = new MemoryExportStore();
    const deps = { store, workBucket: "work", now: () => 1_000 };
    await expect(
      runClaimedPlanCall(deps, { key: KEY, attempt: "a", deadlineMs: 900_000 }, async () => {
        throw new Error("lakeFS listing failed");
      }),
    ).rejects.toThrow("lakeFS listing failed");
    expect(record(store)).toEqual({ attempt: "a", until: 900_000, ended: true });
    expect(
      await runClaimedPlanCall(deps, { key: KEY, attempt: "b", deadlineMs: 900_000 }, async () =>
        output(2),
      ),
    ).toEqual(output(2));
    expect(record(store)).toMatchObject({ attempt: "b", output: output(2) });

    // An owner whose invocation can no longer run (its deadline and the clock skew passed).
    const expired = new MemoryExportStore();
    await expired.put("work", KEY, JSON.stringify({ attempt: "a", until: 5_000 }));
    const later = { store: expired, workBucket: "work", now: () => 5_000 + OWNER_DEADLINE_SKEW_MS };
    expect(
      await runClaimedPlanCall(later, { key: KEY, attempt: "c", deadlineMs: 9e15 }, async () =>
        output(3),
      ),
    ).toEqual(output(3));
  });

  it("fails rather than run beside an owner that may outlast it; the record unchanged", async () => {
    const store = new MemoryExportStore();
    const stored = JSON.stringify({ attempt: "a", until: 900_000 });
    await store.put("work", KEY, stored);
    const { t, deps, plan } = clocked(store, 100_000);
    const retried = runClaimedPlanCall(deps, { key: KEY, attempt: "b", deadlineMs: 200_000 }, plan);
    await expect(retried).rejects.toThrow(PlanCallInProgressError);
    await expect(retried).rejects.toThrow("may run until");
    expect(t.ran).toBe(false);
    expect(t.clock).toBeLessThanOrEqual(200_000);
    expect(store.objects.get(`work/${KEY}`)).toBe(stored);
  });

  it("of two attempts taking over one owner, one plans", async () => {
    const store = new MemoryExportStore();
    await store.put("work", KEY, JSON.stringify({ attempt: "a", until: 0, ended: true }));
    const putIf = store.putIf.bind(store);
    // Attempt b's take-over is overtaken by c's between b's read and b's write.
    let overtaken = false;
    let runs = 0;
    store.putIf = async (bucket, key, body, condition) => {
      if (!overtaken && condition !== "absent" && body.includes('"b"')) {
        overtaken = true;
        await runClaimedPlanCall(
          { store, workBucket: "work" },
          { key, attempt: "c", deadlineMs: 9e15 },
          async () => {
            runs++;
            return output(9);
          },
        );
      }
      return putIf(bucket, key, body, condition);
    };
    const b = await runClaimedPlanCall(
      { store, workBucket: "work" },
      { key: KEY, attempt: "b", deadlineMs: 9e15 },
      async () => {
        runs++;
        return output(8);
      },
    );
    expect(b).toEqual(output(9));
    expect(runs).toBe(1);
  });

  it("owns the call when its claim was written but the answer lost", async () => {
    const store = new MemoryExportStore();
    const putIf = store.putIf.bind(store);
    store.putIf = async (bucket, key, body, condition) => {
      await putIf(bucket, key, body, condition);
      store.putIf = putIf;
      // The write landed; the retry of the request finds the key and fails its condition.
      throw new WriteConditionFailedError(bucket, key, condition);
    };
    const out = await runClaimedPlanCall(
      { store, workBucket: "work" },
      { key: KEY, attempt: "a", deadlineMs: 9e15 },
      async () => output(4),
    );
    expect(out).toEqual(output(4));
  });
});

describe("a late attempt of a plan call", () => {
  const N = 200;
  const paths = Array.from({ length: N }, (_, i) => `p/${String(i).padStart(4, "0")}`);
  const input = {
    repository: "repo",
    branch: "main",
    exportId: "repo-main-late-1-x",
    fromCommit: null,
    commitId: "c1",
    exportPath: "s3://out/exp",
    lastKeysInPrefixRegexp: [],
    repaired: false,
  };
  const lakefs = {
    async *listObjects(_r: string, _ref: string, opts: { after?: string } = {}) {
      const rest = paths.filter((p) => !opts.after || p > opts.after);
      yield {
        results: rest.map((path, i) => ({
          path,
          path_type: "object" as const,
          physical_address: `s3://ns-bucket/data/${i}`,
          checksum: `etag-${path}`,
          size_bytes: 1,
          mtime: 0,
        })),
        pagination: { has_more: false, next_offset: "", results: rest.length, max_per_page: N },
      };
    },
  } as never;
  const keys = exportWorkKeys(input.exportId);
  const tasksOf = (store: MemoryExportStore, shard: number): ExportTask[] =>
    (store.objects.get(`work/${keys.taskShard(shard)}`) ?? "")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  it("answers the first attempt's plan and leaves the shards the copies read as they were", async () => {
    const store = new MemoryExportStore();
    // The export path holds an extra beside every path: the full export deletes them.
    for (const p of paths) await store.put("out", `exp/${p}-old`, "x");
    const deps = { store, lakefs, workBucket: "work" };
    const opts = { limits: { maxTasksPerShard: 10 }, firstSegmentShards: 4 };
    const first = await runPlanStep(deps, input, { ...opts, attempt: "p0" });
    expect(first).toMatchObject({ done: false, call: 0, counts: { shards: 4 } });
    // Call 1: attempt b answers (attempt a's answer was lost and a is late).
    const state = { ...input, plan: first };
    const b = await runPlanStep(deps, state, { ...opts, attempt: "b" });
    expect(b).toMatchObject({ done: true, call: 1 });
    const shards = b.counts.shards;
    const shardsOfB = new Map(
      Array.from({ length: shards - 4 }, (_, j) => [4 + j, tasksOf(store, 4 + j)]),
    );
    // Copy children run shards 4 and 5: their extras deleted, their copies made.
    for (const shard of [4, 5]) {
      for (const t of shardsOfB.get(shard)!) {
        if (t.op === "delete") store.objects.delete(`out/${t.destKey}`);
        else await store.put("out", t.destKey, "copied");
      }
    }
    // The late attempt a now runs call 1 as it was asked.
    const a = await runPlanStep(deps, state, { ...opts, attempt: "a" });
    expect(a).toEqual(b);
    for (const [shard, tasks] of shardsOfB)
      expect(tasksOf(store, shard), `shard ${shard}`).toEqual(tasks);
    // The children of shards 6 on read them now: with 4 and 5 every path of call 1 is copied.
    const copied = new Set<string>();
    for (let s = 4; s < shards; s++) {
      const tasks = s < 6 ? shardsOfB.get(s)! : tasksOf(store, s);
      for (const t of tasks) if (t.op === "copy") copied.add(t.path);
    }
    const afterFirst = first.cursor.afterPath;
    expect([...copied].sort()).toEqual(paths.filter((p) => p > afterFirst));
  });
});
