// Two behaviours of lakeFS the development server must share, because Lakeport's export and GC
// rely on them:
// - keys sort in byte order of their UTF-8 encoding (graveler keys are bytes, compared with
//   bytes.Compare), i.e. code point order: "\uFFFD" before "\u{1F600}". Lakeport merge-joins
//   lakeFS listings and diffs with S3 listings in that order (lambdas/export/domain/keys.ts);
//   JavaScript's `<` (UTF-16 code units) orders them the other way round.
// - a commit applies staged entries as lakeFS's committer does (committed/commit.go
//   applyNextKey): a staged entry with the committed entry's identity (size, ETag, user
//   metadata, content type) keeps the COMMITTED entry, its physical address included, and is
//   no change; a commit of nothing else is refused with "no changes".
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compareKeys, keyBefore } from "../../lambdas/export/domain/keys";
import type { ApiError } from "../../local/lakefs/api-error";
import type { EntryValue } from "../../local/lakefs/graveler";
import { LakeFsModel } from "../../local/lakefs/model";

const dataDir = mkdtempSync(path.join(os.tmpdir(), "lakefs-model-"));
const model = new LakeFsModel(dataDir);
afterAll(() => {
  model.close();
  rmSync(dataDir, { recursive: true, force: true });
});

let seq = 0;
function newRepo(): string {
  const name = `repo-${++seq}`;
  model.createRepository({ name, storage_namespace: `s3://bucket/${name}` });
  return name;
}

const entry = (address: string, etag = "etag-1"): EntryValue => ({
  a: address,
  c: etag,
  s: 2,
  m: 1_700_000_000,
  t: "application/octet-stream",
});

const opts = { prefix: "", delimiter: "", amount: 1000 };
const paths = (page: { results: { path: string }[] }) => page.results.map((r) => r.path);

describe("key order: UTF-8 bytes (code points), as lakeFS", () => {
  // In code point order; `<` would put the last two before "d/\uE000".
  const keys = ["d/a", "d/\uE000", "d/\uFFFD", "d/\u{1F600}", "d/\u{1F600}x"];

  it("lists a branch (staged) and a commit, and diffs, in code point order", () => {
    const repo = newRepo();
    for (const k of [...keys].reverse()) model.stageObject(repo, "main", k, entry(`s3://b/${k}`));
    expect(paths(model.listObjects(repo, "main", opts))).toEqual(keys);
    expect(paths(model.diffBranch(repo, "main", opts))).toEqual(keys);
    const c = model.commit(repo, "main", { message: "keys" });
    expect(paths(model.listObjects(repo, c.id, opts))).toEqual(keys);
    const diff = model.diffRefs(repo, c.parents[0]!, c.id, { ...opts, type: "two_dot" });
    expect(paths(diff)).toEqual(keys);
    expect([...keys].sort(compareKeys)).toEqual(keys);
  });

  it("pages with `after` in code point order (Lakeport's keyBefore starts at a key)", () => {
    const repo = newRepo();
    for (const k of keys) model.stageObject(repo, "main", k, entry(`s3://b/${k}`));
    const c = model.commit(repo, "main", { message: "keys" });
    const from = (after: string) =>
      paths(model.listObjects(repo, c.id, { ...opts, after, amount: 2 }));
    expect(from("d/\uE000")).toEqual(["d/\uFFFD", "d/\u{1F600}"]);
    expect(from(keyBefore("d/\uFFFD"))).toEqual(["d/\uFFFD", "d/\u{1F600}"]);
    expect(from("d/\u{1F600}")).toEqual(["d/\u{1F600}x"]);
  });

  it("groups common prefixes and continues past them in code point order", () => {
    const repo = newRepo();
    const nested = ["e/\uFFFD/1", "e/\uFFFD/2", "e/\u{1F600}/1", "e/\u{1F600}/2", "e/\u{1F601}"];
    for (const k of nested) model.stageObject(repo, "main", k, entry(`s3://b/${k}`));
    const page = (after?: string) =>
      paths(model.listObjects(repo, "main", { prefix: "e/", delimiter: "/", amount: 1, after }));
    expect(page()).toEqual(["e/\uFFFD/"]);
    expect(page("e/\uFFFD/")).toEqual(["e/\u{1F600}/"]);
    expect(page("e/\u{1F600}/")).toEqual(["e/\u{1F601}"]);
  });
});

describe("commit of a staged entry with the committed entry's identity", () => {
  it("keeps the committed entry (address included), and alone is 'no changes'", () => {
    const repo = newRepo();
    model.stageObject(repo, "main", "p", entry("s3://b/first"));
    const c0 = model.commit(repo, "main", { message: "c0" });
    // The same bytes uploaded again: a new object, the same identity.
    model.stageObject(repo, "main", "p", entry("s3://b/second"));
    expect(() => model.commit(repo, "main", { message: "same bytes" })).toThrow(
      expect.objectContaining({ status: 400, message: "commit: no changes" }) as ApiError,
    );
    model.stageObject(repo, "main", "q", entry("s3://b/q"));
    const c1 = model.commit(repo, "main", { message: "with q" });
    expect(model.statObject(repo, c1.id, "p").a).toBe("s3://b/first");
    expect(c1.meta_range_id).not.toBe(c0.meta_range_id);
    // A changed identity is written as staged.
    model.stageObject(repo, "main", "p", entry("s3://b/third", "etag-2"));
    const c2 = model.commit(repo, "main", { message: "v2" });
    expect(model.statObject(repo, c2.id, "p").a).toBe("s3://b/third");
  });

  it("allow_empty commits the unchanged tree", () => {
    const repo = newRepo();
    model.stageObject(repo, "main", "p", entry("s3://b/first"));
    const c0 = model.commit(repo, "main", { message: "c0" });
    model.stageObject(repo, "main", "p", entry("s3://b/second"));
    const c1 = model.commit(repo, "main", { message: "empty", allow_empty: true });
    expect(c1.meta_range_id).toBe(c0.meta_range_id);
    expect(model.statObject(repo, "main", "p").a).toBe("s3://b/first");
  });
});
