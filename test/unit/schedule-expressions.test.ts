// Schedule expressions of EventBridge rules and EventBridge Scheduler as the embedded
// environment reads them (local/eventbridge/schedule.ts): AWS's six-field cron with ?, L, W,
// # and Sunday = 1, rate and one-time at expressions, time zones; and the test clock.
import { describe, expect, it } from "vitest";
import { TestClock } from "../../local/clock";
import {
  nextFireTime,
  parseSchedule,
  rateIntervalMs,
  ScheduleError,
} from "../../local/eventbridge/schedule";

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
/** The next `n` firing times after `from`. */
function firings(expr: string, from: string, n: number, timeZone?: string): string[] {
  const s = parseSchedule(expr, { allowAt: true });
  const out: string[] = [];
  let after = t(from);
  for (let i = 0; i < n; i++) {
    const next = nextFireTime(s, after, timeZone ? { timeZone } : {});
    if (next === undefined) break;
    out.push(new Date(next).toISOString());
    after = next;
  }
  return out;
}

describe("cron expressions", () => {
  it("weekly at 03:00 UTC on Sundays (day-of-week 1 and SUN are Sunday)", () => {
    // 2026-12-02 is a Wednesday.
    const expected = ["2026-12-06T03:00:00.000Z", "2026-12-13T03:00:00.000Z"];
    expect(firings("cron(0 3 ? * SUN *)", "2026-12-02T01:00:00Z", 2)).toEqual(expected);
    expect(firings("cron(0 3 ? * 1 *)", "2026-12-02T01:00:00Z", 2)).toEqual(expected);
  });

  it("every 15 minutes, strictly after the given time", () => {
    expect(firings("cron(0/15 * * * ? *)", "2026-12-02T01:15:00Z", 3)).toEqual([
      "2026-12-02T01:30:00.000Z",
      "2026-12-02T01:45:00.000Z",
      "2026-12-02T02:00:00.000Z",
    ]);
  });

  it("L, W and # in the day fields", () => {
    // Last day of the month, across February of a non-leap year.
    expect(firings("cron(0 12 L * ? *)", "2027-01-31T13:00:00Z", 2)).toEqual([
      "2027-02-28T12:00:00.000Z",
      "2027-03-31T12:00:00.000Z",
    ]);
    // The weekday nearest the 15th: 2027-05-15 is a Saturday, so Friday the 14th.
    expect(firings("cron(0 9 15W 5 ? 2027)", "2027-01-01T00:00:00Z", 1)).toEqual([
      "2027-05-14T09:00:00.000Z",
    ]);
    // The second Monday (2 = MON) of each month.
    expect(firings("cron(0 8 ? * 2#2 *)", "2026-12-01T00:00:00Z", 2)).toEqual([
      "2026-12-14T08:00:00.000Z",
      "2027-01-11T08:00:00.000Z",
    ]);
    // The last Friday (6L).
    expect(firings("cron(0 18 ? * 6L *)", "2026-12-01T00:00:00Z", 1)).toEqual([
      "2026-12-25T18:00:00.000Z",
    ]);
  });

  it("the year field ends a schedule", () => {
    expect(firings("cron(0 0 1 1 ? 2027)", "2026-06-01T00:00:00Z", 3)).toEqual([
      "2027-01-01T00:00:00.000Z",
    ]);
  });

  it("in a time zone, across daylight saving time", () => {
    // 04:30 in Zurich: 03:30 UTC in winter (CET), 02:30 UTC in summer (CEST, from 2027-03-28).
    expect(firings("cron(30 4 * * ? *)", "2027-03-26T12:00:00Z", 3, "Europe/Zurich")).toEqual([
      "2027-03-27T03:30:00.000Z",
      "2027-03-28T02:30:00.000Z",
      "2027-03-29T02:30:00.000Z",
    ]);
    expect(
      firings("cron(0 9 ? * MON-FRI *)", "2026-12-04T00:00:00Z", 2, "America/New_York"),
    ).toEqual(["2026-12-04T14:00:00.000Z", "2026-12-07T14:00:00.000Z"]);
  });

  it("refuses what AWS refuses, naming the problem", () => {
    const bad: [string, RegExp][] = [
      ["cron(0 3 * * *)", /has 6 fields .* got 5/],
      ["cron(0 3 * * * *)", /one of day-of-month and day-of-week must be "\?"/],
      ["cron(0 3 ? * ? *)", /one of day-of-month and day-of-week must be "\?"/],
      ["cron(61 3 ? * * *)", /61 is not between 0 and 59/],
      ["cron(0 3 ? * 1#9 *)", /not a valid day-of-week field/],
      ["cron(0 3 ? * MON,X *)", /not a valid day-of-week field/],
      ["cron(0 3 15Q * ? *)", /not a valid day-of-month field/],
      ["every day", /not a schedule expression/],
    ];
    for (const [expr, message] of bad) {
      expect(() => parseSchedule(expr), expr).toThrow(ScheduleError);
      expect(() => parseSchedule(expr), expr).toThrow(message);
    }
  });
});

describe("rate and at expressions", () => {
  it("rate fires every interval from its anchor", () => {
    const s = parseSchedule("rate(5 minutes)");
    const anchor = t("2026-12-02T01:02:00Z");
    expect(iso(nextFireTime(s, anchor, { anchorMs: anchor }))).toBe("2026-12-02T01:07:00.000Z");
    expect(iso(nextFireTime(s, t("2026-12-02T01:07:00Z"), { anchorMs: anchor }))).toBe(
      "2026-12-02T01:12:00.000Z",
    );
    expect(rateIntervalMs("rate(1 day)")).toBe(86_400_000);
    expect(() => rateIntervalMs("rate(5 minute)")).toThrow(/use "minutes" with 5/);
  });

  it("at fires once, at the wall-clock time of its zone; only the Scheduler takes it", () => {
    const s = parseSchedule("at(2027-01-15T08:00:00)", { allowAt: true });
    expect(iso(nextFireTime(s, t("2027-01-01T00:00:00Z"), { timeZone: "Asia/Tokyo" }))).toBe(
      "2027-01-14T23:00:00.000Z",
    );
    expect(nextFireTime(s, t("2027-01-15T08:00:00Z"))).toBeUndefined();
    expect(() => parseSchedule("at(2027-01-15T08:00:00)")).toThrow(ScheduleError);
    expect(() => parseSchedule("at(2027-02-30T08:00:00)", { allowAt: true })).toThrow(
      /not a valid date/,
    );
  });
});

describe("TestClock", () => {
  it("fires due timers in time order, each at its own time, and only moves forward", async () => {
    const clock = new TestClock(t("2026-12-02T00:00:00Z"));
    const seen: string[] = [];
    const log = (name: string) => () => seen.push(`${name}@${new Date(clock.now()).toISOString()}`);
    clock.at(t("2026-12-02T00:02:00Z"), log("b"));
    clock.at(t("2026-12-02T00:01:00Z"), () => {
      log("a")();
      // A timer armed by a fired one fires too when due.
      clock.at(t("2026-12-02T00:01:30Z"), log("a2"));
    });
    const cancelled = clock.at(t("2026-12-02T00:01:10Z"), log("never"));
    cancelled();
    await clock.advance(90_000);
    expect(seen).toEqual(["a@2026-12-02T00:01:00.000Z", "a2@2026-12-02T00:01:30.000Z"]);
    expect(clock.nextTimerAt()).toBe(t("2026-12-02T00:02:00Z"));
    await clock.advanceTo(new Date("2026-12-02T00:05:00Z"));
    expect(seen.at(-1)).toBe("b@2026-12-02T00:02:00.000Z");
    expect(clock.now()).toBe(t("2026-12-02T00:05:00Z"));
    await expect(clock.advanceTo(t("2026-12-01T00:00:00Z"))).rejects.toThrow(/only moves forward/);
  });
});
