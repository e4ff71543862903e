import { describe, expect, it } from "vitest";
import {
  addressesOfListing,
  pathsIntroduced,
  UnexpectedDiffError,
} from "../../lambdas/gc/domain/item-addresses";
import { splitNamespace } from "../../lambdas/gc/domain/paths";
import { classifyDeleteResult, deleteBatches } from "../../lambdas/gc/domain/sweep";
import type { Diff, ObjectStats } from "../../lambdas/shared/lakefs/types";

const obj = (
  path: string,
  physical_address: string,
  path_type: ObjectStats["path_type"] = "object",
) => ({ path, physical_address, path_type, checksum: "x", mtime: 0 }) as ObjectStats;
const diff = (type: Diff["type"], path: string, path_type: Diff["path_type"] = "object"): Diff => ({
  type,
  path,
  path_type,
});

describe("addresses of a work item's pages", () => {
  it("takes every object's physical address from a listing", () => {
    expect(
      addressesOfListing([
        obj("a", "s3://b/ns/1"),
        obj("d/", "", "common_prefix"),
        obj("c", "s3://x/2"),
      ]),
    ).toEqual(["s3://b/ns/1", "s3://x/2"]);
  });

  it("stats added and changed paths of a diff, never removed ones", () => {
    expect(
      pathsIntroduced([
        diff("added", "a"),
        diff("removed", "b"),
        diff("changed", "c"),
        diff("added", "dir/", "common_prefix"),
      ]),
    ).toEqual(["a", "c"]);
    expect(() => pathsIntroduced([diff("conflict", "x")])).toThrow(UnexpectedDiffError);
  });
});

describe("sweep batches", () => {
  it("splits keys into DeleteObjects requests of at most 1 000", () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `k${i}`);
    const batches = [...deleteBatches(keys)];
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
    expect(batches.flat()).toEqual(keys);
    expect([...deleteBatches([])]).toEqual([]);
    expect(() => [...deleteBatches(keys, 1001)]).toThrow(RangeError);
  });

  it("classifies an answer: missing keys are deleted, throttling is retried, the rest reported", () => {
    const outcome = classifyDeleteResult(["a", "b", "c", "d", "e"], {
      Errors: [
        { Key: "b", Code: "NoSuchKey", Message: "gone" },
        { Key: "c", Code: "SlowDown", Message: "slow" },
        { Key: "d", Code: "AccessDenied", Message: "no" },
      ],
    });
    expect(outcome).toEqual({
      deleted: ["a", "b", "e"],
      retry: ["c"],
      failed: [{ key: "d", code: "AccessDenied", message: "no" }],
    });
  });

  it("turns a namespace into a bucket and a key prefix", () => {
    expect(splitNamespace("s3://bkt/repos/r1/")).toEqual({
      scheme: "s3",
      bucket: "bkt",
      keyPrefix: "repos/r1/",
    });
    expect(splitNamespace("s3://bkt")).toEqual({ scheme: "s3", bucket: "bkt", keyPrefix: "" });
    expect(() => splitNamespace("bkt/x")).toThrow(/storageNamespace/);
  });
});
