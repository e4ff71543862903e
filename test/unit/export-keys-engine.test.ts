import { Readable } from "node:stream";
import { S3Client } from "@aws-sdk/client-s3";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareKeys, keyBefore } from "../../lambdas/export/domain/keys";
import {
  copySourceOf,
  partRanges,
  s3ContentType,
  s3UserMetadata,
} from "../../lambdas/shared/s3-copy/copy-object";
import { DeleteStoppedError, deleteObjects } from "../../lambdas/shared/s3-copy/delete-objects";

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
      withheld: [],
    });
  });

  it("asks beforeSend before every request, retries included, and sends only what it allows", async () => {
    // GC's sweep checks again before a throttled key is resent: one referenced meanwhile is
    // withheld, neither deleted nor failed.
    const calls: string[][] = [];
    const s3 = {
      send: async (cmd: { input: { Delete: { Objects: { Key: string }[] } } }) => {
        const keys = cmd.input.Delete.Objects.map((o) => o.Key);
        calls.push(keys);
        return calls.length === 1
          ? { Errors: keys.slice(1).map((Key) => ({ Key, Code: "SlowDown", Message: "slow" })) }
          : { Errors: [] };
      },
    } as unknown as S3Client;
    const asked: string[][] = [];
    const out = await deleteObjects(s3, "bkt", ["a", "b", "c"], {
      retry: { sleep: async () => undefined },
      beforeSend: async (keys) => {
        asked.push(keys);
        return asked.length === 1 ? keys : keys.filter((k) => k !== "c");
      },
    });
    expect(asked).toEqual([
      ["a", "b", "c"],
      ["b", "c"],
    ]);
    expect(calls).toEqual([["a", "b", "c"], ["b"]]);
    expect(out).toEqual({ deleted: 2, failed: [], withheld: ["c"] });
  });

  it("an error of beforeSend ends the call, not counted as S3's failure of the keys", async () => {
    const s3 = { send: async () => ({ Errors: [] }) } as unknown as S3Client;
    const stop = new Error("sweep stopped: commit c1 became active again");
    await expect(
      deleteObjects(s3, "bkt", ["a", "b\u0001"], { beforeSend: async () => Promise.reject(stop) }),
    ).rejects.toMatchObject({
      reason: stop,
      message: stop.message,
      partial: { deleted: 0, failed: [], withheld: [], unsent: ["a", "b\u0001"] },
    });
    await expect(
      deleteObjects(s3, "bkt", ["b\u0001"], { beforeSend: async () => Promise.reject(stop) }),
    ).rejects.toMatchObject({ reason: stop, partial: { unsent: ["b\u0001"] } });
  });

  it("stopped by beforeSend before a resend, it says what the batch's first request deleted", async () => {
    // GC's sweep logs every object it deleted: a check that stops the sweep before the resend
    // of throttled keys must not hide what the first request deleted.
    const calls: string[][] = [];
    const s3 = {
      send: async (cmd: { input: { Delete: { Objects: { Key: string }[] } } }) => {
        const keys = cmd.input.Delete.Objects.map((o) => o.Key);
        calls.push(keys);
        return { Errors: [{ Key: "c", Code: "SlowDown", Message: "slow" }] };
      },
    } as unknown as S3Client;
    const stop = new Error("sweep stopped");
    let asked = 0;
    const err = await deleteObjects(s3, "bkt", ["a", "b", "c", "d", "e\u0001"], {
      batchSize: 3,
      retry: { sleep: async () => undefined },
      beforeSend: async (keys) => {
        if (++asked === 2) throw stop;
        return keys.filter((k) => k !== "b");
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeleteStoppedError);
    expect(calls).toEqual([["a", "c"]]);
    expect((err as DeleteStoppedError).reason).toBe(stop);
    expect((err as DeleteStoppedError).partial).toEqual({
      deleted: 1,
      failed: [],
      withheld: ["b"],
      unsent: ["c", "d", "e\u0001"],
    });
  });
});

describe("deleteObjects: keys with line breaks in the answer", () => {
  /** An S3 client whose DeleteObjects answers come from `answer` as raw XML (the SDK parses it). */
  function xmlAnswering(answer: (call: number) => string) {
    const bodies: string[] = [];
    const s3 = new S3Client({
      region: "us-east-1",
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
      requestHandler: {
        handle: async (req: { body: unknown }) => {
          bodies.push(String(req.body));
          const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${answer(bodies.length)}</DeleteResult>`;
          return {
            response: { statusCode: 200, headers: {}, body: Readable.from([Buffer.from(xml)]) },
          };
        },
      } as never,
    });
    return { s3, bodies };
  }

  it("retries a throttled key with a carriage return as itself, never its line-feed twin", async () => {
    // S3 writes the key's carriage return as is; the parser reads a line feed. The retry sent
    // `exp/a\nb`, an object not in the batch (a live exported object), and left `exp/a\rb`.
    const { s3, bodies } = xmlAnswering((call) =>
      call === 1
        ? "<Error><Key>exp/a\rb</Key><Code>SlowDown</Code><Message>x</Message></Error>"
        : "",
    );
    const out = await deleteObjects(s3, "bkt", ["exp/a\rb", "exp/c"], {
      retry: { sleep: async () => undefined },
    });
    expect(bodies).toHaveLength(2);
    expect(bodies[1]).toContain("<Key>exp/a&#x0D;b</Key>");
    expect(bodies[1]).not.toContain("exp/a&#x0A;b");
    expect(bodies[1]).not.toContain("exp/c");
    expect(out).toEqual({ deleted: 2, failed: [], withheld: [] });
  });

  it("takes every sent key an answered key may stand for, and fails on a key none is", async () => {
    const { s3, bodies } = xmlAnswering((call) =>
      call === 1
        ? "<Error><Key>k/a\nb</Key><Code>InternalError</Code><Message>x</Message></Error><Error><Key>k/unknown</Key><Code>AccessDenied</Code><Message>no</Message></Error>"
        : "",
    );
    const out = await deleteObjects(s3, "bkt", ["k/a\rb", "k/a\nb", "k/c"], {
      retry: { sleep: async () => undefined },
    });
    // Both keys that read as k/a\nb are sent again; the unknown key fails the batch's count.
    expect(bodies[1]).toContain("<Key>k/a&#x0D;b</Key>");
    expect(bodies[1]).toContain("<Key>k/a&#x0A;b</Key>");
    expect(out.failed).toEqual([{ key: "k/unknown", code: "AccessDenied", message: "no" }]);
    expect(out.deleted).toBe(2);
  });
});
