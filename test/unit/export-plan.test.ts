import { describe, expect, it } from "vitest";
import { compareKeys } from "../../lambdas/export/domain/keys";
import {
  type ExportedObject,
  type ExportPathListing,
  PlanError,
  type PlanRequest,
  type PlanResult,
  planExport,
  type ShardSink,
  type TouchedPaths,
} from "../../lambdas/export/domain/plan";
import { type ExportTask, parseTaskShard } from "../../lambdas/export/domain/tasks";
import type {
  Diff,
  DiffOptions,
  ListObjectsOptions,
  ObjectStats,
  Page,
} from "../../lambdas/shared/lakefs/types";

type Change = "added" | "changed" | "removed";

/**
 * A fake of the lakeFS calls the planner makes, over a sorted branch (`from`) and a list of
 * changes (`to` = from + changes). Every page fetched or stat is one call, as over HTTP.
 */
class FakeLakeFs {
  readonly calls = { diff: 0, list: 0, stat: 0 };
  /** Listing pages of `from` (whether it exports anything), apart from `calls`. */
  fromListings = 0;
  readonly toPaths: string[];
  private readonly fromPaths: string[];
  private readonly changes: Map<string, Change>;
  private readonly diffPaths: string[];

  constructor(
    fromPaths: string[],
    changes: [string, Change][],
    readonly opts: { collapsePrefixes?: string[]; relative?: boolean; missing?: string[] } = {},
  ) {
    this.changes = new Map(changes);
    this.diffPaths = [...this.changes.keys()].sort(compareKeys);
    const added = changes.filter(([, c]) => c === "added").map(([p]) => p);
    const removed = new Set(changes.filter(([, c]) => c === "removed").map(([p]) => p));
    this.toPaths = [...fromPaths.filter((p) => !removed.has(p)), ...added].sort(compareKeys);
    this.fromPaths = [...fromPaths].sort(compareKeys);
  }

  get total() {
    return this.calls.diff + this.calls.list + this.calls.stat;
  }

  stats(path: string): ObjectStats {
    const v = this.changes.get(path) === "changed" ? "v2" : "v1";
    return {
      path,
      path_type: "object",
      physical_address: this.opts.relative
        ? `data/${v}/${path}`
        : `s3://ns-bucket/data/${v}/${path}`,
      checksum: `etag-${v}-${path}`,
      size_bytes: path.length,
      mtime: 1,
      content_type: path.endsWith(".csv") ? "text/csv" : "application/octet-stream",
      metadata: path.endsWith(".csv") ? { owner: "team-a" } : {},
    };
  }

  private firstAfter(sorted: string[], after?: string): number {
    if (!after) return 0;
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareKeys(sorted[mid]!, after) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private page<T>(items: T[], more: boolean, last: string): Page<T> {
    return {
      results: items,
      pagination: {
        has_more: more,
        next_offset: more ? last : "",
        results: items.length,
        max_per_page: 1000,
      },
    };
  }

  async listObjectsPage(
    _r: string,
    ref: string,
    o: ListObjectsOptions = {},
  ): Promise<Page<ObjectStats>> {
    expect(["from", "to"]).toContain(ref);
    expect(o.delimiter).toBeUndefined();
    if (ref === "from") this.fromListings++;
    else this.calls.list++;
    const paths = ref === "from" ? this.fromPaths : this.toPaths;
    const amount = Math.min(o.amount ?? 100, 1000);
    const out: ObjectStats[] = [];
    let i = this.firstAfter(paths, o.after);
    for (; i < paths.length && out.length < amount; i++) {
      const p = paths[i]!;
      if (o.prefix && !p.startsWith(o.prefix)) {
        if (compareKeys(p, o.prefix) > 0) break;
        continue;
      }
      out.push(this.stats(p));
    }
    const more = i < paths.length && (!o.prefix || paths[i]!.startsWith(o.prefix));
    return this.page(out, more, out.at(-1)?.path ?? "");
  }

  async *listObjects(r: string, ref: string, o: ListObjectsOptions = {}) {
    let after = o.after;
    for (;;) {
      const page = await this.listObjectsPage(r, ref, { ...o, after });
      yield page;
      if (!page.pagination.has_more) return;
      after = page.pagination.next_offset;
    }
  }

  async statObject(_r: string, ref: string, path: string): Promise<ObjectStats> {
    expect(ref).toBe("to");
    this.calls.stat++;
    if (this.opts.missing?.includes(path) || !this.toPaths.includes(path)) {
      throw Object.assign(new Error(`not found: ${path}`), { name: "LakeFsNotFoundError" });
    }
    return this.stats(path);
  }

  private diffEntry(path: string): Diff {
    const type = this.changes.get(path)!;
    return { type, path, path_type: "object", size_bytes: path.length };
  }

  async *diffRefs(_r: string, left: string, right: string, o: DiffOptions = {}) {
    expect([left, right]).toEqual(["from", "to"]);
    expect(o.type).toBe("two_dot");
    expect(o.delimiter).toBeUndefined();
    let after = o.after;
    for (;;) {
      this.calls.diff++;
      const amount = Math.min(o.amount ?? 100, 1000);
      const out: Diff[] = [];
      let i = this.firstAfter(this.diffPaths, after);
      for (; i < this.diffPaths.length && out.length < amount; i++) {
        const p = this.diffPaths[i]!;
        if (o.prefix) {
          if (!p.startsWith(o.prefix)) continue;
          out.push(this.diffEntry(p));
          continue;
        }
        const collapsed = this.opts.collapsePrefixes?.find((c) => p.startsWith(c));
        if (collapsed) {
          out.push({ type: "prefix_changed", path: collapsed, path_type: "common_prefix" });
          while (i + 1 < this.diffPaths.length && this.diffPaths[i + 1]!.startsWith(collapsed)) i++;
          continue;
        }
        out.push(this.diffEntry(p));
      }
      const more = i < this.diffPaths.length;
      const last = out.at(-1)?.path ?? "";
      yield this.page(out, more, last);
      if (!more) return;
      after = last;
    }
  }
}

class MemorySink implements ShardSink {
  readonly shards: string[][] = [];
  async write(index: number, lines: string[]) {
    expect(index).toBe(this.shards.length);
    this.shards.push([...lines]);
  }
  tasks(): ExportTask[] {
    return this.shards.flatMap((lines) => parseTaskShard(lines.join("\n")));
  }
}

const pad = (i: number) => String(i).padStart(7, "0");
const branch = (n: number, dir = "data") =>
  Array.from({ length: n }, (_, i) => `${dir}/part-${pad(i)}.csv`);

/** The export path's listing (relative paths), sorted, counting reads. */
class ListingOf implements ExportPathListing {
  reads = 0;
  constructor(readonly items: ExportedObject[] = []) {
    this.items = [...items].sort((a, b) => compareKeys(a.path, b.path));
  }
  async *objects(after: string | undefined) {
    this.reads++;
    for (const o of this.items) if (after === undefined || compareKeys(o.path, after) > 0) yield o;
  }
}

class TouchedOf implements TouchedPaths {
  constructor(readonly items: string[]) {}
  async *paths(after: string | undefined) {
    for (const p of [...this.items].sort(compareKeys)) {
      if (after === undefined || compareKeys(p, after) > 0) yield p;
    }
  }
}

const req = (fromCommit: string | null, more: Partial<PlanRequest> = {}): PlanRequest => ({
  repository: "repo",
  fromCommit,
  commitId: "to",
  exportPrefix: "exp/main",
  ...(fromCommit === null ? { exported: new ListingOf() } : {}),
  ...more,
});

describe("planExport: incremental", () => {
  it("10 changes of a 1 000 000-object branch: fewer than 20 lakeFS calls", async () => {
    const paths = branch(1_000_000);
    const changes: [string, Change][] = [
      ["data/part-0000003.csv", "changed"],
      ["data/part-0500000.csv", "changed"],
      ["data/part-0999999.csv", "removed"],
      ["data/part-0000100.csv", "removed"],
      ["data/new-a.csv", "added"],
      ["data/zz/new-b.bin", "added"],
      ["_lakefs_actions/export.yaml", "added"],
      ["top.txt", "added"],
      ["data/part-0777777.csv", "changed"],
      ["data/part-0123456.csv", "changed"],
    ];
    const lakefs = new FakeLakeFs(paths, changes);
    const sink = new MemorySink();
    const result = await planExport(lakefs, sink, req("from"));
    expect(lakefs.total).toBeLessThan(20);
    expect(lakefs.calls).toEqual({ diff: 1, list: 0, stat: 7 });
    expect(result).toMatchObject({ done: true, counts: { copies: 7, deletes: 2, shards: 1 } });
    const tasks = sink.tasks();
    // _lakefs_actions/ is lakeFS configuration: never exported
    expect(tasks.map((t) => t.path)).toEqual(
      changes
        .map(([p]) => p)
        .filter((p) => !p.startsWith("_lakefs_actions/"))
        .sort(compareKeys),
    );
    expect(tasks.find((t) => t.path === "data/part-0000003.csv")).toEqual({
      op: "copy",
      path: "data/part-0000003.csv",
      sourceAddress: "s3://ns-bucket/data/v2/data/part-0000003.csv",
      destKey: "exp/main/data/part-0000003.csv",
      size: 21,
      contentType: "text/csv",
      metadata: { owner: "team-a" },
      etag: "etag-v2-data/part-0000003.csv",
    });
    expect(tasks.find((t) => t.path === "data/part-0999999.csv")).toEqual({
      op: "delete",
      path: "data/part-0999999.csv",
      destKey: "exp/main/data/part-0999999.csv",
    });
    // no metadata key when lakeFS has none
    expect(tasks.find((t) => t.path === "data/zz/new-b.bin")).not.toHaveProperty("metadata");
  });

  it("a dense change (2 000 consecutive objects) resolves by listing windows, not 2 000 stats", async () => {
    const paths = branch(10_000);
    const changes = paths.slice(3000, 5000).map((p): [string, Change] => [p, "changed"]);
    const lakefs = new FakeLakeFs(paths, changes);
    const sink = new MemorySink();
    const result = await planExport(lakefs, sink, req("from"), {
      limits: { maxTasksPerShard: 700 },
    });
    expect(result.counts).toEqual({ copies: 2000, deletes: 0, copyBytes: 2000 * 21, shards: 3 });
    expect(lakefs.calls.stat).toBe(0);
    expect(lakefs.calls.diff).toBe(2);
    // one window per diff page of 1 000 entries
    expect(lakefs.calls.list).toBe(2);
    expect(sink.shards.map((s) => s.length)).toEqual([700, 700, 600]);
    expect(sink.tasks().every((t) => t.op === "copy" && t.sourceAddress.includes("/v2/"))).toBe(
      true,
    );
  });

  it("reads the next batch's diff while the last batch's stats are listed, and leaves no read running when stopped", async () => {
    // Each lakeFS call takes a few ms, counted while in flight.
    class SlowLakeFs extends FakeLakeFs {
      inFlight = 0;
      maxInFlight = 0;
      private async slow<T>(work: () => Promise<T>): Promise<T> {
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        try {
          await new Promise((r) => setTimeout(r, 3));
          return await work();
        } finally {
          this.inFlight--;
        }
      }
      override listObjectsPage(r: string, ref: string, o: ListObjectsOptions = {}) {
        return this.slow(() => super.listObjectsPage(r, ref, o));
      }
      override async *diffRefs(r: string, left: string, right: string, o: DiffOptions = {}) {
        const it = super.diffRefs(r, left, right, o);
        for (;;) {
          const page = await this.slow(() => it.next());
          if (page.done) return;
          yield page.value;
        }
      }
    }
    const paths = branch(10_000);
    const changes = paths.slice(0, 5000).map((p): [string, Change] => [p, "changed"]);
    const lakefs = new SlowLakeFs(paths, changes);
    const sink = new MemorySink();
    const result = await planExport(lakefs, sink, req("from"));
    expect(result.counts.copies).toBe(5000);
    expect(lakefs.maxInFlight).toBe(2);
    expect(sink.tasks().map((t) => t.path)).toEqual(paths.slice(0, 5000));

    // Stopped after its first shard: returns only once no read is left running.
    const stopped = new SlowLakeFs(paths, changes);
    const partial = await planExport(stopped, new MemorySink(), req("from"), {
      shouldContinue: () => false,
      limits: { maxTasksPerShard: 1000 },
    });
    expect(partial.done).toBe(false);
    expect(stopped.inFlight).toBe(0);
  });

  it("sparse changes over a large branch fall back to stat after one sparse window", async () => {
    const paths = branch(300_000);
    const changes = paths
      .filter((_, i) => i % 1000 === 7)
      .map((p): [string, Change] => [p, "changed"]);
    const lakefs = new FakeLakeFs(paths, changes);
    const sink = new MemorySink();
    await planExport(lakefs, sink, req("from"));
    expect(changes.length).toBe(300);
    expect(lakefs.calls).toEqual({ diff: 1, list: 1, stat: 299 });
    expect(sink.tasks()).toHaveLength(300);
  });

  it("expands prefix entries in place (no delimiter) and keeps path order", async () => {
    const paths = [...branch(50, "a"), ...branch(50, "p"), ...branch(50, "z")];
    const changes: [string, Change][] = [
      ["a/part-0000001.csv", "changed"],
      ["p/part-0000002.csv", "changed"],
      ["p/part-0000009.csv", "removed"],
      ["p/q/new.csv", "added"],
      ["z/part-0000003.csv", "removed"],
    ];
    const lakefs = new FakeLakeFs(paths, changes, { collapsePrefixes: ["p/"] });
    const sink = new MemorySink();
    await planExport(lakefs, sink, req("from"));
    expect(sink.tasks().map((t) => `${t.op}:${t.path}`)).toEqual([
      "copy:a/part-0000001.csv",
      "copy:p/part-0000002.csv",
      "delete:p/part-0000009.csv",
      "copy:p/q/new.csv",
      "delete:z/part-0000003.csv",
    ]);
  });

  it("merge-joins in code point order (characters above U+FFFF)", async () => {
    const paths = ["k/\uFFFD", "k/😀", "k/a", ...branch(40, "k")].sort(compareKeys);
    const changes = paths.map((p): [string, Change] => [p, "changed"]);
    const lakefs = new FakeLakeFs(paths, changes);
    const sink = new MemorySink();
    await planExport(lakefs, sink, req("from"));
    expect(lakefs.calls.stat).toBe(0);
    expect(sink.tasks().map((t) => t.path)).toEqual(paths);
  });

  it("a path missing from `to` fails the plan", async () => {
    const lakefs = new FakeLakeFs(branch(10), [["data/part-0000002.csv", "changed"]], {
      missing: ["data/part-0000002.csv"],
    });
    await expect(planExport(lakefs, new MemorySink(), req("from"))).rejects.toThrow(/not found/);
  });

  it("brings every path failed exports touched back to `to`: copied when there, deleted when not", async () => {
    const paths = branch(1000);
    const changes: [string, Change][] = [
      ["data/part-0000010.csv", "changed"],
      ["data/part-0000020.csv", "removed"],
    ];
    const lakefs = new FakeLakeFs(paths, changes);
    const touched = new TouchedOf([
      "data/part-0000010.csv", // also in the diff: once
      "data/part-0000005.csv", // unchanged since `from`: copied again
      "data/gone-a.csv", // copied by the failed export, deleted from `to` since
      "_lakefs_actions/lakeport.yaml", // never exported
      "zz/gone-b.csv",
    ]);
    const sink = new MemorySink();
    const result = await planExport(lakefs, sink, req("from", { touched }));
    expect(sink.tasks().map((t) => `${t.op}:${t.path}`)).toEqual([
      "delete:data/gone-a.csv",
      "copy:data/part-0000005.csv",
      "copy:data/part-0000010.csv",
      "delete:data/part-0000020.csv",
      "delete:zz/gone-b.csv",
    ]);
    expect(result.counts).toMatchObject({ copies: 2, deletes: 3 });
    expect(sink.tasks().find((t) => t.path === "data/part-0000005.csv")).toMatchObject({
      sourceAddress: "s3://ns-bucket/data/v1/data/part-0000005.csv",
    });
  });

  it("costs what the failed exports touched, not the branch: 3 000 touched paths of a 1 000 000-object branch", async () => {
    const paths = branch(1_000_000);
    // A failed export copied 3 000 consecutive objects; 1 000 of them were deleted since.
    const touchedPaths = paths.slice(400_000, 403_000);
    const removed = new Set(touchedPaths.slice(1000, 2000));
    const lakefs = new FakeLakeFs(
      paths,
      [...removed].map((p): [string, Change] => [p, "removed"]),
    );
    const sink = new MemorySink();
    await planExport(lakefs, sink, req("from", { touched: new TouchedOf(touchedPaths) }));
    const tasks = sink.tasks();
    expect(tasks).toHaveLength(3000);
    expect(tasks.filter((t) => t.op === "delete").map((t) => t.path)).toEqual([...removed]);
    // Absent paths are told by the listing windows, not by 1 000 failing stats.
    expect(lakefs.total).toBeLessThan(20);
    expect(lakefs.calls.stat).toBe(0);
  });

  it("resumes with touched paths: nothing lost or repeated", async () => {
    const paths = branch(500);
    const changes = paths.filter((_, i) => i % 7 === 0).map((p): [string, Change] => [p, i2c(p)]);
    const touched = new TouchedOf([...paths.filter((_, i) => i % 5 === 0), "data/gone.csv"]);
    const whole = new MemorySink();
    await planExport(new FakeLakeFs(paths, changes), whole, req("from", { touched }), {
      limits: { maxTasksPerShard: 16 },
    });
    const sink = new MemorySink();
    let result: PlanResult | undefined;
    do {
      let shardsThisCall = 0;
      result = await planExport(
        new FakeLakeFs(paths, changes),
        sink,
        req("from", { touched, ...(result ? { resume: result.cursor } : {}) }),
        { limits: { maxTasksPerShard: 16 }, shouldContinue: () => ++shardsThisCall < 2 },
      );
    } while (!result.done);
    expect(sink.shards).toEqual(whole.shards);
  });
});

/** Alternating change types for a reproducible mix. */
function i2c(p: string): Change {
  const n = Number(/(\d+)\.csv$/.exec(p)?.[1] ?? 0);
  return n % 2 === 0 ? "changed" : "removed";
}

describe("planExport: incremental from a commit that exports nothing", () => {
  const actions = "_lakefs_actions/lakeport.yaml";
  const added = (paths: string[]) => paths.map((p): [string, Change] => [p, "added"]);

  it("lists `to` instead of diffing and resolving: one diff page, the same tasks", async () => {
    const paths = branch(2_500);
    const lakefs = new FakeLakeFs([actions], added([...paths, "_lakefs_actions/more.yaml"]));
    const sink = new MemorySink();
    // A failed export touched one path `to` has and one it does not.
    const touched = new TouchedOf(["data/part-0000005.csv", "data/gone.csv", actions]);
    const result = await planExport(lakefs, sink, req("from", { touched }));
    expect(lakefs.calls).toEqual({ diff: 1, list: 3, stat: 0 });
    expect(lakefs.fromListings).toBe(2);
    expect(result).toMatchObject({ done: true, counts: { copies: 2_500, deletes: 1 } });
    // Its copy tasks are the whole commit: the manifest can be written from them alone.
    expect(result.fromExportsNothing).toBe(true);
    const tasks = sink.tasks();
    expect(tasks.map((t) => `${t.op} ${t.path}`)).toEqual(
      ["delete data/gone.csv", ...paths.map((p) => `copy ${p}`)].sort((a, b) =>
        compareKeys(a.slice(a.indexOf(" ") + 1), b.slice(b.indexOf(" ") + 1)),
      ),
    );
    expect(tasks.find((t) => t.path === "data/part-0000007.csv")).toEqual({
      op: "copy",
      path: "data/part-0000007.csv",
      sourceAddress: "s3://ns-bucket/data/v1/data/part-0000007.csv",
      destKey: "exp/main/data/part-0000007.csv",
      size: 21,
      contentType: "text/csv",
      metadata: { owner: "team-a" },
      etag: "etag-v1-data/part-0000007.csv",
    });
  });

  it("an exported object in `from` (sorting before or after `_lakefs_actions/`) keeps the diff: its deletion is planned, nothing unchanged is copied", async () => {
    for (const kept of ["A/early.csv", "zz/late.csv"]) {
      const lakefs = new FakeLakeFs(
        [actions, kept, "zz/old.csv"],
        [...added(branch(1_500)), ["zz/old.csv", "removed"]],
      );
      const sink = new MemorySink();
      const result = await planExport(lakefs, sink, req("from"));
      expect(result.fromExportsNothing).toBeUndefined();
      const tasks = sink.tasks();
      expect(lakefs.calls.diff, kept).toBe(2);
      expect(tasks.filter((t) => t.op === "delete").map((t) => t.path)).toEqual(["zz/old.csv"]);
      expect(tasks.filter((t) => t.op === "copy")).toHaveLength(1_500);
      expect(tasks.some((t) => t.path === kept)).toBe(false);
    }
  });

  it("a few additions make no extra call: the diff's first page is not full", async () => {
    const lakefs = new FakeLakeFs([actions], added(branch(500)));
    const sink = new MemorySink();
    await planExport(lakefs, sink, req("from"));
    expect(lakefs.fromListings).toBe(0);
    expect(sink.tasks()).toHaveLength(500);
  });

  it("resumes from the cursor with nothing lost or repeated", async () => {
    const paths = branch(4_200);
    const touched = new TouchedOf(["data/part-0002000x.csv"]);
    const sink = new MemorySink();
    let resume: PlanResult["cursor"] | undefined;
    let last: PlanResult | undefined;
    for (let calls = 0; calls < 10; calls++) {
      const lakefs = new FakeLakeFs([actions], added(paths));
      let shards = 0;
      const r = await planExport(
        lakefs,
        sink,
        req("from", { touched, ...(resume ? { resume } : {}) }),
        {
          limits: { maxTasksPerShard: 1_000 },
          shouldContinue: () => ++shards < 2,
        },
      );
      last = r;
      if (r.done) break;
      resume = r.cursor;
    }
    const tasks = sink.tasks().map((t) => `${t.op} ${t.path}`);
    expect(resume).toBeDefined();
    expect(last?.fromExportsNothing).toBe(true);
    expect(tasks).toHaveLength(4_201);
    expect(new Set(tasks).size).toBe(4_201);
    expect(tasks).toContain("delete data/part-0002000x.csv");
  });
});

describe("planExport: full exports (the export path listed against `to`)", () => {
  const there = (path: string, etag: string, size = path.length): ExportedObject => ({
    path,
    etag: `"${etag}"`,
    size,
  });

  it("full-copy copies every object and deletes whatever else is in the export path", async () => {
    const paths = ["a/1.csv", "a/2.csv", "b/3.csv"];
    const exported = new ListingOf([
      there("a/1.csv", "etag-v1-a/1.csv"),
      there("a/_lakefs_success", "d41d8cd98f00b204e9800998ecf8427e", 0),
      there("_lakefs_actions/lakeport.yaml", "x"),
      there("old/stale.csv", "y"),
    ]);
    const lakefs = new FakeLakeFs(["_lakefs_actions/lakeport.yaml", ...paths], []);
    const sink = new MemorySink();
    const result = await planExport(lakefs, sink, req(null, { mode: "full-copy", exported }));
    expect(sink.tasks().map((t) => `${t.op}:${t.path}`)).toEqual([
      "delete:_lakefs_actions/lakeport.yaml",
      "copy:a/1.csv",
      "copy:a/2.csv",
      "delete:a/_lakefs_success",
      "copy:b/3.csv",
      "delete:old/stale.csv",
    ]);
    expect(result.counts).toMatchObject({ copies: 3, deletes: 3 });
  });

  it("full-compare keeps what is already exported (ETag and size), copies what differs", async () => {
    const lakefs = new FakeLakeFs(["a.csv", "b.csv", "c.csv", "d.csv"], []);
    const exported = new ListingOf([
      there("a.csv", "etag-v1-a.csv"), // same
      there("b.csv", "something-else"), // damaged from outside
      there("c.csv", "etag-v1-c.csv", 999), // same ETag, other size
      there("e.csv", "x"), // extra
    ]);
    const sink = new MemorySink();
    const result = await planExport(lakefs, sink, req("from", { mode: "full-compare", exported }));
    expect(sink.tasks().map((t) => `${t.op}:${t.path}`)).toEqual([
      "keep:a.csv",
      "copy:b.csv",
      "copy:c.csv",
      "copy:d.csv",
      "delete:e.csv",
    ]);
    expect(result.counts).toMatchObject({ copies: 3, deletes: 1, keeps: 1 });
    expect(lakefs.calls.diff).toBe(0);
  });

  it("resumes a full export from the cursor on both listings", async () => {
    const paths = branch(300);
    const exported = new ListingOf([
      ...paths.filter((_, i) => i % 3 === 0).map((p) => there(p, `etag-v1-${p}`)),
      ...branch(40, "stale").map((p) => there(p, "x")),
    ]);
    const whole = new MemorySink();
    await planExport(
      new FakeLakeFs(paths, []),
      whole,
      req(null, { mode: "full-compare", exported }),
      { limits: { maxTasksPerShard: 25 } },
    );
    const sink = new MemorySink();
    let result: PlanResult | undefined;
    do {
      let n = 0;
      result = await planExport(
        new FakeLakeFs(paths, []),
        sink,
        req(null, {
          mode: "full-compare",
          exported,
          ...(result ? { resume: result.cursor } : {}),
        }),
        { limits: { maxTasksPerShard: 25 }, shouldContinue: () => ++n < 3 },
      );
    } while (!result.done);
    expect(sink.shards).toEqual(whole.shards);
    expect(result.counts).toEqual({
      copies: 200,
      deletes: 40,
      keeps: 100,
      copyBytes: 200 * 21,
      shards: 14,
    });
  });

  it("a full export needs the listing of the export path", async () => {
    await expect(
      planExport(new FakeLakeFs(["a"], []), new MemorySink(), {
        repository: "repo",
        fromCommit: null,
        commitId: "to",
        exportPrefix: "exp",
      }),
    ).rejects.toThrow(PlanError);
  });
});

describe("planExport: first export", () => {
  it("copies every object of `to` in bounded shards", async () => {
    const paths = branch(2500);
    const lakefs = new FakeLakeFs(paths, []);
    const sink = new MemorySink();
    const result = await planExport(lakefs, sink, req(null));
    expect(result.counts).toMatchObject({ copies: 2500, deletes: 0, shards: 3 });
    expect(lakefs.calls).toEqual({ diff: 0, list: 3, stat: 0 });
    expect(sink.tasks().map((t) => t.path)).toEqual(paths);
  });

  it("bounds shards by bytes and by source bytes", async () => {
    const paths = branch(100);
    const bySize = new MemorySink();
    await planExport(new FakeLakeFs(paths, []), bySize, req(null), {
      limits: { maxShardBytes: 2000 },
    });
    for (const s of bySize.shards)
      expect(Buffer.byteLength(s.join("\n")) + 1).toBeLessThanOrEqual(2000);
    expect(bySize.tasks()).toHaveLength(100);
    const byCopy = new MemorySink();
    // each object is 21 bytes: 4 per shard
    await planExport(new FakeLakeFs(paths, []), byCopy, req(null), {
      limits: { maxCopyBytesPerShard: 90 },
    });
    expect(byCopy.shards.length).toBe(25);
  });

  it("resumes after a stop with nothing lost or repeated", async () => {
    const paths = branch(1000);
    const whole = new MemorySink();
    await planExport(new FakeLakeFs(paths, []), whole, req(null), {
      limits: { maxTasksPerShard: 64 },
    });

    const sink = new MemorySink();
    let result: PlanResult | undefined;
    let invocations = 0;
    do {
      let shardsThisCall = 0;
      result = await planExport(
        new FakeLakeFs(paths, []),
        sink,
        req(null, result ? { resume: result.cursor } : {}),
        { limits: { maxTasksPerShard: 64 }, shouldContinue: () => ++shardsThisCall < 3 },
      );
      invocations++;
    } while (!result.done);
    expect(invocations).toBe(6);
    expect(sink.shards).toEqual(whole.shards);
    expect(result.counts).toEqual({ copies: 1000, deletes: 0, copyBytes: 21000, shards: 16 });
  });

  it("resolves relative physical addresses in the storage namespace; rejects other schemes", async () => {
    const lakefs = new FakeLakeFs(["a.csv"], [], { relative: true });
    const sink = new MemorySink();
    await planExport(lakefs, sink, { ...req(null), storageNamespace: "s3://ns-bucket/repo1" });
    expect(sink.tasks()[0]).toMatchObject({
      sourceAddress: "s3://ns-bucket/repo1/data/v1/a.csv",
      destKey: "exp/main/a.csv",
    });
    await expect(
      planExport(new FakeLakeFs(["a.csv"], [], { relative: true }), new MemorySink(), req(null)),
    ).rejects.toThrow(PlanError);
    await expect(
      planExport(new FakeLakeFs(["a.csv"], [], { relative: true }), new MemorySink(), {
        ...req(null),
        storageNamespace: "gs://x/y",
      }),
    ).rejects.toThrow(/only s3:\/\//);
  });

  it("exports at the bucket root when the prefix is empty", async () => {
    const sink = new MemorySink();
    await planExport(new FakeLakeFs(["a/b.csv"], []), sink, { ...req(null), exportPrefix: "" });
    expect(sink.tasks()[0]?.destKey).toBe("a/b.csv");
  });
});
