import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import { newMarkId, newRunId, validateMarkId } from "../../lambdas/gc/domain/ids";
import {
  compactTimestamp,
  gcPaths,
  gcWorkKeys,
  namespaceUri,
  partFileName,
} from "../../lambdas/gc/domain/paths";
import {
  encodeAddressParquet,
  encodeAddressText,
  encodeDeletedObjectsLog,
  encodeExpiredAddressesLog,
  encodeMarkedAddresses,
  encodeRunSummary,
  type GcRunSummary,
  ReportEncodingError,
} from "../../lambdas/gc/domain/reports";
import { ValidationError } from "../../lambdas/shared/errors";

async function readParquet(bytes: Uint8Array) {
  const file = bytes.buffer.slice(
    bytes.byteOffset,
    bytes.byteOffset + bytes.byteLength,
  ) as ArrayBuffer;
  const metadata = parquetMetadata(file);
  const rows = await parquetReadObjects({ file });
  return { schema: metadata.schema, rows };
}

describe("GC Parquet address lists", () => {
  it("have one required UTF8 column `address` with the keys, in order", async () => {
    const keys = ["data/gab4/c1", "data/ü/日本", "a,b\nc"];
    for (const encode of [
      encodeAddressParquet,
      encodeMarkedAddresses,
      encodeExpiredAddressesLog,
      encodeDeletedObjectsLog,
    ]) {
      const { schema, rows } = await readParquet(encode(keys));
      expect(schema).toHaveLength(2);
      expect(schema[1]).toMatchObject({
        name: "address",
        type: "BYTE_ARRAY",
        converted_type: "UTF8",
        repetition_type: "REQUIRED",
      });
      expect(rows).toEqual(keys.map((address) => ({ address })));
    }
  });

  it("can be empty", async () => {
    const { schema, rows } = await readParquet(encodeAddressParquet([]));
    expect(schema[1]?.name).toBe("address");
    expect(rows).toEqual([]);
  });

  it("hold many rows", async () => {
    const keys = Array.from({ length: 150_000 }, (_, i) => `data/g${i % 97}/k${i}`);
    const { rows } = await readParquet(encodeAddressParquet(keys));
    expect(rows).toHaveLength(keys.length);
    expect(rows[149_999]).toEqual({ address: "data/g37/k149999" });
    expect(rows.every((r, i) => r.address === keys[i])).toBe(true);
  });
});

describe("GC text list", () => {
  it("is one key a line with a trailing newline", () => {
    expect(new TextDecoder().decode(encodeAddressText(["a/b", "c"]))).toBe("a/b\nc\n");
    expect(encodeAddressText([])).toHaveLength(0);
  });

  it("refuses a key with a line break instead of leaving it out", () => {
    expect(() => encodeAddressText(["ok", "bad\nkey"])).toThrow(ReportEncodingError);
  });
});

describe("GC run summary", () => {
  const summary: GcRunSummary = {
    run_id: "20261123T004755Z-0123456789",
    mark_id: "m1",
    mode: "mark-only",
    start_time: "2026-11-23T00:47:55.000Z",
    end_time: "2026-11-23T00:49:01.000Z",
    counts: { active_commits: 3, expired_commits: 2, marked_addresses: 10 },
    success: true,
  };

  it("is the JSON of the summary", () => {
    const json = JSON.parse(new TextDecoder().decode(encodeRunSummary(summary)));
    expect(json).toEqual(summary);
  });

  it("refuses a malformed summary", () => {
    expect(() => encodeRunSummary({ ...summary, mode: "sweep" as "mark-only" })).toThrow();
    expect(() => encodeRunSummary({ ...summary, counts: { x: -1 } })).toThrow();
  });
});

describe("GC paths", () => {
  const runId = "20261123T004755Z-0123456789";
  const at = new Date("2026-11-23T00:47:55.123Z");

  it("are where lakeFS's GC writes", () => {
    expect(gcPaths.commitsCsv(runId)).toBe(
      `_lakefs/retention/gc/commits/run_id=${runId}/commits.csv`,
    );
    expect(gcPaths.addressesPrefix("m-1")).toBe("_lakefs/retention/gc/addresses/mark_id=m-1/");
    expect(gcPaths.addressesPart("m-1", 7)).toBe(
      "_lakefs/retention/gc/addresses/mark_id=m-1/part-00007.parquet",
    );
    expect(gcPaths.addressesTextPart("m-1", 12345)).toBe(
      "_lakefs/retention/gc/addresses.text/mark_id=m-1/part-12345.txt",
    );
    expect(gcPaths.expiredAddressesPart(at, 0)).toBe(
      "_lakefs/logs/gc/expired_addresses/dt=20261123T004755Z/part-00000.parquet",
    );
    expect(gcPaths.deletedObjectsPrefix(at)).toBe(
      "_lakefs/logs/gc/deleted_objects/dt=20261123T004755Z/",
    );
    expect(gcPaths.summary(runId)).toBe(`_lakefs/retention/gc/summary/run_id=${runId}.json`);
    expect(namespaceUri("s3://b/ns/", gcPaths.summary(runId))).toBe(
      `s3://b/ns/_lakefs/retention/gc/summary/run_id=${runId}.json`,
    );
  });

  it("refuse unsafe ids and part numbers", () => {
    for (const bad of ["", "../x", "a/b", "a b", "é", "x".repeat(65), 7, undefined]) {
      expect(() => validateMarkId(bad)).toThrow(ValidationError);
    }
    expect(() => validateMarkId("a/b")).toThrow(/mark_id: must be 1 to 64 characters/);
    expect(() => gcPaths.addressesPrefix("../../etc")).toThrow(/mark_id/);
    expect(() => gcPaths.summary("x/y")).toThrow(/run_id/);
    expect(() => partFileName(100_000, "txt")).toThrow(/part/);
    expect(() => partFileName(-1, "txt")).toThrow(/part/);
  });

  it("generate valid ids", () => {
    expect(validateMarkId(newMarkId())).toMatch(/^[0-9a-f-]{36}$/);
    expect(newMarkId(() => "fixed")).toBe("fixed");
    expect(() => newMarkId(() => "no/slash")).toThrow(ValidationError);
    expect(newRunId(at, () => "abcdef0123")).toBe("20261123T004755123Z-abcdef0123");
    expect(newRunId(at)).toMatch(/^20261123T004755123Z-[0-9a-f]{10}$/);
    expect(newRunId(at, () => "x")).toBe(newRunId(at, () => "x"));
    expect(compactTimestamp(at)).toBe("20261123T004755Z");
  });

  it("lay out the work bucket partition first", () => {
    const keys = gcWorkKeys("repo1", runId);
    expect(keys.commitGraph).toBe(`gc/repo1/${runId}/commits.jsonl`);
    expect(keys.itemsShard(3)).toBe(`gc/repo1/${runId}/items/items-00003.jsonl`);
    expect(keys.addressShard(7, "active", "b-000001")).toBe(
      `gc/repo1/${runId}/addresses/p=00007/active/b-000001.jsonl`,
    );
    expect(keys.addressShard(7, "expired", "b-1").startsWith(keys.partitionPrefix(7))).toBe(true);
    expect(keys.addressShardPrefix(7, "expired")).toBe(
      `gc/repo1/${runId}/addresses/p=00007/expired/`,
    );
    expect(() => gcWorkKeys("a/b", runId)).toThrow(/repository/);
  });
});
