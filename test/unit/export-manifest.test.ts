import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ManifestEntry,
  type ManifestIndex,
  manifestEntriesFromListing,
  mergeManifest,
  parseManifestLine,
  supportsPartReuse,
  writeManifest,
  writeMergedManifest,
} from "../../lambdas/export/domain/manifest";
import type { ExportTask } from "../../lambdas/export/domain/tasks";
import type { ListObjectsOptions, ObjectStats, Page } from "../../lambdas/shared/lakefs/types";

async function* gen<T>(items: T[]) {
  for (const i of items) yield i;
}

const entry = (path: string, etag = `e-${path}`, size: number | null = 1): ManifestEntry => ({
  path,
  key: `exp/${path}`,
  etag,
  size,
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A sink keeping parts in memory, counting writes. */
function memorySink() {
  const parts = new Map<string, string>();
  const written: string[] = [];
  return {
    parts,
    written,
    sink: {
      writePart: async (key: string, body: string, keys: readonly string[]) => {
        // The keys handed beside a part are its lines' keys, in order.
        expect(keys).toEqual(
          body
            .split("\n")
            .filter(Boolean)
            .map((l) => parseManifestLine(l).key),
        );
        written.push(key);
        parts.set(key, body);
        return undefined;
      },
    },
    entriesOf: (index: ManifestIndex) =>
      index.parts.flatMap((p) =>
        (parts.get(p.key) ?? "").split("\n").filter(Boolean).map(parseManifestLine),
      ),
  };
}

const about = (commitId: string) => ({
  bucket: "out",
  repository: "r",
  branch: "b",
  commitId,
  partKey: (id: string) => `m/${commitId}/part-${id}.jsonl`,
});

describe("writeManifest", () => {
  it("streams bounded, content-named parts and returns the index", async () => {
    const m = memorySink();
    const entries = Array.from({ length: 25 }, (_, i) =>
      entry(`p/${String(i).padStart(3, "0")}`, "e", i),
    );
    const index = await writeManifest(gen(entries), m.sink, about("c"), {
      maxEntriesPerPart: 10,
    });
    expect(index).toMatchObject({
      version: 4,
      bucket: "out",
      commitId: "c",
      format: "jsonl",
      entries: 25,
      totalSize: (24 * 25) / 2,
    });
    expect(index.parts.map((p) => [p.entries, p.firstPath, p.lastPath, p.totalSize])).toEqual([
      [10, "p/000", "p/009", 45],
      [10, "p/010", "p/019", 145],
      [5, "p/020", "p/024", 110],
    ]);
    for (const p of index.parts) expect(p.key).toMatch(/^m\/c\/part-[0-9a-f]{32}\.jsonl$/);
    expect(new Set(index.parts.map((p) => p.key)).size).toBe(3);
    expect(m.entriesOf(index)).toEqual(entries);
    // Same content, same names: writing again is idempotent.
    const again = await writeManifest(gen(entries), memorySink().sink, about("c"), {
      maxEntriesPerPart: 10,
    });
    expect(again.parts.map((p) => p.key)).toEqual(index.parts.map((p) => p.key));
  });

  it("writes no part for an empty commit", async () => {
    const index = await writeManifest(
      gen([]),
      { writePart: async () => expect.unreachable() },
      about("c"),
    );
    expect(index).toMatchObject({ entries: 0, parts: [] });
  });
});

const copy = (path: string, etag = `new-${path}`): ExportTask => ({
  op: "copy",
  path,
  sourceAddress: `s3://x/${path}`,
  destKey: `exp/${path}`,
  etag,
  size: 1,
});
const del = (path: string): ExportTask => ({ op: "delete", path, destKey: `exp/${path}` });
const paths = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `p/${String(from + i).padStart(4, "0")}`);

describe("writeMergedManifest", () => {
  async function previousOf(m: ReturnType<typeof memorySink>, ps: string[], perPart = 10) {
    return writeManifest(gen(ps.map((p) => entry(p))), m.sink, about("c1"), {
      maxEntriesPerPart: perPart,
    });
  }

  it("reads and writes only the parts the changes fall in; keeps the others by reference", async () => {
    const m = memorySink();
    const prev = await previousOf(m, paths(100)); // 10 parts
    m.written.length = 0;
    const read: string[] = [];
    const tasks = [copy("p/0015"), copy("p/0015a"), del("p/0016"), copy("p/0087")];
    const index = await writeMergedManifest(
      prev,
      (part) => {
        read.push(part.key);
        return gen(m.entriesOf({ ...prev, parts: [part] }));
      },
      gen(tasks),
      m.sink,
      about("c2"),
      { maxEntriesPerPart: 10 },
    );
    expect(read).toEqual([prev.parts[1]!.key, prev.parts[8]!.key]);
    expect(m.written).toHaveLength(2);
    expect(m.written.every((k) => k.startsWith("m/c2/"))).toBe(true);
    const kept = index.parts.filter((p) => p.key.startsWith("m/c1/"));
    expect(kept.map((p) => p.key)).toEqual(
      prev.parts.filter((_, i) => i !== 1 && i !== 8).map((p) => p.key),
    );
    const expected = await collect(mergeManifest(gen(paths(100).map((p) => entry(p))), gen(tasks)));
    expect(m.entriesOf(index)).toEqual(expected);
    expect(index.entries).toBe(expected.length);
    expect(index.totalSize).toBe(expected.reduce((a, e) => a + (e.size ?? 0), 0));
  });

  it("sends paths before the first part to the first part and after the last to the last", async () => {
    const m = memorySink();
    const prev = await previousOf(m, paths(30, 10)); // p/0010..p/0039 in 3 parts
    const index = await writeMergedManifest(
      prev,
      (part) => gen(m.entriesOf({ ...prev, parts: [part] })),
      gen([copy("a/first"), copy("z/last")]),
      m.sink,
      about("c2"),
      { maxEntriesPerPart: 10 },
    );
    expect(index.parts.map((p) => p.key)).toContain(prev.parts[1]!.key);
    expect(m.entriesOf(index).map((e) => e.path)).toEqual(["a/first", ...paths(30, 10), "z/last"]);
  });

  it("drops a part whose every path was deleted; merges into an empty manifest", async () => {
    const m = memorySink();
    const prev = await previousOf(m, paths(20)); // 2 parts
    const index = await writeMergedManifest(
      prev,
      (part) => gen(m.entriesOf({ ...prev, parts: [part] })),
      gen(paths(10).map(del)),
      m.sink,
      about("c2"),
      { maxEntriesPerPart: 10 },
    );
    expect(index.parts.map((p) => p.key)).toEqual([prev.parts[1]!.key]);
    const empty = await writeManifest(gen([]), m.sink, about("c0"));
    const fresh = await writeMergedManifest(
      empty,
      () => expect.unreachable(),
      gen([copy("x")]),
      m.sink,
      about("c3"),
    );
    expect(m.entriesOf(fresh).map((e) => e.path)).toEqual(["x"]);
  });

  it("refuses a version 1 index (no path ranges)", async () => {
    const v1: ManifestIndex = {
      version: 1,
      repository: "r",
      branch: "b",
      commitId: "c",
      format: "jsonl",
      entries: 1,
      totalSize: 1,
      parts: [{ key: "k", entries: 1, bytes: 10 }],
    };
    expect(supportsPartReuse(v1, "out")).toBe(false);
    await expect(
      writeMergedManifest(v1, () => gen([]), gen([]), memorySink().sink, about("c")),
    ).rejects.toThrow(/before version 3/);
  });

  it("equals the full merge for any previous manifest and any changes (property)", async () => {
    const pathArb = fc.integer({ min: 0, max: 60 }).map((i) => `k/${String(i).padStart(3, "0")}`);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(pathArb, { maxLength: 45 }),
        fc.uniqueArray(fc.tuple(pathArb, fc.boolean()), {
          maxLength: 20,
          selector: ([p]) => p,
        }),
        fc.integer({ min: 1, max: 7 }),
        async (prevPaths, changes, perPart) => {
          prevPaths.sort();
          const tasks = [...changes]
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([p, isCopy]) => (isCopy ? copy(p) : del(p)));
          const m = memorySink();
          const prev = await previousOf(m, prevPaths, perPart);
          const index = await writeMergedManifest(
            prev,
            (part) => gen(m.entriesOf({ ...prev, parts: [part] })),
            gen(tasks),
            m.sink,
            about("c2"),
            { maxEntriesPerPart: perPart },
          );
          const expected = await collect(
            mergeManifest(gen(prevPaths.map((p) => entry(p))), gen(tasks)),
          );
          expect(m.entriesOf(index)).toEqual(expected);
          expect(index.entries).toBe(expected.length);
          for (const p of index.parts) {
            expect(p.entries).toBeGreaterThan(0);
            expect(p.entries).toBeLessThanOrEqual(perPart);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("manifest sources", () => {
  it("lists the commit", async () => {
    const lakefs = {
      async *listObjects(
        _r: string,
        ref: string,
        o?: ListObjectsOptions,
      ): AsyncIterable<Page<ObjectStats>> {
        expect([ref, o?.delimiter]).toEqual(["c1", undefined]);
        const obj = (path: string, size?: number): ObjectStats => ({
          path,
          path_type: "object",
          physical_address: `s3://x/${path}`,
          checksum: `sum-${path}`,
          mtime: 0,
          ...(size !== undefined ? { size_bytes: size } : {}),
        });
        yield {
          results: [obj("a", 3)],
          pagination: { has_more: true, next_offset: "a", results: 1, max_per_page: 1 },
        };
        yield {
          results: [obj("b/c")],
          pagination: { has_more: false, next_offset: "", results: 1, max_per_page: 1 },
        };
      },
    };
    expect(await collect(manifestEntriesFromListing(lakefs, "r", "c1", "exp"))).toEqual([
      { path: "a", key: "exp/a", etag: "sum-a", size: 3 },
      { path: "b/c", key: "exp/b/c", etag: "sum-b/c", size: null },
    ]);
  });

  it("merges the previous manifest with the export's tasks", async () => {
    const previous = [entry("a"), entry("b"), entry("d"), entry("f")];
    const tasks: ExportTask[] = [
      {
        op: "copy",
        path: "b",
        sourceAddress: "s3://x/b2",
        destKey: "exp/b",
        etag: "new-b",
        size: 9,
      },
      {
        op: "copy",
        path: "c",
        sourceAddress: "s3://x/c",
        destKey: "exp/c",
        etag: "new-c",
        size: 2,
      },
      { op: "delete", path: "d", destKey: "exp/d" },
      { op: "delete", path: "e", destKey: "exp/e" },
      { op: "copy", path: "g", sourceAddress: "s3://x/g", destKey: "exp/g", etag: "new-g" },
    ];
    expect(await collect(mergeManifest(gen(previous), gen(tasks)))).toEqual([
      entry("a"),
      { path: "b", key: "exp/b", etag: "new-b", size: 9 },
      { path: "c", key: "exp/c", etag: "new-c", size: 2 },
      entry("f"),
      { path: "g", key: "exp/g", etag: "new-g", size: null },
    ]);
  });

  it("refuses inputs out of order", async () => {
    await expect(collect(mergeManifest(gen([entry("b"), entry("a")]), gen([])))).rejects.toThrow(
      /out of path order/,
    );
  });
});

describe("manifest part size (README: memory holds one manifest part, 100 000 objects at most)", () => {
  it("writes parts of at most 100 000 objects by default", async () => {
    const m = memorySink();
    const n = 100_001;
    async function* entries() {
      for (let i = 0; i < n; i++) yield entry(`p/${String(i).padStart(6, "0")}`);
    }
    const index = await writeManifest(entries(), m.sink, about("c"));
    expect(index.parts.map((p) => p.entries)).toEqual([100_000, 1]);
    expect(index.entries).toBe(n);
  }, 60_000);
});
