// lakeFS's GC keeps every object modified in the last day; Lakeport's mark leaves an expired
// entry that young unmarked (lambdas/gc/domain/min-object-age.ts).
import { describe, expect, it } from "vitest";
import {
  DEFAULT_MIN_OBJECT_AGE_SECONDS,
  tooYoungToMark,
} from "../../lambdas/gc/domain/min-object-age";
import { RETENTION_SLACK_SECONDS } from "../../lambdas/gc/domain/retention";
import { secondsOr } from "../../lambdas/shared/env";

const NOW = 1_800_000_000;
const DAY = 86_400;

describe("GC minimum object age", () => {
  it("defaults to lakeFS's day and reads the environment", () => {
    expect(DEFAULT_MIN_OBJECT_AGE_SECONDS).toBe(DAY);
    expect(
      secondsOr("GC_MIN_OBJECT_AGE_SECONDS", DEFAULT_MIN_OBJECT_AGE_SECONDS, {
        GC_MIN_OBJECT_AGE_SECONDS: undefined,
      }),
    ).toBe(DAY);
    expect(
      secondsOr("GC_MIN_OBJECT_AGE_SECONDS", DEFAULT_MIN_OBJECT_AGE_SECONDS, {
        GC_MIN_OBJECT_AGE_SECONDS: "",
      }),
    ).toBe(DAY);
    expect(
      secondsOr("GC_MIN_OBJECT_AGE_SECONDS", DEFAULT_MIN_OBJECT_AGE_SECONDS, {
        GC_MIN_OBJECT_AGE_SECONDS: "0",
      }),
    ).toBe(0);
    expect(
      secondsOr("GC_MIN_OBJECT_AGE_SECONDS", DEFAULT_MIN_OBJECT_AGE_SECONDS, {
        GC_MIN_OBJECT_AGE_SECONDS: "600",
      }),
    ).toBe(600);
    expect(() =>
      secondsOr("GC_MIN_OBJECT_AGE_SECONDS", DEFAULT_MIN_OBJECT_AGE_SECONDS, {
        GC_MIN_OBJECT_AGE_SECONDS: "-1",
      }),
    ).toThrow(/GC_MIN_OBJECT_AGE_SECONDS/);
    expect(() =>
      secondsOr("GC_MIN_OBJECT_AGE_SECONDS", DEFAULT_MIN_OBJECT_AGE_SECONDS, {
        GC_MIN_OBJECT_AGE_SECONDS: "1.5",
      }),
    ).toThrow(/GC_MIN_OBJECT_AGE_SECONDS/);
  });

  it("does not mark an entry created within the last day, as lakeFS keeps its object", () => {
    // Retention 0: a commit's parent expires 3 hours after the commit; its objects are hours old.
    expect(tooYoungToMark(NOW - 4 * 3_600, NOW, DAY)).toBe(true);
    expect(tooYoungToMark(NOW, NOW, DAY)).toBe(true);
    // Dated in the future (a skewed clock): young.
    expect(tooYoungToMark(NOW + 3_600, NOW, DAY)).toBe(true);
    // The edge, with the windows' slack: inside it is young, a second before is not.
    const edge = NOW - DAY - RETENTION_SLACK_SECONDS;
    expect(tooYoungToMark(edge, NOW, DAY)).toBe(true);
    expect(tooYoungToMark(edge - 1, NOW, DAY)).toBe(false);
    expect(tooYoungToMark(NOW - 30 * DAY, NOW, DAY)).toBe(false);
  });

  it("is off at 0", () => {
    expect(tooYoungToMark(NOW, NOW, 0)).toBe(false);
    expect(tooYoungToMark(NOW + 60, NOW, 0)).toBe(false);
  });
});
