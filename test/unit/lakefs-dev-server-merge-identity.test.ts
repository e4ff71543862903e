// The dev server's merge compares entries by identity, as lakeFS does, and still carries an
// address-only change of the source (an identical re-upload, or a link of another object with
// the same size, ETag, metadata and content type) to the destination: lakeFS's Merge returns
// the source metarange when the destination has not moved since the base
// (committed/manager.go), and handleBothKeys writes the source's record whenever both sides
// hold the same identity (committed/merge.go).
import { describe, expect, it } from "vitest";
import { MemoryRangeStore } from "../../local/lakefs/file-store";
import { applyChanges, type EntryValue, lookup, mergeTrees } from "../../local/lakefs/graveler";

const entry = (address: string): EntryValue => ({
  a: address,
  c: "etag-same",
  s: 18,
  m: 1_700_000_000,
  t: "text/plain",
});

describe("dev server merge of an address-only change on the source", () => {
  const store = new MemoryRangeStore();
  const empty = store.putMetarange([]);
  const base = applyChanges(store, empty, [
    ["data/same.txt", entry("s3://ns/data/old")],
    ["data/z.txt", entry("s3://ns/data/z")],
  ]);
  // The branch re-uploads identical content: same identity, new object.
  const source = applyChanges(store, base, [["data/same.txt", entry("s3://ns/data/new")]]);

  it("destination unchanged since the base: lakeFS's result is the source tree", () => {
    const merged = mergeTrees(store, base, source, base);
    expect(merged).toBeDefined();
    expect(lookup(store, merged!, "data/same.txt")?.a).toBe("s3://ns/data/new");
  });

  it("destination changed elsewhere in the same range: lakeFS writes the source's record", () => {
    const dest = applyChanges(store, base, [["data/z.txt", null]]);
    const merged = mergeTrees(store, base, source, dest);
    expect(merged).toBeDefined();
    expect(lookup(store, merged!, "data/same.txt")?.a).toBe("s3://ns/data/new");
  });
});
