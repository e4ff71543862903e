import type { S3Client } from "@aws-sdk/client-s3";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareKeys, keyBefore } from "../../lambdas/export/domain/keys";
import {
  copySourceOf,
  partRanges,
  s3ContentType,
  s3UserMetadata,
} from "../../lambdas/shared/s3-copy/copy-object";
import { deleteObjects } from "../../lambdas/shared/s3-copy/delete-objects";

const utf8Compare = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe("key order", () => {
  it("equals UTF-8 byte order (lakeFS's), unlike JavaScript's <", () => {
    expect(compareKeys("\uFFFD", "😀")).toBeLessThan(0);
    expect("\uFFFD" < "😀").toBe(false);
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(utf8Compare(a, b)));
      }),
    );
  });

  it("keyBefore(k) sorts just before k", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1 }), (k) => {
        const before = keyBefore(k);
        expect(compareKeys(before, k)).toBeLessThan(0);
      }),
    );
    // nothing a listing could hold lies between keyBefore(k) and k
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", minLength: 1 }),
        fc.string({ unit: "grapheme" }),
        (k, s) => {
          if (compareKeys(s, k) < 0) expect(compareKeys(s, keyBefore(k))).toBeLessThan(0);
        },
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", minLength: 1 }),
        fc.string({ unit: "grapheme" }),
        (k, rest) => {
          const sibling = Array.from(k).slice(0, -1).join("") + rest;
          if (compareKeys(sibling, k) < 0)
            expect(compareKeys(sibling, keyBefore(k))).toBeLessThan(0);
        },
      ),
      { numRuns: 2000 },
    );
    expect(keyBefore("a/b")).toBe(`a/a${"\u{10FFFF}".repeat(8)}`);
    expect(compareKeys(`a/a${"z".repeat(50)}`, keyBefore("a/b"))).toBeLessThan(0);
    expect(keyBefore("a\u0000")).toBe("a");
    expect(keyBefore("\uE000")).toBe(`\uD7FF${"\u{10FFFF}".repeat(8)}`);
  });
});

describe("copy engine helpers", () => {
  it("splits a multipart copy into inclusive ranges, at most 10 000 parts", () => {
    expect(partRanges(10, 4)).toEqual([
      [0, 3],
      [4, 7],
      [8, 9],
    ]);
    expect(partRanges(8, 4)).toEqual([
      [0, 3],
      [4, 7],
    ]);
    const huge = partRanges(5 * 1024 ** 4, 5 * 1024 ** 2);
    expect(huge.length).toBeLessThanOrEqual(10_000);
    expect(huge.at(-1)![1]).toBe(5 * 1024 ** 4 - 1);
  });

  it("encodes the copy source, keeping slashes", () => {
    expect(copySourceOf("bkt", "a b/é+?.csv")).toBe("bkt/a%20b/%C3%A9%2B%3F.csv");
  });

  it("strips x-amz-meta- prefixes from lakeFS metadata", () => {
    expect(s3UserMetadata({ "X-Amz-Meta-Owner": "a", Plain: "b" })).toEqual({
      owner: "a",
      plain: "b",
    });
    expect(s3UserMetadata(undefined)).toEqual({});
  });

  it("sends metadata values that are not printable US-ASCII RFC 2047 encoded, others as they are", () => {
    expect(s3UserMetadata({ a: "plain ~ value", b: "groß", c: "—", d: "tab\there" })).toEqual({
      a: "plain ~ value",
      b: "=?UTF-8?B?Z3Jvw58=?=",
      c: "=?UTF-8?B?4oCU?=",
      d: "=?UTF-8?B?dGFiCWhlcmU=?=",
    });
  });

  it("sends a content type's characters that are not printable US-ASCII percent-encoded as UTF-8", () => {
    expect(s3ContentType("text/csv; charset=utf-8")).toBe("text/csv; charset=utf-8");
    expect(s3ContentType("text/plain; name=100%")).toBe("text/plain; name=100%");
    expect(s3ContentType("text/csv; name=café")).toBe("text/csv; name=caf%C3%A9");
    expect(s3ContentType("a/b; n=😀\t\r\n")).toBe("a/b; n=%F0%9F%98%80%09%0D%0A");
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (v) => {
        expect(s3ContentType(v)).toMatch(/^[\x20-\x7e]*$/);
      }),
    );
  });
});

describe("deleteObjects per-key errors", () => {
  it("retries keys answered SlowDown and reports permanent ones", async () => {
    const calls: string[][] = [];
    const s3 = {
      send: async (cmd: { input: { Delete: { Objects: { Key: string }[] } } }) => {
        const keys = cmd.input.Delete.Objects.map((o) => o.Key);
        calls.push(keys);
        if (calls.length === 1) {
          return {
            Errors: [
              { Key: "b", Code: "SlowDown", Message: "slow" },
              { Key: "c", Code: "AccessDenied", Message: "denied" },
            ],
          };
        }
        return { Errors: [] };
      },
    } as unknown as S3Client;
    const out = await deleteObjects(s3, "bkt", ["a", "b", "c"], {
      retry: { sleep: async () => undefined },
    });
    expect(calls).toEqual([["a", "b", "c"], ["b"]]);
    expect(out).toEqual({
      deleted: 2,
      failed: [{ key: "c", code: "AccessDenied", message: "denied" }],
    });
  });
});
