// The embedded S3 proxy's pure request parsing: operation names, copy sources, ranges.
import { describe, expect, test } from "vitest";
import {
  classifyRequest,
  parseCopySource,
  parseCopySourceRange,
  resolveRange,
} from "../../local/s3/operations";

describe("classifyRequest", () => {
  const op = (method: string, url: string, headers: Record<string, string> = {}) =>
    classifyRequest(method, url, headers);
  test.each([
    ["GET", "/", {}, "ListBuckets"],
    ["PUT", "/b", {}, "CreateBucket"],
    ["GET", "/b?list-type=2&prefix=a", {}, "ListObjectsV2"],
    ["GET", "/b?prefix=a", {}, "ListObjects"],
    ["POST", "/b?delete", {}, "DeleteObjects"],
    ["PUT", "/b/k", {}, "PutObject"],
    ["PUT", "/b/k", { "x-amz-copy-source": "/s/k" }, "CopyObject"],
    ["PUT", "/b/k?partNumber=1&uploadId=u", {}, "UploadPart"],
    ["PUT", "/b/k?partNumber=1&uploadId=u", { "x-amz-copy-source": "/s/k" }, "UploadPartCopy"],
    ["POST", "/b/k?uploads", {}, "CreateMultipartUpload"],
    ["POST", "/b/k?uploadId=u", {}, "CompleteMultipartUpload"],
    ["DELETE", "/b/k?uploadId=u", {}, "AbortMultipartUpload"],
    ["DELETE", "/b/k", {}, "DeleteObject"],
    ["HEAD", "/b/k", {}, "HeadObject"],
    ["GET", "/b/k", {}, "GetObject"],
  ])("%s %s -> %s", (method, url, headers, expected) => {
    expect(op(method, url, headers as Record<string, string>).operation).toBe(expected);
  });
  test("decodes bucket and key", () => {
    expect(op("GET", "/b/a%20b/%C3%BC%2Bc")).toMatchObject({ bucket: "b", key: "a b/ü+c" });
  });
});

describe("parseCopySource", () => {
  test("encoded and raw forms, leading slash, versionId", () => {
    expect(parseCopySource("b/a%20b%2Bc%3F.txt")).toEqual({ bucket: "b", key: "a b+c?.txt" });
    expect(parseCopySource("/b/dir/k.txt?versionId=null")).toEqual({
      bucket: "b",
      key: "dir/k.txt",
      versionId: "null",
    });
    expect(parseCopySource("b%2Fk")).toEqual({ bucket: "b", key: "k" });
  });
  test("rejects sources without bucket or key", () => {
    expect(parseCopySource("justbucket")).toBeUndefined();
    expect(parseCopySource("/b/")).toBeUndefined();
    expect(parseCopySource("b/%E0%A4%A")).toBeUndefined();
  });
});

describe("ranges", () => {
  test("x-amz-copy-source-range needs bytes=first-last", () => {
    expect(parseCopySourceRange("bytes=0-9")).toEqual({ first: 0, last: 9 });
    expect(parseCopySourceRange("bytes=5-")).toBeUndefined();
    expect(parseCopySourceRange("bytes=9-0")).toBeUndefined();
  });
  test("GetObject Range resolves against the object size", () => {
    expect(resolveRange("bytes=0-0", 10)).toEqual({ start: 0, end: 0 });
    expect(resolveRange("bytes=-3", 10)).toEqual({ start: 7, end: 9 });
    expect(resolveRange("bytes=-30", 10)).toEqual({ start: 0, end: 9 });
    expect(resolveRange("bytes=4-", 10)).toEqual({ start: 4, end: 9 });
    expect(resolveRange("bytes=10-", 10)).toBe("unsatisfiable");
    expect(resolveRange("bytes=0-1,4-5", 10)).toBeUndefined();
  });
});
