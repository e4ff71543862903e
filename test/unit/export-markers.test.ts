import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ancestorDirectories,
  ancestorsOfFailedMarkers,
  compileDirectorySelector,
  computeMarkers,
  directoryDepth,
  encodeMarkerSummaryLine,
  InvalidPrefixRegexError,
  type MarkerSummaryEntry,
  markerKeysInOrder,
  mergeMarkerSummaries,
  parseMarkerSummaryLine,
  partitionMarkerLevels,
  ShardMarkerSummaryBuilder,
} from "../../lambdas/export/domain/markers";

interface MarkerCase {
  name: string;
  regexes: string[];
  changed: string[];
  failed?: string[];
  prefix?: string;
  expected: string[];
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
];

describe("success markers (table)", () => {
  it.each(cases)("$name", ({ regexes, changed, failed, prefix, expected }) => {
    const selector = compileDirectorySelector(regexes);
    const levels = computeMarkers(changed, failed ?? [], selector);
    expect(markerKeysInOrder(prefix ?? "exp", levels)).toEqual(expected);
  });

  it("has at least 12 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
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
});

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}

async function streamMarkers(
  regexes: string[],
  shards: { path: string; failed: boolean }[][],
  fanIn: number,
): Promise<string[][]> {
  const selector = compileDirectorySelector(regexes);
  // per-shard summaries, serialised as they would be in S3
  let runs: string[][] = shards.map((shard) => {
    const b = new ShardMarkerSummaryBuilder(selector);
    for (const t of shard) b.add(t.path, t.failed);
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
  const parts = new Map<number, string[][]>();
  const index = await partitionMarkerLevels(
    parse(runs[0] ?? []),
    {
      async write(depth, partIndex, dirs) {
        const list = parts.get(depth) ?? [];
        expect(partIndex).toBe(list.length);
        expect(dirs.length).toBeLessThanOrEqual(2);
        list.push(dirs);
        parts.set(depth, list);
      },
    },
    { maxDirsPerPart: 2 },
  );
  return index.levels.map((l) => parts.get(l.depth)!.flat());
}

describe("streaming markers", () => {
  it("equals the in-memory computation, whatever the sharding and merge fan-in", async () => {
    const segment = fc.constantFrom("a", "b", "2021", "é", "x y", "😀");
    const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join("/"));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ path, failed: fc.boolean() }), {
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 2, max: 4 }),
        fc.constantFrom<string[]>(["/$"], [".*"], ["^a/"], ["2021/", "é"], []),
        async (ops, shardSize, fanIn, regexes) => {
          const shards: { path: string; failed: boolean }[][] = [];
          for (let i = 0; i < ops.length; i += shardSize) shards.push(ops.slice(i, i + shardSize));
          const expected = computeMarkers(
            ops.filter((o) => !o.failed).map((o) => o.path),
            ops.filter((o) => o.failed).map((o) => o.path),
            compileDirectorySelector(regexes),
          );
          expect(await streamMarkers(regexes, shards, fanIn)).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("merges duplicates with failure winning", async () => {
    const a: MarkerSummaryEntry[] = [
      { dir: "a/", failed: false },
      { dir: "b/", failed: false },
    ];
    const b: MarkerSummaryEntry[] = [
      { dir: "a/", failed: true },
      { dir: "c/", failed: false },
    ];
    const out: MarkerSummaryEntry[] = [];
    for await (const e of mergeMarkerSummaries([fromArray(a), fromArray(b)])) out.push(e);
    expect(out).toEqual([
      { dir: "a/", failed: true },
      { dir: "b/", failed: false },
      { dir: "c/", failed: false },
    ]);
  });

  it("rejects an unsorted summary", async () => {
    const bad = fromArray([
      { dir: "b/", failed: false },
      { dir: "a/", failed: false },
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
