import { describe, expect, it } from "vitest";
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
