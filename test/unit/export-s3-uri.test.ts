import { describe, expect, it } from "vitest";
import { checkExportBucket, exportBucketRuleOf } from "../../lambdas/api/validation";
import {
  locationsOverlap,
  normalizeS3Location,
  writableLocationProblem,
} from "../../lambdas/shared/s3-naming";
import {
  formatS3Uri,
  InvalidS3UriError,
  isAddressInNamespace,
  joinKey,
  parseS3ObjectUri,
  parseS3Uri,
} from "../../lambdas/shared/s3-uri";

describe("s3 uri", () => {
  it("parses bucket and prefix, dropping trailing slashes", () => {
    expect(parseS3Uri("s3://my-bucket")).toEqual({ bucket: "my-bucket", prefix: "" });
    expect(parseS3Uri("s3://my-bucket/")).toEqual({ bucket: "my-bucket", prefix: "" });
    expect(parseS3Uri("s3://my-bucket/a/b/")).toEqual({ bucket: "my-bucket", prefix: "a/b" });
    expect(parseS3Uri("s3://my.bucket-1/x y/é")).toEqual({
      bucket: "my.bucket-1",
      prefix: "x y/é",
    });
  });

  it.each([
    ["", /expected s3:\/\/bucket/],
    ["http://b/x", /scheme s3:\/\//],
    ["s3://", /bucket name is missing/],
    ["s3:///x", /bucket name is missing/],
    ["s3://ab/x", /3-63 lowercase/],
    ["s3://Bucket/x", /3-63 lowercase/],
    ["s3://a..b/x", /3-63 lowercase/],
    ["s3://-abc/x", /3-63 lowercase/],
  ])("rejects %j naming the field", (uri, reason) => {
    const parse = () => parseS3Uri(uri, "exportPath");
    expect(parse).toThrow(InvalidS3UriError);
    expect(parse).toThrow(/^exportPath: /);
    expect(parse).toThrow(reason);
  });

  it("parses an object address keeping the key byte for byte", () => {
    expect(parseS3ObjectUri("s3://bkt/data/a//b c")).toEqual({ bucket: "bkt", key: "data/a//b c" });
    expect(() => parseS3ObjectUri("s3://bkt/", "physical_address")).toThrow(
      /physical_address: .*object key is missing/,
    );
  });

  it("formats", () => {
    expect(formatS3Uri({ bucket: "bkt", prefix: "" })).toBe("s3://bkt");
    expect(formatS3Uri({ bucket: "bkt", prefix: "p/q" })).toBe("s3://bkt/p/q");
    expect(formatS3Uri({ bucket: "bkt", key: "k" })).toBe("s3://bkt/k");
  });

  it("joins prefix and key", () => {
    expect(joinKey("", "a/b")).toBe("a/b");
    expect(joinKey("p", "a/b")).toBe("p/a/b");
    expect(joinKey("p/", "a")).toBe("p/a");
  });

  it("tells whether an address is inside a namespace (namespace followed by '/')", () => {
    expect(isAddressInNamespace("s3://b/repo1/data/x", "s3://b/repo1")).toBe(true);
    expect(isAddressInNamespace("s3://b/repo1/data/x", "s3://b/repo1/")).toBe(true);
    expect(isAddressInNamespace("s3://b/repo10/x", "s3://b/repo1")).toBe(false);
    expect(isAddressInNamespace("s3://b/repo1", "s3://b/repo1")).toBe(false);
    expect(isAddressInNamespace("s3://b/repo1/", "s3://b/repo1")).toBe(false);
  });
});

describe("locations Lakeport writes to (S3's naming rules)", () => {
  it.each([
    ["s3://my-bucket", undefined],
    ["s3://my-bucket/", undefined],
    ["s3://my.bucket-1/a/b/", undefined],
    ["s3://bucket/a b/é", undefined],
    ["http://bucket/x", "must be s3://bucket[/prefix]"],
    ["s3:///x", "must be s3://bucket[/prefix]"],
    ["s3://ab/x", 'bucket "ab" must be 3 to 63 characters long'],
    [`s3://${"a".repeat(64)}/x`, "must be 3 to 63 characters long"],
    ["s3://Bucket/x", "may only hold lowercase letters, digits, dots and hyphens"],
    ["s3://bucket_1/x", "may only hold lowercase letters"],
    ["s3://-bucket/x", "must begin and end with a letter or digit"],
    ["s3://bucket./x", "must begin and end with a letter or digit"],
    ["s3://a..b/x", 'bucket "a..b" must not contain two adjacent dots'],
    ["s3://192.168.1.1/x", 'bucket "192.168.1.1" must not be formatted as an IP address'],
    ["s3://xn--bucket/x", "reserved prefix xn--"],
    ["s3://bucket-s3alias/x", "reserved suffix -s3alias"],
    ["s3://bucket/a//b", "must not contain an empty path segment"],
    ["s3://bucket/a/./b", "must not contain . or .. path segments"],
    ["s3://bucket/a/..", "must not contain . or .. path segments"],
    ["s3://bucket/a?versionId=1", "must not contain ? or #"],
    ["s3://bucket/a#b", "must not contain ? or #"],
    ["s3://bucket/a\nb", "must not contain control characters"],
    ["s3://bucket/a b/c", undefined],
    ["s3://bucket/x ", 'path segment "x " must not begin or end with white space'],
    ["s3://bucket/ x/y", 'path segment " x" must not begin or end with white space'],
    ["s3://bucket/\u{1F600}/x", undefined],
    ["s3://bucket/a\uD800", "must be well-formed Unicode"],
    ["s3://bucket/a\uDC00b", "must be well-formed Unicode"],
    // Bytes that were not UTF-8 where the path was typed (a Latin-1 shell, a request body):
    // decoding made them U+FFFD, another key than the one meant.
    ["s3://bucket/caf\uFFFD/x", "must not contain U+FFFD"],
    [`s3://bucket/${"k".repeat(1022)}`, undefined],
    [`s3://bucket/${"k".repeat(1023)}`, "key prefix must be at most 1022 bytes"],
    [`s3://bucket/${"\u00e9".repeat(512)}`, "got 1024"],
  ])("%j", (uri, problem) => {
    const got = writableLocationProblem(uri);
    if (problem === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(problem);
  });

  it("normalizes trailing slashes and tells overlapping locations", () => {
    expect(normalizeS3Location("s3://b/x//")).toBe("s3://b/x");
    expect(locationsOverlap("s3://b/x", "s3://b/x/")).toBe(true);
    expect(locationsOverlap("s3://b", "s3://b/x/y")).toBe(true);
    expect(locationsOverlap("s3://b/x", "s3://b/xy")).toBe(false);
    expect(locationsOverlap("s3://b/x", "s3://c/x")).toBe(false);
  });

  it("checks the bucket against the deployment's exportBuckets", () => {
    expect(exportBucketRuleOf(undefined)).toBe("any");
    expect(exportBucketRuleOf("*")).toBe("any");
    const rule = exportBucketRuleOf("a-exports, b-exports");
    expect(rule).toEqual(["a-exports", "b-exports"]);
    expect(() => checkExportBucket("exportPath", "s3://b-exports/x", rule)).not.toThrow();
    expect(() => checkExportBucket("exportPath", "s3://c-exports/x", rule)).toThrow(
      /^exportPath: bucket "c-exports" is not in this deployment's exportBuckets setting \(a-exports, b-exports\)/,
    );
    expect(() => checkExportBucket("exportPath", "s3://c-exports/x", "any")).not.toThrow();
  });
});
