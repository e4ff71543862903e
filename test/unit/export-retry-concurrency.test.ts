import { describe, expect, it } from "vitest";
import {
  createLimiter,
  forEachConcurrently,
  mapConcurrently,
} from "../../lambdas/shared/concurrency";
import {
  errorCode,
  fullJitterDelayMs,
  isRetryableAwsError,
  withRetry,
} from "../../lambdas/shared/retry";

const awsError = (name: string, status?: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe("retry classification", () => {
  it.each([
    ["SlowDown", 503],
    ["InternalError", 500],
    ["RequestTimeout", 400],
    ["ThrottlingException", 400],
    ["TooManyRequestsException", 429],
    ["ServiceUnavailable", 503],
    ["Whatever", 503],
    ["Whatever", 500],
  ])("%s (%s) is retryable", (name, status) => {
    expect(isRetryableAwsError(awsError(name, status))).toBe(true);
  });

  it.each([
    ["AccessDenied", 403],
    ["NoSuchKey", 404],
    ["NoSuchBucket", 404],
    ["InvalidRequest", 400],
  ])("%s (%s) is not", (name, status) => {
    expect(isRetryableAwsError(awsError(name, status))).toBe(false);
  });

  it("recognises socket errors, also as a cause", () => {
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    expect(isRetryableAwsError(reset)).toBe(true);
    expect(isRetryableAwsError(new Error("wrapped", { cause: reset }))).toBe(true);
    expect(isRetryableAwsError("ECONNRESET")).toBe(false);
    expect(errorCode(reset)).toBe("ECONNRESET");
    expect(errorCode(awsError("AccessDenied"))).toBe("AccessDenied");
    expect(errorCode(new Error("plain"))).toBe("Unknown");
  });
});

describe("withRetry", () => {
  it("backs off with full jitter until success", async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async (attempt) => {
        calls++;
        if (attempt < 4) throw awsError("SlowDown", 503);
        return "ok";
      },
      {
        baseDelayMs: 100,
        maxDelayMs: 250,
        random: () => 0.5,
        sleep: async (ms) => void sleeps.push(ms),
      },
    );
    expect(result).toBe("ok");
    expect(calls).toBe(4);
    // 0.5 * min(250, 100, 200, 400)
    expect(sleeps).toEqual([50, 100, 125]);
  });

  it("gives up after maxAttempts with the last error", async () => {
    let calls = 0;
    const run = withRetry(
      async () => {
        calls++;
        throw awsError("SlowDown", 503);
      },
      { maxAttempts: 3, sleep: async () => undefined },
    );
    await expect(run).rejects.toThrow("SlowDown");
    expect(calls).toBe(3);
  });

  it("does not retry a permanent error", async () => {
    let calls = 0;
    const run = withRetry(
      async () => {
        calls++;
        throw awsError("AccessDenied", 403);
      },
      { sleep: async () => undefined },
    );
    await expect(run).rejects.toThrow("AccessDenied");
    expect(calls).toBe(1);
  });

  it("jitter stays within [0, ceiling)", () => {
    const o = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(fullJitterDelayMs(1, { ...o, random: () => 0.999 })).toBe(99);
    expect(fullJitterDelayMs(10, { ...o, random: () => 0.999 })).toBe(999);
    expect(fullJitterDelayMs(3, { ...o, random: () => 0 })).toBe(0);
  });
});

const tick = () => new Promise((r) => setTimeout(r, 1));

async function* numbers(n: number, pulled: { count: number }) {
  for (let i = 0; i < n; i++) {
    pulled.count++;
    await tick();
    yield i;
  }
}

describe("forEachConcurrently", () => {
  it("never exceeds the limit and visits every item once", async () => {
    let active = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachConcurrently(numbers(25, { count: 0 }), 4, async (item) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      seen.push(item);
      active--;
    });
    expect(peak).toBe(4);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it("stops pulling after an error and throws the first error", async () => {
    const pulled = { count: 0 };
    const run = forEachConcurrently(numbers(1000, pulled), 3, async (item) => {
      await tick();
      if (item === 5) throw new Error("boom 5");
    });
    await expect(run).rejects.toThrow("boom 5");
    expect(pulled.count).toBeLessThan(20);
  });

  it("works on sync iterables and rejects a bad limit", async () => {
    const out: number[] = [];
    await forEachConcurrently([1, 2, 3], 2, async (x) => void out.push(x));
    expect(out.sort()).toEqual([1, 2, 3]);
    await expect(forEachConcurrently([1], 0, async () => undefined)).rejects.toThrow(/limit/);
  });

  it("on a sync iterable: keeps the limit, stops pulling after an error and closes the iterator", async () => {
    let pulled = 0;
    let closed = false;
    function* items() {
      try {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    let active = 0;
    let peak = 0;
    const run = forEachConcurrently(items(), 3, async (item) => {
      active++;
      peak = Math.max(peak, active);
      await tick();
      active--;
      if (item === 5) throw new Error("boom 5");
    });
    await expect(run).rejects.toThrow("boom 5");
    expect(peak).toBe(3);
    expect(pulled).toBeLessThan(20);
    expect(closed).toBe(true);
  });

  it("on a sync iterable: a throwing iterator fails the run after the calls in flight", async () => {
    const done: number[] = [];
    function* items() {
      yield 1;
      yield 2;
      throw new Error("listing broke");
    }
    const run = forEachConcurrently(items(), 2, async (x) => {
      await tick();
      done.push(x);
    });
    await expect(run).rejects.toThrow("listing broke");
    expect(done.sort()).toEqual([1, 2]);
  });
});

describe("mapConcurrently", () => {
  it("yields in input order with bounded concurrency", async () => {
    let active = 0;
    let peak = 0;
    const out: number[] = [];
    for await (const r of mapConcurrently([5, 1, 4, 2, 3, 0], 3, async (x) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((res) => setTimeout(res, x));
      active--;
      return x * 10;
    })) {
      out.push(r);
    }
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBeLessThanOrEqual(3);
  });

  it("surfaces a failure at its turn", async () => {
    const run = async () => {
      const out: number[] = [];
      for await (const r of mapConcurrently([1, 2, 3], 2, async (x) => {
        if (x === 2) throw new Error("two");
        return x;
      })) {
        out.push(r);
      }
      return out;
    };
    await expect(run()).rejects.toThrow("two");
  });
});

describe("createLimiter", () => {
  it("runs at most n tasks at once and returns their results", async () => {
    const limit = createLimiter(2);
    let active = 0;
    let peak = 0;
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((x) =>
        limit(async () => {
          active++;
          peak = Math.max(peak, active);
          await tick();
          active--;
          if (x === 5) throw new Error("five");
          return x;
        }).catch((e: Error) => e.message),
      ),
    );
    expect(results).toEqual([1, 2, 3, 4, "five"]);
    expect(peak).toBe(2);
  });

  it("hands a freed slot to the first waiter: a caller arriving meanwhile waits its turn", async () => {
    const limit = createLimiter(1);
    const order: string[] = [];
    let active = 0;
    let peak = 0;
    const task = (name: string) => async () => {
      active++;
      peak = Math.max(peak, active);
      order.push(name);
      await tick();
      active--;
    };
    const first = limit(task("first"));
    const waiting = limit(task("waiting"));
    await first;
    // The slot went to "waiting" when "first" ended; "late" comes after it, not beside it.
    const late = limit(task("late"));
    await Promise.all([waiting, late]);
    expect(order).toEqual(["first", "waiting", "late"]);
    expect(peak).toBe(1);
  });
});
