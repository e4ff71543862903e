// The metrics each run publishes (pure builders, and the Powertools adapter's EMF line with
// its dimension sets), and the S3 Batch Operations manifest (S3 Inventory format): the encoding
// of keys and the writer, which lists every object of the manifest, reused parts included, in
// manifest order, and reuses the CSV files of reused parts by reference.
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { batchManifestWriter } from "../../lambdas/export/app/batch-manifest-writer";
import {
  batchOperationsCsvLine,
  csvFileKeyOf,
  parseBatchOperationsCsvLine,
} from "../../lambdas/export/domain/batch-operations-manifest";
import { exportMetrics } from "../../lambdas/export/domain/export-metrics";
import {
  type ManifestEntry,
  type ManifestIndex,
  type ManifestPart,
  parseManifestLine,
  supportsPartReuse,
  writeManifest,
  writeMergedManifest,
} from "../../lambdas/export/domain/manifest";
import type { ExportTask } from "../../lambdas/export/domain/tasks";
import { gcMetrics } from "../../lambdas/gc/domain/gc-metrics";
import { PowertoolsMetrics } from "../../lambdas/shared/powertools-metrics";
import { EXPORT_METRICS, GC_METRICS } from "../../lambdas/shared/run-metrics";
import { tracingEnabled } from "../../lambdas/shared/tracing";
import { MemoryExportStore } from "../support/memory-export-store";

async function* gen<T>(items: T[]) {
  for (const i of items) yield i;
}

describe("the Batch Operations CSV line", () => {
  it("quotes both fields and URL-encodes the key so that S3 decodes it back, whatever it holds", () => {
    const keys = ["a b", "a+b", "x/y/z", "x,y", 'q"uote', "ünï/日本", "100%", "q?#&=", "tab\tnl"];
    for (const key of keys) {
      const line = batchOperationsCsvLine("bucket", key);
      expect(line.endsWith("\n")).toBe(true);
      expect(line.slice(0, -1).split(",")).toHaveLength(2);
      expect(line.slice(0, -1).split('"')).toHaveLength(5);
      expect(line).not.toMatch(/[ +/\t]|\n./s);
      expect(parseBatchOperationsCsvLine(line.slice(0, -1))).toEqual({ bucket: "bucket", key });
    }
    expect(batchOperationsCsvLine("b", "dir/a b+c.txt")).toBe('"b","dir%2Fa%20b%2Bc.txt"\n');
    // README Manifests: all but A-Z a-z 0-9 - _ . ! ~ * ' ( ) is percent-encoded (UTF-8).
    expect(batchOperationsCsvLine("b", "Az09-_.!~*'()")).toBe(`"b","Az09-_.!~*'()"\n`);
    expect(batchOperationsCsvLine("b", 'x,y%"é')).toBe('"b","x%2Cy%25%22%C3%A9"\n');
    expect(() => parseBatchOperationsCsvLine('"b","k","extra"')).toThrow(/"bucket","key"/);
    expect(() => parseBatchOperationsCsvLine("b,k")).toThrow(/"bucket","key"/);
  });

  it("names the CSV twin of a part beside it, with the same content id", () => {
    expect(csvFileKeyOf("st/r-b-c.manifest/part-0123abcd.jsonl")).toBe(
      "st/r-b-c.manifest/part-0123abcd.csv.gz",
    );
  });
});

describe("the Batch Operations manifest writer", () => {
  const entry = (path: string): ManifestEntry => ({
    path,
    key: `exp/${path}`,
    etag: "e",
    size: 1,
  });
  const about = (commitId: string) => ({
    bucket: "out",
    repository: "r",
    branch: "b",
    commitId,
    partKey: (id: string) => `status/${commitId}/part-${id}.jsonl`,
  });
  const readPart = (store: MemoryExportStore) =>
    async function* (part: ManifestPart) {
      for (const l of (await store.getText("status-bucket", part.key))!.split("\n")) {
        if (l) yield parseManifestLine(l);
      }
    };

  /** Reads manifest.json as Batch Operations does: every file, checked by size and MD5. */
  function batchKeys(store: MemoryExportStore, manifestKey: string) {
    const manifest = JSON.parse(store.objects.get(`status-bucket/${manifestKey}`)!);
    expect(manifest).toMatchObject({
      sourceBucket: "out",
      destinationBucket: "arn:aws:s3:::status-bucket",
      version: "2016-11-30",
      fileFormat: "CSV",
      fileSchema: "Bucket, Key",
    });
    expect(manifest.creationTimestamp).toMatch(/^\d+$/);
    const rows: { bucket: string; key: string }[] = [];
    for (const f of manifest.files as { key: string; size: number; MD5checksum: string }[]) {
      const stored = store.binary.get(`status-bucket/${f.key}`)!;
      expect(stored, f.key).toBeDefined();
      expect(f.size).toBe(stored.byteLength);
      expect(f.MD5checksum).toBe(createHash("md5").update(stored).digest("hex"));
      const text = gunzipSync(stored).toString("utf8");
      expect(text.endsWith("\n")).toBe(true);
      for (const l of text.slice(0, -1).split("\n")) rows.push(parseBatchOperationsCsvLine(l));
    }
    return { manifest, rows };
  }

  const paths = Array.from({ length: 30 }, (_, i) => `p/${String(i).padStart(3, "0")} +x`);

  it("lists every object of a merged manifest in order, reusing the CSV files of reused parts without reading them", async () => {
    const store = new MemoryExportStore();
    const first = batchManifestWriter(store, "status-bucket", "c1.json", "out");
    const previous = await writeManifest(gen(paths.map(entry)), first.sink, about("c1"), {
      maxEntriesPerPart: 10,
    });
    await first.close();
    expect(previous.version).toBe(4);
    expect(previous.parts).toHaveLength(3);
    for (const p of previous.parts) expect(p.csv?.key).toBe(csvFileKeyOf(p.key));
    expect(batchKeys(store, "c1.json").rows.map((r) => r.key)).toEqual(
      paths.map((p) => `exp/${p}`),
    );

    const second = batchManifestWriter(store, "status-bucket", "c2.json", "out");
    const changed: ExportTask[] = [
      { op: "delete", path: paths[12]!, destKey: `exp/${paths[12]}` },
      {
        op: "copy",
        path: `${paths[12]}a`,
        sourceAddress: "s3://x/y",
        destKey: `exp/${paths[12]}a`,
        etag: "n",
        size: 2,
      },
    ];
    store.reads.length = 0;
    const index = await writeMergedManifest(
      previous,
      readPart(store),
      gen(changed),
      second.sink,
      about("c2"),
      { maxEntriesPerPart: 10 },
    );
    await second.close();
    // Only the touched part was read; the reused parts' CSV files are listed by reference.
    expect(store.reads).toEqual([`status-bucket/${previous.parts[1]!.key}`]);
    const { manifest, rows } = batchKeys(store, "c2.json");
    expect(manifest.files.map((f: { key: string }) => f.key)).toEqual([
      previous.parts[0]!.csv!.key,
      index.parts[1]!.csv!.key,
      previous.parts[2]!.csv!.key,
    ]);
    expect(index.parts[1]!.csv!.key).toMatch(/^status\/c2\//);

    const expected = [...paths.filter((p) => p !== paths[12]), `${paths[12]}a`].sort();
    expect(rows.map((k) => k.bucket)).toEqual(expected.map(() => "out"));
    expect(rows.map((k) => k.key)).toEqual(expected.map((p) => `exp/${p}`));
    expect(index.entries).toBe(expected.length);
    // The first commit's manifest is untouched.
    expect(batchKeys(store, "c1.json").rows).toHaveLength(30);
  });

  it("writes the CSV twin once for a reused part of a version 3 manifest, then reuses it", async () => {
    const store = new MemoryExportStore();
    const plain = {
      writePart: async (key: string, body: string) => {
        await store.put("status-bucket", key, body);
        return undefined;
      },
    };
    const v3 = await writeManifest(gen(paths.map(entry)), plain, about("c1"), {
      maxEntriesPerPart: 10,
    });
    const previous: ManifestIndex = { ...v3, version: 3 };
    expect(previous.parts.every((p) => p.csv === undefined)).toBe(true);

    const tasks = (path: string): ExportTask[] => [
      { op: "copy", path, sourceAddress: "s3://x/y", destKey: `exp/${path}`, etag: "n", size: 2 },
    ];
    const second = batchManifestWriter(store, "status-bucket", "c2.json", "out");
    const next = await writeMergedManifest(
      previous,
      readPart(store),
      gen(tasks(paths[25]!)),
      second.sink,
      about("c2"),
      { maxEntriesPerPart: 10 },
    );
    await second.close();
    expect(next.parts.map((p) => p.csv?.key)).toEqual([
      csvFileKeyOf(previous.parts[0]!.key),
      csvFileKeyOf(previous.parts[1]!.key),
      csvFileKeyOf(next.parts[2]!.key),
    ]);
    expect(batchKeys(store, "c2.json").rows.map((r) => r.key)).toEqual(
      paths.map((p) => `exp/${p}`),
    );

    store.reads.length = 0;
    const third = batchManifestWriter(store, "status-bucket", "c3.json", "out");
    await writeMergedManifest(
      next,
      readPart(store),
      gen(tasks(paths[26]!)),
      third.sink,
      about("c3"),
      {
        maxEntriesPerPart: 10,
      },
    );
    await third.close();
    expect(store.reads).toEqual([`status-bucket/${next.parts[2]!.key}`]);
  });

  it("reuses parts only of version 3 and 4 manifests in the same bucket (older ones are rewritten)", () => {
    const index = (version: 2 | 3 | 4, bucket?: string): ManifestIndex => ({
      version,
      ...(bucket ? { bucket } : {}),
      repository: "r",
      branch: "b",
      commitId: "c",
      format: "jsonl",
      entries: 1,
      totalSize: 1,
      parts: [{ key: "k", entries: 1, bytes: 10, firstPath: "a", lastPath: "a", totalSize: 1 }],
    });
    expect(supportsPartReuse(index(2), "out")).toBe(false);
    expect(supportsPartReuse(index(3, "elsewhere"), "out")).toBe(false);
    expect(supportsPartReuse(index(4, "elsewhere"), "out")).toBe(false);
    expect(supportsPartReuse(index(3, "out"), "out")).toBe(true);
    expect(supportsPartReuse(index(4, "out"), "out")).toBe(true);
  });

  it("lists an empty commit as a manifest with no files", async () => {
    const store = new MemoryExportStore();
    const w = batchManifestWriter(store, "status-bucket", "e.json", "out");
    const index = await writeManifest(gen([]), w.sink, about("e"));
    await w.close();
    expect(index.parts).toEqual([]);
    expect(batchKeys(store, "e.json").manifest.files).toEqual([]);
  });
});

describe("tracing", () => {
  it("is on only where an X-Ray daemon listens, and not when POWERTOOLS_TRACE_ENABLED=false", () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ AWS_XRAY_DAEMON_ADDRESS: "169.254.79.129:2000" })).toBe(true);
    expect(
      tracingEnabled({
        AWS_XRAY_DAEMON_ADDRESS: "169.254.79.129:2000",
        POWERTOOLS_TRACE_ENABLED: "false",
      }),
    ).toBe(false);
  });
});

describe("run metrics", () => {
  it("of an export: counts, signalled errors and the lag from the commit", () => {
    const values = exportMetrics({
      totals: { copied: 3, deleted: 2, copiedBytes: 300 },
      signalledErrors: 1,
      commitCreatedSeconds: 1_000,
      statusWrittenAt: new Date(1_090_400),
    });
    expect(values).toEqual([
      { name: EXPORT_METRICS.objectsCopied, unit: "Count", value: 3 },
      { name: EXPORT_METRICS.objectsDeleted, unit: "Count", value: 2 },
      { name: EXPORT_METRICS.bytesCopied, unit: "Bytes", value: 300 },
      { name: EXPORT_METRICS.copyFailures, unit: "Count", value: 1 },
      { name: EXPORT_METRICS.exportLagSeconds, unit: "Seconds", value: 90 },
    ]);
    const unknownCommit = exportMetrics({
      totals: { copied: 0, deleted: 0, copiedBytes: 0 },
      signalledErrors: 0,
      commitCreatedSeconds: 0,
      statusWrittenAt: new Date(),
    });
    expect(unknownCommit.map((v) => v.name)).not.toContain(EXPORT_METRICS.exportLagSeconds);
  });

  it("of a GC run: marked in mark phases, swept in sweep phases, and its duration", () => {
    const base = {
      counts: { marked_addresses: 7, deleted_objects: 5 },
      startedAt: new Date(0),
      endedAt: new Date(61_000),
    };
    expect(gcMetrics({ ...base, doMark: true, doSweep: true })).toEqual([
      { name: GC_METRICS.objectsMarked, unit: "Count", value: 7 },
      { name: GC_METRICS.objectsSwept, unit: "Count", value: 5 },
      { name: GC_METRICS.gcRunSeconds, unit: "Seconds", value: 61 },
    ]);
    expect(gcMetrics({ ...base, doMark: true, doSweep: false }).map((v) => v.name)).toEqual([
      GC_METRICS.objectsMarked,
      GC_METRICS.gcRunSeconds,
    ]);
    expect(gcMetrics({ ...base, doMark: false, doSweep: true }).map((v) => v.name)).toEqual([
      GC_METRICS.objectsSwept,
      GC_METRICS.gcRunSeconds,
    ]);
  });

  it("go out as one EMF line on stdout, with {service}, {service,repository} and branch sets", () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const metrics = new PowertoolsMetrics();
      metrics.publish({ repository: "r", branch: "main" }, [
        { name: "ObjectsCopied", unit: "Count", value: 4 },
        { name: "BytesCopied", unit: "Bytes", value: 40 },
      ]);
      metrics.publish({ repository: "g" }, [{ name: "GcRunSeconds", unit: "Seconds", value: 9 }]);
      metrics.publish({ repository: "g" }, []);
    } finally {
      spy.mockRestore();
    }
    const docs = written
      .join("")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(docs).toHaveLength(2);
    expect(docs[0]._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: "Lakeport",
      Dimensions: [["service"], ["service", "repository"], ["service", "repository", "branch"]],
      Metrics: [
        { Name: "ObjectsCopied", Unit: "Count" },
        { Name: "BytesCopied", Unit: "Bytes" },
      ],
    });
    expect(docs[0]).toMatchObject({ repository: "r", branch: "main", ObjectsCopied: 4 });
    expect(docs[1]._aws.CloudWatchMetrics[0].Dimensions).toEqual([
      ["service"],
      ["service", "repository"],
    ]);
    expect(docs[1]).toMatchObject({ repository: "g", GcRunSeconds: 9 });
    expect(docs[1].branch).toBeUndefined();
  });
});
