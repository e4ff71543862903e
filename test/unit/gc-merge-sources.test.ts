import { describe, expect, it } from "vitest";
import { commitNamed, mergeSourceOf } from "../../lambdas/gc/domain/merge-sources";

const ids = (...list: string[]) => {
  const set = new Set(list);
  return { has: (id: string) => set.has(id), ids: () => set.values() };
};

describe("mergeSourceOf: which commits a one-parent commit took entries from", () => {
  it("reads a cherry-pick's origin from its metadata, whatever its message", () => {
    expect(
      mergeSourceOf({ message: "Revert abc123", metadata: { "cherry-pick-origin": "c1" } }),
    ).toEqual({ kind: "cherry-pick", commit: "c1" });
  });

  it("reads a revert from lakeFS's default message, and nothing else from other messages", () => {
    expect(mergeSourceOf({ message: "Revert 0123abcd" })).toEqual({
      kind: "revert",
      ref: "0123abcd",
    });
    expect(mergeSourceOf({ message: "Revert main~1" })).toEqual({ kind: "revert", ref: "main~1" });
    expect(mergeSourceOf({ message: "Revert the bad load" })).toBeUndefined();
    expect(mergeSourceOf({ message: "nightly load", metadata: { k: "v" } })).toBeUndefined();
  });
});

describe("mergeSourceOf: squash merges", () => {
  const strategy = { ".lakefs.merge.strategy": "default" };
  it("reads a one-parent merge (squash_merge) and the ref lakeFS's message names", () => {
    expect(
      mergeSourceOf({ message: "Merge 'feature' into 'main'", metadata: strategy, parents: ["h"] }),
    ).toEqual({ kind: "squash-merge", ref: "feature" });
    expect(
      mergeSourceOf({ message: "our release", metadata: strategy, parents: ["h"] }),
      "a message of its own names nothing",
    ).toEqual({ kind: "squash-merge", ref: undefined });
  });

  it("leaves a two-parent merge to its parents, and a cherry-pick of a merge to its origin", () => {
    const message = "Merge 'feature' into 'main'";
    expect(mergeSourceOf({ message, metadata: strategy, parents: ["h", "f"] })).toBeUndefined();
    expect(
      mergeSourceOf({
        message,
        metadata: { ...strategy, "cherry-pick-origin": "m" },
        parents: ["h"],
      }),
    ).toEqual({ kind: "cherry-pick", commit: "m" });
  });
});

describe("commitNamed: the commit a revert's ref names", () => {
  const a = "a1b2c3d4e5f6".padEnd(64, "0");
  const b = "a1b2c3ffffff".padEnd(64, "0");
  const none = new Set<string>();
  it("takes a full id, or a hex prefix of six or more characters only one id starts with", () => {
    expect(commitNamed(a, ids(a, b), none)).toBe(a);
    expect(commitNamed("a1b2c3d4", ids(a, b), none)).toBe(a);
    expect(commitNamed("a1b2c3", ids(a, b), none), "two ids start with it").toBeUndefined();
    expect(commitNamed("a1b2c", ids(a), none), "too short to name a commit").toBeUndefined();
  });

  it("names no commit for a branch, a tag or a relative ref", () => {
    expect(commitNamed("main", ids(a), none)).toBeUndefined();
    expect(commitNamed(`${a.slice(0, 8)}~1`, ids(a), none)).toBeUndefined();
  });

  it("names no commit for a prefix that is also a branch or tag name (lakeFS resolves those first)", () => {
    expect(commitNamed("a1b2c3d4", ids(a), new Set(["main", "a1b2c3d4"]))).toBeUndefined();
    expect(commitNamed(a, ids(a), new Set([a])), "a full id comes first").toBe(a);
  });
});
