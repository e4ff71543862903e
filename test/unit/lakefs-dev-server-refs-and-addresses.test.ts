// Behaviours of lakeFS the development server must share because Lakeport's GC relies on them:
// - a ref that is a full commit id reads that commit even when a branch has the same name
//   (lakeFS resolves a full id before branches and tags): GC lists commits by id and refuses a
//   branch named as a commit, whose uncommitted entries a read by that ref would not show.
// - a storage namespace given with a trailing slash is kept as given (getRepository answers
//   it so, and Lakeport must normalise it), and still gives `<namespace>/data/...` addresses,
//   as lakeFS joins namespace and key with one slash: a double slash would make every
//   address one GC never marks (an empty segment), so no test would see it delete.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { namespaceKeyer } from "../../lambdas/gc/domain/partition";
import type { EntryValue } from "../../local/lakefs/graveler";
import { LakeFsModel } from "../../local/lakefs/model";
import { newPhysicalAddress } from "../../local/lakefs/storage";

const dataDir = mkdtempSync(path.join(os.tmpdir(), "lakefs-refs-"));
const model = new LakeFsModel(dataDir);
afterAll(() => {
  model.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const entry = (address: string): EntryValue => ({
  a: address,
  c: "etag-1",
  s: 2,
  m: 1_700_000_000,
  t: "application/octet-stream",
});
const opts = { prefix: "", delimiter: "", amount: 1000 };
const paths = (page: { results: { path: string }[] }) => page.results.map((r) => r.path);

describe("refs: a full commit id before a branch of the same name, as lakeFS", () => {
  it("lists and stats the commit, not the branch named as it", () => {
    model.createRepository({ name: "refs-1", storage_namespace: "s3://bucket/refs-1" });
    model.stageObject("refs-1", "main", "a", entry("s3://bucket/refs-1/data/a"));
    const c = model.commit("refs-1", "main", { message: "a" });
    model.createBranch("refs-1", c.id, "main");
    model.stageObject("refs-1", c.id, "b", entry("s3://bucket/refs-1/data/b"));

    expect(paths(model.listObjects("refs-1", c.id, opts))).toEqual(["a"]);
    expect(() => model.statObject("refs-1", c.id, "b")).toThrow(/not found/);
    expect(model.resolveRef("refs-1", c.id).branch).toBeUndefined();
    // getCommit dereferences the ref the same way: the commit, else a branch's head.
    expect(model.getCommit("refs-1", c.id).id).toBe(c.id);
    expect(model.getCommit("refs-1", "main").id).toBe(c.id);
    expect(() => model.getCommit("refs-1", "ab".repeat(32))).toThrow(/not found/);
    // The branch is still read by name where only a branch fits.
    expect(paths(model.diffBranch("refs-1", c.id, opts))).toEqual(["b"]);
  });
});

describe("physical addresses under a namespace given with a trailing slash", () => {
  it("keeps the namespace as given, as lakeFS", () => {
    model.createRepository({ name: "ns-slash", storage_namespace: "s3://bucket/ns-slash/" });
    expect(model.getRepository("ns-slash").storage_namespace).toBe("s3://bucket/ns-slash/");
  });

  it("joins namespace and key with one slash, as lakeFS", () => {
    const address = newPhysicalAddress("s3://bucket/ns/");
    expect(address).toMatch(/^s3:\/\/bucket\/ns\/data\/g[0-9a-z]+\/c[0-9a-z]+$/);
    expect(namespaceKeyer("s3://bucket/ns/")(address)).toMatch(/^data\//);
    expect(newPhysicalAddress("s3://bucket")).toMatch(/^s3:\/\/bucket\/data\//);
  });
});
