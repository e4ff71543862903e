import { describe, expect, it } from "vitest";
import {
  type ManifestEntry,
  manifestEntriesFromListing,
  mergeManifest,
  parseManifestLine,
  writeManifest,
} from "../../lambdas/export/domain/manifest";
import type { ExportTask } from "../../lambdas/export/domain/tasks";
import type { ListObjectsOptions, ObjectStats, Page } from "../../lambdas/lakefs/types";

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

describe("writeManifest", () => {
  it("streams bounded parts and returns the index", async () => {
    const parts: string[][] = [];
    const entries = Array.from({ length: 25 }, (_, i) =>
      entry(`p/${String(i).padStart(3, "0")}`, "e", i),
    );
    const index = await writeManifest(
      gen(entries),
      {
        writePart: async (i, lines) => {
          parts[i] = [...lines];
        },
      },
      { repository: "r", branch: "b", commitId: "c", partKey: (i) => `m/part-${i}.jsonl` },
      { maxEntriesPerPart: 10 },
    );
    expect(parts.map((p) => p.length)).toEqual([10, 10, 5]);
    expect(index).toMatchObject({
      version: 1,
      commitId: "c",
      format: "jsonl",
      entries: 25,
      totalSize: (24 * 25) / 2,
    });
    expect(index.parts.map((p) => [p.key, p.entries])).toEqual([
      ["m/part-0.jsonl", 10],
      ["m/part-1.jsonl", 10],
      ["m/part-2.jsonl", 5],
    ]);
    expect(parts.flat().map(parseManifestLine)).toEqual(entries);
  });

  it("writes no part for an empty commit", async () => {
    const index = await writeManifest(
      gen([]),
      { writePart: async () => expect.unreachable() },
      { repository: "r", branch: "b", commitId: "c", partKey: (i) => `${i}` },
    );
    expect(index).toMatchObject({ entries: 0, parts: [] });
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
