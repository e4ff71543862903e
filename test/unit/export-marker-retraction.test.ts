// The plan retracts the success markers above what an export changes: after the shard naming
// the change is written, before the plan call returns (the copies of its shards start only
// then), never above a keep, one DeleteObjects' worth (1 000) at a time.
import { describe, expect, it } from "vitest";
import {
  MarkerRetractionTracker,
  type MarkerRetractor,
} from "../../lambdas/export/domain/marker-retraction";
import { compileDirectorySelector } from "../../lambdas/export/domain/markers";
import {
  type ExportedObject,
  type PlannerLakeFs,
  type PlanRequest,
  planExport,
} from "../../lambdas/export/domain/plan";
import type { ObjectStats } from "../../lambdas/shared/lakefs/types";

const everything = compileDirectorySelector([".*"]);

describe("MarkerRetractionTracker", () => {
  it("names each selected directory once, as its paths begin, root included when selected", () => {
    const t = new MarkerRetractionTracker(everything);
    const entered = ["a/1", "a/2", "a/b/1", "a/b/2", "a/c", "c/1", "top", "z/y/x/1"].map((p) =>
      t.enter(p, "copy"),
    );
    expect(entered).toEqual([
      ["", "a/"],
      [],
      ["a/b/"],
      [],
      [],
      ["c/"],
      [],
      ["z/", "z/y/", "z/y/x/"],
    ]);
  });

  it("follows the expressions, and never names anything for _lakefs_actions/", () => {
    const t = new MarkerRetractionTracker(compileDirectorySelector(["^logs/[0-9]+/$"]));
    expect(t.enter("_lakefs_actions/hook.yaml", "copy")).toEqual([]);
    expect(t.enter("logs/1/a", "copy")).toEqual(["logs/1/"]);
    expect(t.enter("logs/1/sub/b", "copy")).toEqual([]);
    expect(t.enter("logs/2/a", "copy")).toEqual(["logs/2/"]);
    expect(t.enter("other/x", "copy")).toEqual([]);
  });

  it("names nothing for the delete of a selected directory's own marker; a marker elsewhere is data", () => {
    const t = new MarkerRetractionTracker(compileDirectorySelector(["^m/$"]));
    expect(t.enter("m/_lakefs_success", "delete")).toEqual([]);
    expect(t.enter("m/data", "copy")).toEqual(["m/"]);
    const u = new MarkerRetractionTracker(compileDirectorySelector(["^m/$"]));
    expect(u.enter("m/n/_lakefs_success", "delete")).toEqual(["m/"]);
    // A committed object at the marker's key (refused as a collision) changes its directory.
    const v = new MarkerRetractionTracker(compileDirectorySelector(["^m/$"]));
    expect(v.enter("m/_lakefs_success", "copy")).toEqual(["m/"]);
    // So does a keep there (an empty committed object, equal to the marker); other keeps don't.
    const w = new MarkerRetractionTracker(compileDirectorySelector(["^m/$"]));
    expect(w.enter("m/data", "keep")).toEqual([]);
    expect(w.enter("m/_lakefs_success", "keep")).toEqual(["m/"]);
  });
});

/** A commit `to` as one listing; the plan of a full export reads nothing else from lakeFS. */
function lakeFsOf(
  paths: string[],
  etag: (p: string) => string,
  size: (p: string) => number = () => 1,
): PlannerLakeFs {
  const results: ObjectStats[] = [...paths].sort().map((path) => ({
    path,
    path_type: "object",
    physical_address: `s3://lake-ns/data/${path}`,
    checksum: etag(path),
    size_bytes: size(path),
    mtime: 1,
  }));
  return {
    listObjects: async function* () {
      yield { results, pagination: { has_more: false, next_offset: "", results: results.length } };
    },
  } as unknown as PlannerLakeFs;
}

const listing = (objects: ExportedObject[]) => ({
  objects: async function* (after: string | undefined) {
    for (const o of objects) if (after === undefined || o.path > after) yield o;
  },
});

/** Shard writes and retractions in the order they ended; `failShard` rejects that write. */
function recorder(opts: { failShard?: number } = {}) {
  const events: string[] = [];
  const shards = new Map<number, string[]>();
  const retracted: string[][] = [];
  const sink = {
    write: async (i: number, lines: string[]) => {
      await new Promise((r) => setTimeout(r, 5 - (i % 3))); // writes end out of order
      if (i === opts.failShard) throw new Error(`shard ${i} not written`);
      shards.set(
        i,
        lines.map((l) => (JSON.parse(l) as { path: string }).path),
      );
      events.push(`shard ${i}`);
    },
  };
  const markers: MarkerRetractor = {
    selector: everything,
    retract: async (dirs) => {
      retracted.push(dirs);
      events.push(`retract ${dirs.join(",")}`);
    },
  };
  return { events, shards, retracted, sink, markers };
}

const request = (mode: "full-copy" | "full-compare", exported: ExportedObject[]): PlanRequest => ({
  repository: "repo",
  fromCommit: null,
  commitId: "c2",
  mode,
  exportPrefix: "exp",
  exported: listing(exported),
});

describe("planExport with a MarkerRetractor", () => {
  // to: a/ and k/ unchanged, b/1 changed, c/x/1 new; the export path also holds d/ (gone from
  // `to`) and markers of the root, a/ and d/ (no marker of k/).
  const to = ["a/1", "a/2", "b/1", "c/x/1", "k/1"];
  const exported: ExportedObject[] = [
    { path: "_lakefs_success", etag: "", size: 0 },
    { path: "a/1", etag: "same", size: 1 },
    { path: "a/2", etag: "same", size: 1 },
    { path: "a/_lakefs_success", etag: "", size: 0 },
    { path: "b/1", etag: "old", size: 1 },
    { path: "d/_lakefs_success", etag: "", size: 0 },
    { path: "d/old", etag: "x", size: 1 },
    { path: "k/1", etag: "same", size: 1 },
  ];
  const etag = (p: string) => (p.startsWith("a/") || p.startsWith("k/") ? "same" : "new");

  it("retracts the markers above every copy and delete, none above a keep, before it returns", async () => {
    const r = recorder();
    const result = await planExport(lakeFsOf(to, etag), r.sink, request("full-compare", exported), {
      limits: { maxTasksPerShard: 2 },
      markers: r.markers,
    });
    expect(result.done).toBe(true);
    // a/ holds only keeps and its own marker (a delete the markers step settles: it writes the
    // marker again) and k/ only keeps: their markers stay. The root, b/, c/, c/x/ and d/ change.
    expect(r.retracted.flat().sort()).toEqual(["", "b/", "c/", "c/x/", "d/"]);
    // Each directory is retracted only after the shard that names a change under it is written.
    for (const [i, paths] of r.shards) {
      for (const dir of ["", "b/", "c/", "c/x/", "d/"]) {
        const unchanged = ["a/1", "a/2", "k/1", "_lakefs_success", "a/_lakefs_success"];
        const changed = paths.some((p) => p.startsWith(dir) && !unchanged.includes(p));
        if (!changed) continue;
        const retractedAt = r.events.findIndex(
          (e) => e.startsWith("retract") && e.split(" ")[1]!.split(",").includes(dir),
        );
        expect(retractedAt, `${dir} after shard ${i}`).toBeGreaterThan(
          r.events.indexOf(`shard ${i}`),
        );
      }
    }
  });

  it("retracts before a call that stops early returns (its shards' copies start then)", async () => {
    const r = recorder();
    const result = await planExport(lakeFsOf(to, etag), r.sink, request("full-copy", []), {
      limits: { maxTasksPerShard: 1 },
      markers: r.markers,
      shouldContinue: () => false,
    });
    expect(result.done).toBe(false);
    expect(r.shards.get(0)).toEqual(["a/1"]);
    expect(r.retracted.flat()).toEqual(["", "a/"]);
  });

  it("a shard that is not written retracts nothing of its own, and the plan fails", async () => {
    const r = recorder({ failShard: 1 });
    await expect(
      planExport(lakeFsOf(to, etag), r.sink, request("full-copy", []), {
        limits: { maxTasksPerShard: 2 },
        markers: r.markers,
      }),
    ).rejects.toThrow("shard 1 not written");
    // Shard 1 holds b/1 and c/x/1: their directories' markers are still there.
    expect(r.retracted.flat()).not.toContain("b/");
    expect(r.retracted.flat()).not.toContain("c/x/");
  });

  it("sends at most 1 000 markers a request, gathered across shards", async () => {
    const paths = Array.from({ length: 2500 }, (_, i) => `d${String(i).padStart(4, "0")}/x`);
    const r = recorder();
    await planExport(
      lakeFsOf(paths, () => "e"),
      r.sink,
      request("full-copy", []),
      {
        limits: { maxTasksPerShard: 300 },
        markers: { ...r.markers, selector: compileDirectorySelector(["^d"]) },
      },
    );
    expect(r.retracted.map((d) => d.length)).toEqual([1000, 1000, 500]);
    expect(new Set(r.retracted.flat()).size).toBe(2500);
  });

  it("a keep at a selected directory's marker key (a committed object equal to the marker) retracts it", async () => {
    // The commit holds an empty b/_lakefs_success; the export path holds b/'s marker, an empty
    // object too: same ETag and size, so full-compare keeps it. The batch refuses it
    // (MarkerCollision), b/ gets no marker in this export, and the earlier one must go.
    const empty = "d41d8cd98f00b204e9800998ecf8427e";
    const r = recorder();
    await planExport(
      lakeFsOf(
        ["a/1", "b/1", "b/_lakefs_success"],
        (p) => (p.endsWith("_lakefs_success") ? empty : "same"),
        (p) => (p.endsWith("_lakefs_success") ? 0 : 1),
      ),
      r.sink,
      request("full-compare", [
        { path: "_lakefs_success", etag: `"${empty}"`, size: 0 },
        { path: "a/1", etag: "same", size: 1 },
        { path: "a/_lakefs_success", etag: `"${empty}"`, size: 0 },
        { path: "b/1", etag: "same", size: 1 },
        { path: "b/_lakefs_success", etag: `"${empty}"`, size: 0 },
      ]),
      { markers: r.markers },
    );
    expect(r.shards.get(0)).toContain("b/_lakefs_success");
    // b/ and the root above it: a failed operation under them; a/ is unchanged.
    expect(r.retracted.flat().sort()).toEqual(["", "b/"]);
  });

  it("without a retractor, nothing is retracted and the plan is the same", async () => {
    const r = recorder();
    const a = await planExport(lakeFsOf(to, etag), r.sink, request("full-compare", exported), {
      limits: { maxTasksPerShard: 2 },
    });
    const b = await planExport(
      lakeFsOf(to, etag),
      recorder().sink,
      request("full-compare", exported),
      {
        limits: { maxTasksPerShard: 2 },
        markers: recorder().markers,
      },
    );
    expect(r.retracted).toEqual([]);
    expect(b.counts).toEqual(a.counts);
  });
});
