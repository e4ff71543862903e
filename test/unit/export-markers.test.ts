import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isExportedPath } from "../../lambdas/export/domain/exported-paths";
import {
  ancestorDirectories,
  ancestorsOfFailedMarkers,
  compileDirectorySelector,
  computeMarkers,
  directoryDepth,
  encodeMarkerSummaryLine,
  hasExportedObjectUnder,
  InvalidPrefixRegexError,
  type MarkerLevelPart,
  type MarkerOperation,
  type MarkerSummaryEntry,
  markerKey,
  mergeMarkerSummaries,
  parseMarkerSummaryLine,
  partitionMarkerLevels,
  ShardMarkerSummaryBuilder,
} from "../../lambdas/export/domain/markers";
import type { ListObjectsOptions, ObjectStats, Page } from "../../lambdas/shared/lakefs/types";

interface MarkerCase {
  name: string;
  regexes: string[];
  /** Copied objects. */
  changed: string[];
  /** Deleted paths. */
  deleted?: string[];
  /** Copies that failed. */
  failed?: string[];
  /** Other objects of the commit (untouched by the export). */
  remaining?: string[];
  prefix?: string;
  /** Markers written, deepest level first. */
  expected: string[];
  /** Markers deleted (their directory no longer holds objects). */
  removed?: string[];
}

const m = (dir: string, prefix = "exp") =>
  `${prefix === "" ? "" : `${prefix}/`}${dir}_lakefs_success`;

const cases: MarkerCase[] = [
  {
    name: "no regexes: no markers",
    regexes: [],
    changed: ["a/b/c.csv", "d.csv"],
    expected: [],
  },
  {
    name: "the documented date regex selects the date directory (and, unanchored, below it)",
    regexes: [".*/2021-\\d\\d-\\d\\d/"],
    changed: [
      "logs/2021-03-04/a.csv",
      "logs/2021-03-04/b.csv",
      "logs/2021-03-05/x/y.csv",
      "logs/readme",
    ],
    expected: [m("logs/2021-03-05/x/"), m("logs/2021-03-04/"), m("logs/2021-03-05/")],
  },
  {
    name: "nesting: every matching ancestor, deepest first",
    regexes: ["2021"],
    changed: ["a/2021/b/c/f.parquet"],
    expected: [m("a/2021/b/c/"), m("a/2021/b/"), m("a/2021/")],
  },
  {
    name: "anchors ^ and $ select exactly one directory",
    regexes: ["^logs/$"],
    changed: ["logs/x/f", "logs/g", "other/logs/h"],
    expected: [m("logs/")],
  },
  {
    name: "files at several depths; the root is not a directory match for /$",
    regexes: ["/$"],
    changed: ["top.csv", "a/one.csv", "a/b/two.csv", "a/b/c/three.csv"],
    expected: [m("a/b/c/"), m("a/b/"), m("a/")],
  },
  {
    name: "a regex matching the empty string selects the export root too",
    regexes: [".*"],
    changed: ["a/b/f", "g"],
    expected: [m("a/b/"), m("a/"), m("")],
  },
  {
    name: "^$ selects only the root",
    regexes: ["^$"],
    changed: ["a/b/f", "g"],
    expected: [m("")],
  },
  {
    name: "a failed copy withholds its directory and every selected ancestor, not siblings",
    regexes: ["/$"],
    changed: ["a/b/c.csv", "a/d/e.csv", "x/y.csv"],
    failed: ["a/b/f.csv"],
    expected: [m("a/d/"), m("x/")],
  },
  {
    name: "multiple regexes: any match selects",
    regexes: ["^x/", "y/$"],
    changed: ["x/1/f", "z/y/f", "q/f"],
    expected: [m("x/1/"), m("z/y/"), m("x/")],
  },
  {
    name: "unicode directories and classes",
    regexes: ["été/$", "^\\p{Greek}+/$"],
    changed: ["données/été/f.txt", "données/hiver/f.txt", "αβγ/f", "abc/f"],
    expected: [m("données/été/"), m("αβγ/")],
  },
  {
    name: "a regex matching a parent but not its child",
    regexes: ["^data/[^/]+/$"],
    changed: ["data/2021/x/f.csv", "data/2022/g.csv", "data/h.csv"],
    expected: [m("data/2021/"), m("data/2022/")],
  },
  {
    name: "a failed root-level file withholds the root marker only",
    regexes: [".*"],
    changed: ["a/f"],
    failed: ["g"],
    expected: [m("a/")],
  },
  {
    name: "export at the bucket root: keys have no prefix",
    regexes: ["^p/$"],
    changed: ["p/f"],
    prefix: "",
    expected: [m("p/", "")],
  },
  {
    name: "a regex matching only an intermediate directory",
    regexes: ["b/$"],
    changed: ["a/b/c/f", "b/g"],
    expected: [m("a/b/"), m("b/")],
  },
  {
    name: "a directory object (trailing slash) is inside its own directory",
    regexes: ["/$"],
    changed: ["a/b/"],
    expected: [m("a/b/"), m("a/")],
  },
  {
    name: "a deep failure withholds the root and all ancestors under .*",
    regexes: [".*"],
    changed: ["a/b/c/ok", "z/ok"],
    failed: ["a/b/c/bad"],
    expected: [m("z/")],
  },
  {
    name: "a commit that empties a directory removes its marker",
    regexes: ["^logs/[^/]+/$"],
    changed: ["logs/2022/c.csv"],
    deleted: ["logs/2021/a.csv", "logs/2021/b.csv"],
    expected: [m("logs/2022/")],
    removed: [m("logs/2021/")],
  },
  {
    name: "deletes in a directory that still holds objects keep its marker",
    regexes: ["^logs/[^/]+/$"],
    changed: [],
    deleted: ["logs/2021/a.csv"],
    remaining: ["logs/2021/b.csv"],
    expected: [m("logs/2021/")],
  },
  {
    name: "emptied nested directories lose their markers, the parent with objects left keeps its",
    regexes: ["^t/"],
    changed: [],
    deleted: ["t/x/y/1", "t/x/2"],
    remaining: ["t/3"],
    expected: [m("t/")],
    removed: [m("t/x/y/"), m("t/x/")],
  },
  {
    name: "_lakefs_actions/ is not exported: no marker there, even under .*",
    regexes: [".*"],
    changed: ["_lakefs_actions/lakeport.yaml", "a/f"],
    expected: [m("a/"), m("")],
  },
  {
    name: "the root loses its marker when only _lakefs_actions/ is left",
    regexes: ["^$"],
    changed: [],
    deleted: ["f"],
    remaining: ["_lakefs_actions/lakeport.yaml"],
    expected: [],
    removed: [m("")],
  },
  {
    name: "a failed delete leaves its directory's marker as it is",
    regexes: ["/$"],
    changed: ["b/ok"],
    deleted: [],
    failed: ["a/gone"],
    expected: [m("b/")],
  },
];

/** The commit after the export: what `hasExportedObjectUnder` is asked about. */
function commitHas(c: MarkerCase) {
  const objects = [...c.changed, ...(c.remaining ?? [])];
  return (dir: string) => objects.some((p) => isExportedPath(p) && p.startsWith(dir));
}

/** Marker keys written and deleted, deepest level first (each level sorted). */
function markerOutcome(c: MarkerCase, levels: { write: string[][]; check: string[][] }) {
  const has = commitHas(c);
  const depthOf = (l: string[]) => directoryDepth(l[0]!);
  const byDepth = new Map<number, { write: string[]; remove: string[] }>();
  const at = (d: number) => {
    const e = byDepth.get(d) ?? { write: [], remove: [] };
    byDepth.set(d, e);
    return e;
  };
  for (const l of levels.write) at(depthOf(l)).write.push(...l);
  for (const l of levels.check) {
    for (const dir of l) (has(dir) ? at(depthOf(l)).write : at(depthOf(l)).remove).push(dir);
  }
  const ordered = [...byDepth.entries()].sort((a, b) => b[0] - a[0]).map(([, e]) => e);
  const prefix = c.prefix ?? "exp";
  return {
    write: ordered.flatMap((e) => e.write.sort().map((d) => markerKey(prefix, d))),
    remove: ordered.flatMap((e) => e.remove.sort().map((d) => markerKey(prefix, d))),
  };
}

const operationsOf = (c: MarkerCase): MarkerOperation[] => [
  ...c.changed.map((path) => ({ path, failed: false, present: true })),
  ...(c.deleted ?? []).map((path) => ({ path, failed: false, present: false })),
  ...(c.failed ?? []).map((path) => ({ path, failed: true, present: true })),
];

describe("success markers (table)", () => {
  it.each(cases)("$name", (c) => {
    const selector = compileDirectorySelector(c.regexes);
    const out = markerOutcome(c, computeMarkers(operationsOf(c), selector));
    expect(out.write).toEqual(c.expected);
    expect(out.remove).toEqual(c.removed ?? []);
  });

  it("has at least 18 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(18);
  });
});

describe("does a directory still hold exported objects", () => {
  /** lakeFS's listing of one commit, counting calls. */
  function lakefsOf(paths: string[]) {
    const sorted = [...paths].sort();
    const calls: ListObjectsOptions[] = [];
    return {
      calls,
      async listObjectsPage(_r: string, _ref: string, o: ListObjectsOptions = {}) {
        calls.push(o);
        const results = sorted
          .filter((p) => (!o.prefix || p.startsWith(o.prefix)) && (!o.after || p > o.after))
          .slice(0, o.amount ?? 100)
          .map((path) => ({ path, path_type: "object" }) as ObjectStats);
        return {
          results,
          pagination: {
            has_more: false,
            next_offset: "",
            results: results.length,
            max_per_page: 1000,
          },
        } as Page<ObjectStats>;
      },
    };
  }

  it("asks for one object under the directory", async () => {
    const lakefs = lakefsOf(["a/b/c", "d"]);
    expect(await hasExportedObjectUnder(lakefs, "r", "c1", "a/")).toBe(true);
    expect(await hasExportedObjectUnder(lakefs, "r", "c1", "a/x/")).toBe(false);
    expect(lakefs.calls).toEqual([
      { prefix: "a/", amount: 1 },
      { prefix: "a/x/", amount: 1 },
    ]);
  });

  it("at the root, skips _lakefs_actions/ with a second listing", async () => {
    expect(await hasExportedObjectUnder(lakefsOf(["_lakefs_actions/x.yaml"]), "r", "c", "")).toBe(
      false,
    );
    const two = lakefsOf(["_lakefs_actions/x.yaml", "z"]);
    expect(await hasExportedObjectUnder(two, "r", "c", "")).toBe(true);
    expect(two.calls).toHaveLength(2);
    expect(await hasExportedObjectUnder(lakefsOf(["a"]), "r", "c", "")).toBe(true);
  });
});

describe("directories", () => {
  it("lists every ancestor with a trailing slash, shallowest first", () => {
    expect(ancestorDirectories("a/b/c.csv")).toEqual(["a/", "a/b/"]);
    expect(ancestorDirectories("file.csv")).toEqual([]);
    expect(ancestorDirectories("a//b")).toEqual(["a/", "a//"]);
  });

  it("counts depth by slashes", () => {
    expect(directoryDepth("")).toBe(0);
    expect(directoryDepth("a/")).toBe(1);
    expect(directoryDepth("a/b/")).toBe(2);
  });
});

describe("regex errors", () => {
  it("names the bad regex and its index", () => {
    const fail = () => compileDirectorySelector(["ok/", "a(", "b"]);
    expect(fail).toThrow(InvalidPrefixRegexError);
    expect(fail).toThrow(/lastKeysInPrefixRegexp\[1\].*"a\("/);
  });

  it("rejects Perl-only syntax (RE2 has no lookahead)", () => {
    expect(() => compileDirectorySelector(["(?=x)"])).toThrow(InvalidPrefixRegexError);
  });

  it("rejects a lone surrogate (no UTF-8 form, as Go's regexp refuses), keeps a pair", () => {
    expect(() => compileDirectorySelector(["x/\udc00"])).toThrow(/\[0\].*well-formed Unicode/);
    expect(() => compileDirectorySelector(["\ud83d/"])).toThrow(InvalidPrefixRegexError);
    expect(compileDirectorySelector(["^\ud83d\ude00/"]).isSelected("\u{1F600}/")).toBe(true);
  });
});

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}

async function streamMarkers(
  regexes: string[],
  shards: MarkerOperation[][],
  fanIn: number,
): Promise<{ write: string[][]; check: string[][] }> {
  const selector = compileDirectorySelector(regexes);
  // per-shard summaries, serialised as they would be in S3
  let runs: string[][] = shards.map((shard) => {
    const b = new ShardMarkerSummaryBuilder(selector);
    for (const t of shard) b.add(t.path, t.failed, t.present);
    return b.entries().map(encodeMarkerSummaryLine);
  });
  // tree merge with a bounded fan-in
  const parse = (lines: string[]) => fromArray(lines.map(parseMarkerSummaryLine));
  while (runs.length > 1) {
    const next: string[][] = [];
    for (let i = 0; i < runs.length; i += fanIn) {
      const out: string[] = [];
      for await (const e of mergeMarkerSummaries(runs.slice(i, i + fanIn).map(parse))) {
        out.push(encodeMarkerSummaryLine(e));
      }
      next.push(out);
    }
    runs = next;
  }
  const parts = new Map<number, MarkerLevelPart[]>();
  const index = await partitionMarkerLevels(
    parse(runs[0] ?? []),
    {
      async write(depth, partIndex, part) {
        const list = parts.get(depth) ?? [];
        expect(partIndex).toBe(list.length);
        expect(part.dirs.length + part.check.length).toBeLessThanOrEqual(2);
        list.push({ dirs: [...part.dirs], check: [...part.check] });
        parts.set(depth, list);
      },
    },
    { maxDirsPerPart: 2 },
  );
  const levels = index.levels.map((l) => parts.get(l.depth)!);
  return {
    write: levels.map((ps) => ps.flatMap((p) => p.dirs)).filter((l) => l.length > 0),
    check: levels.map((ps) => ps.flatMap((p) => p.check)).filter((l) => l.length > 0),
  };
}

describe("streaming markers", () => {
  it("equals the in-memory computation, whatever the sharding and merge fan-in", async () => {
    const segment = fc.constantFrom("a", "b", "2021", "é", "x y", "😀");
    const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join("/"));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ path, failed: fc.boolean(), present: fc.boolean() }), {
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 2, max: 4 }),
        fc.constantFrom<string[]>(["/$"], [".*"], ["^a/"], ["2021/", "é"], []),
        async (ops, shardSize, fanIn, regexes) => {
          const shards: MarkerOperation[][] = [];
          for (let i = 0; i < ops.length; i += shardSize) shards.push(ops.slice(i, i + shardSize));
          const expected = computeMarkers(ops, compileDirectorySelector(regexes));
          expect(await streamMarkers(regexes, shards, fanIn)).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("merges duplicates with failure and presence winning", async () => {
    const a: MarkerSummaryEntry[] = [
      { dir: "a/", failed: false, present: false },
      { dir: "b/", failed: false, present: false },
    ];
    const b: MarkerSummaryEntry[] = [
      { dir: "a/", failed: true, present: false },
      { dir: "b/", failed: false, present: true },
      { dir: "c/", failed: false, present: false },
    ];
    const out: MarkerSummaryEntry[] = [];
    for await (const e of mergeMarkerSummaries([fromArray(a), fromArray(b)])) out.push(e);
    expect(out).toEqual([
      { dir: "a/", failed: true, present: false },
      { dir: "b/", failed: false, present: true },
      { dir: "c/", failed: false, present: false },
    ]);
  });

  it("reads summary lines written before presence was recorded as copies", () => {
    expect(parseMarkerSummaryLine('{"dir":"a/","failed":false}')).toEqual({
      dir: "a/",
      failed: false,
      present: true,
    });
  });

  it("rejects an unsorted summary", async () => {
    const bad = fromArray([
      { dir: "b/", failed: false, present: true },
      { dir: "a/", failed: false, present: true },
    ]);
    const drain = async () => {
      for await (const _ of mergeMarkerSummaries([bad])) {
        // drain
      }
    };
    await expect(drain()).rejects.toThrow(/out of order/);
  });

  it("rejects a malformed summary line naming the fields", () => {
    expect(() => parseMarkerSummaryLine('{"dir":1}')).toThrow(/dir \(string\)/);
  });

  it("blocks the ancestors of a marker that could not be written", () => {
    expect([...ancestorsOfFailedMarkers(["a/b/c/"])].sort()).toEqual(["", "a/", "a/b/"]);
  });
});
