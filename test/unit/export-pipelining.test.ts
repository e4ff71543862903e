// Where an export overlaps its own requests: listings read one page ahead (readAhead), the plan
// writes shards while it goes on listing, the status step reads shard files several at a time
// and builds a full export's manifest from its tasks instead of listing the commit again.
import { describe, expect, it } from "vitest";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import { parseManifestLine } from "../../lambdas/export/domain/manifest";
import { type PlanResult, planExport, type ShardSink } from "../../lambdas/export/domain/plan";
import { statusKeys } from "../../lambdas/export/domain/status";
import { type CopyTask, encodeTask } from "../../lambdas/export/domain/tasks";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import { readAhead } from "../../lambdas/shared/concurrency";
import type { ObjectStats } from "../../lambdas/shared/lakefs/types";
import { MemoryExportStore } from "../support/memory-export-store";

const tick = () => new Promise((r) => setImmediate(r));

/** A paged source that records when each page is asked for and when it is answered. */
function pagedSource(pages: number, opts: { failAt?: number } = {}) {
  const events: string[] = [];
  let finished = false;
  async function* gen() {
    try {
      for (let i = 0; i < pages; i++) {
        events.push(`fetch ${i}`);
        await tick();
        if (i === opts.failAt) throw new Error(`page ${i} failed`);
        events.push(`got ${i}`);
        yield i;
      }
    } finally {
      finished = true;
    }
  }
  return { source: gen(), events, finished: () => finished };
}

describe("readAhead", () => {
  it("fetches the next page while the consumer works on the current one", async () => {
    const { source, events } = pagedSource(3);
    const seen: number[] = [];
    for await (const page of readAhead(source)) {
      seen.push(page);
      await tick();
      await tick();
      // Without reading ahead the next page is asked for only when this loop asks for it.
      if (page < 2) expect(events).toContain(`fetch ${page + 1}`);
    }
    expect(seen).toEqual([0, 1, 2]);
    expect(events.filter((e) => e.startsWith("fetch"))).toHaveLength(3);
  });

  it("stopping early waits for the page asked for and closes the source", async () => {
    const { source, events, finished } = pagedSource(10);
    for await (const page of readAhead(source)) {
      if (page === 1) break;
    }
    expect(finished()).toBe(true);
    // Pages 0 and 1 were used, page 2 fetched ahead; nothing after it.
    expect(events.filter((e) => e.startsWith("fetch"))).toEqual(["fetch 0", "fetch 1", "fetch 2"]);
  });

  it("a failing page surfaces after the pages before it, in order", async () => {
    const { source } = pagedSource(5, { failAt: 2 });
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const page of readAhead(source)) seen.push(page);
      })(),
    ).rejects.toThrow("page 2 failed");
    expect(seen).toEqual([0, 1]);
  });

  it("a failure fetched ahead of a consumer that stops is not an unhandled rejection", async () => {
    const { source } = pagedSource(5, { failAt: 1 });
    for await (const page of readAhead(source)) {
      expect(page).toBe(0);
      break;
    }
    // vitest fails the run on an unhandled rejection.
    await tick();
  });

  it("rejects a read-ahead that is not a positive integer", async () => {
    const it = readAhead(pagedSource(1).source, 0);
    await expect(it.next()).rejects.toThrow(RangeError);
  });
});

/** lakeFS listing `n` objects in pages of `amount`, counting the calls. */
function listingLakeFs(n: number) {
  const stats = (i: number): ObjectStats => ({
    path: `d/${String(i).padStart(6, "0")}`,
    path_type: "object",
    physical_address: `s3://ns-bucket/data/${i}`,
    checksum: `etag-${i}`,
    size_bytes: 7,
    mtime: 1,
  });
  const calls = { list: 0 };
  return {
    calls,
    async *listObjects(_repo: string, _ref: string, opts: { after?: string; amount?: number }) {
      const amount = opts.amount ?? 1000;
      let start = opts.after ? Number(opts.after.slice(2)) + 1 : 0;
      for (;;) {
        calls.list++;
        await tick();
        const results = Array.from({ length: Math.max(0, Math.min(amount, n - start)) }, (_, k) =>
          stats(start + k),
        );
        start += results.length;
        yield {
          results,
          pagination: {
            has_more: start < n,
            next_offset: results.at(-1)?.path ?? "",
            results: results.length,
            max_per_page: amount,
          },
        };
        if (start >= n) return;
      }
    },
    diffRefs: () => {
      throw new Error("not in a full export");
    },
    listObjectsPage: () => {
      throw new Error("not used");
    },
    statObject: () => {
      throw new Error("not used");
    },
  };
}

const emptyExportPath = { async *objects() {} };

/** A sink whose writes finish only when released, recording how many run at once. */
class SlowSink implements ShardSink {
  readonly shards = new Map<number, string[]>();
  inFlight = 0;
  maxInFlight = 0;
  failAt: number | undefined;
  async write(index: number, lines: string[]) {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      for (let i = 0; i < 5; i++) await tick();
      if (index === this.failAt) throw new Error(`shard ${index} not written`);
      this.shards.set(index, [...lines]);
    } finally {
      this.inFlight--;
    }
  }
}

const fullRequest = (resume?: PlanResult["cursor"]) => ({
  repository: "r",
  fromCommit: null,
  commitId: "c",
  exportPrefix: "exp",
  exported: emptyExportPath,
  ...(resume ? { resume } : {}),
});

describe("planExport writes shards while it lists", () => {
  it("keeps several shard writes in flight, at most four, and counts them all", async () => {
    const lakefs = listingLakeFs(2000);
    const sink = new SlowSink();
    const result = await planExport(lakefs, sink, fullRequest(), {
      limits: { maxTasksPerShard: 100 },
    });
    expect(result.done).toBe(true);
    expect(result.counts).toMatchObject({ copies: 2000, shards: 20 });
    expect(sink.shards.size).toBe(20);
    expect(sink.maxInFlight).toBeGreaterThan(1);
    expect(sink.maxInFlight).toBeLessThanOrEqual(4);
    expect(sink.inFlight).toBe(0);
    expect(lakefs.calls.list).toBe(2);
  });

  it("a stop returns a cursor only after every shard started is written; resuming loses nothing", async () => {
    const sink = new SlowSink();
    let result: PlanResult | undefined;
    do {
      let shards = 0;
      result = await planExport(listingLakeFs(1000), sink, fullRequest(result?.cursor), {
        limits: { maxTasksPerShard: 30 },
        shouldContinue: () => ++shards < 5,
      });
      // Nothing is still being written when the step returns its cursor.
      expect(sink.inFlight).toBe(0);
      expect(sink.shards.size).toBe(result.counts.shards);
      const lastShard = sink.shards.get(sink.shards.size - 1) ?? [];
      expect(result.cursor.afterPath).toBe(JSON.parse(lastShard.at(-1) as string).path);
    } while (!result.done);
    const paths = [...sink.shards.keys()]
      .sort((a, b) => a - b)
      .flatMap((i) => (sink.shards.get(i) ?? []).map((l) => JSON.parse(l).path as string));
    expect(paths).toEqual(
      Array.from({ length: 1000 }, (_, i) => `d/${String(i).padStart(6, "0")}`),
    );
    expect(result.counts).toMatchObject({ copies: 1000, shards: 34 });
  });

  it("a failed shard write fails the plan once the writes before it are done, none left running", async () => {
    const sink = new SlowSink();
    sink.failAt = 3;
    await expect(
      planExport(listingLakeFs(2000), sink, fullRequest(), { limits: { maxTasksPerShard: 100 } }),
    ).rejects.toThrow("shard 3 not written");
    expect(sink.inFlight).toBe(0);
    expect([...sink.shards.keys()].sort((a, b) => a - b).slice(0, 3)).toEqual([0, 1, 2]);
  });
});

describe("status step of a full export", () => {
  const exportId = "r-main-c1-1-x";
  const input = {
    repository: "r",
    branch: "main",
    exportId,
    fromCommit: null,
    commitId: "c1",
    exportPath: "s3://out/exp",
    exportStatusPath: "s3://status/st",
    lastKeysInPrefixRegexp: [],
    repaired: false,
  };
  const copy = (i: number): CopyTask => ({
    op: "copy",
    path: `d/${String(i).padStart(5, "0")}`,
    sourceAddress: `s3://ns-bucket/data/${i}`,
    destKey: `exp/d/${String(i).padStart(5, "0")}`,
    size: 10 + i,
    etag: `etag-${i}`,
  });

  it("writes the manifest from the tasks (every object of the commit), not from a second listing", async () => {
    const store = new MemoryExportStore();
    const keys = exportWorkKeys(exportId);
    const shards = 12;
    for (let s = 0; s < shards; s++) {
      const tasks = Array.from({ length: 50 }, (_, k) => encodeTask(copy(s * 50 + k)));
      // A delete task (an extra key in the export path) is not in the manifest.
      if (s === 3)
        tasks.push(encodeTask({ op: "delete", path: "d/00199x", destKey: "exp/d/00199x" }));
      await store.put("work", keys.taskShard(s), `${tasks.join("\n")}\n`);
      await store.put(
        "work",
        keys.shardResult(s),
        JSON.stringify({
          version: 1,
          shard: s,
          copied: 50,
          deleted: s === 3 ? 1 : 0,
          copiedBytes: 0,
          failed: [],
        }),
      );
    }
    const lakefs = {
      getCommit: async () => ({
        id: "c1",
        message: "m",
        committer: "u",
        creation_date: 5,
        parents: [],
        meta_range_id: "",
      }),
      listObjects: () => {
        throw new Error("a full export's status does not list the commit");
      },
    };
    const out = await runStatusStep(
      { store, lakefs: lakefs as never, workBucket: "work", now: () => new Date(0) },
      {
        ...input,
        plan: {
          done: true,
          cursor: {} as never,
          counts: { copies: 600, deletes: 1, copyBytes: 0, shards },
        },
      },
    );
    expect(out.status).toBe("exported-successfully");
    const sk = statusKeys("st", "r", "main", "c1");
    const index = JSON.parse(store.objects.get(`status/${sk.manifestIndex}`) as string);
    const entries = index.parts.flatMap((p: { key: string }) =>
      (store.objects.get(`status/${p.key}`) as string)
        .split("\n")
        .filter(Boolean)
        .map(parseManifestLine),
    );
    expect(entries).toHaveLength(600);
    expect(entries[0]).toEqual({ path: "d/00000", key: "exp/d/00000", etag: "etag-0", size: 10 });
    expect(entries.map((e: { path: string }) => e.path)).toEqual(
      Array.from({ length: 600 }, (_, i) => copy(i).path),
    );
    // Every shard result and task shard was read once.
    const workReads = store.reads.filter((k) => /^work\/.*\/(results|tasks)\//.test(k));
    expect(new Set(workReads).size).toBe(workReads.length);
    expect(workReads).toHaveLength(2 * shards);
  });
});
