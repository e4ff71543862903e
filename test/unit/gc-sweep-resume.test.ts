// Where a resumed sweep begins (lambdas/gc/domain/sweep-resume.ts): the point a stopped sweep
// records, read back strictly, and the lines of each pass it lets the next sweep skip.
import { describe, expect, it } from "vitest";
import { gcSweepResumeKey } from "../../lambdas/gc/domain/paths";
import {
  AnsweredLines,
  answeredLineTest,
  decodeSweepResumePoint,
  linesAnsweredIn,
  rangesAnsweredIn,
} from "../../lambdas/gc/domain/sweep-resume";

describe("decodeSweepResumePoint", () => {
  it("reads a point, ignoring the record's other fields", () => {
    expect(
      decodeSweepResumePoint(
        JSON.stringify({ passes: 3, pass: 1, throughLine: 2000, list: "x", etag: '"e"' }),
      ),
    ).toEqual({ passes: 3, pass: 1, throughLine: 2000 });
  });

  it.each([
    ["no record", undefined],
    ["not JSON", "{"],
    ["not an object", "7"],
    ["no passes", JSON.stringify({ pass: 0, throughLine: 5 })],
    ["a pass past the last", JSON.stringify({ passes: 2, pass: 2, throughLine: 5 })],
    ["a negative line", JSON.stringify({ passes: 1, pass: 0, throughLine: -1 })],
    ["a fractional line", JSON.stringify({ passes: 1, pass: 0, throughLine: 1.5 })],
    ["a line as text", JSON.stringify({ passes: 1, pass: 0, throughLine: "9" })],
    ["zero passes", JSON.stringify({ passes: 0, pass: 0, throughLine: 0 })],
    ["ranges not a list", JSON.stringify({ passes: 1, pass: 0, throughLine: 5, answeredAfter: 7 })],
    [
      "a range not a pair",
      JSON.stringify({ passes: 1, pass: 0, throughLine: 5, answeredAfter: [[7, 9, 11]] }),
    ],
    [
      "a range reaching back over the point",
      JSON.stringify({ passes: 1, pass: 0, throughLine: 5, answeredAfter: [[5, 9]] }),
    ],
    [
      "a range ending before it begins",
      JSON.stringify({ passes: 1, pass: 0, throughLine: 5, answeredAfter: [[9, 7]] }),
    ],
    [
      "ranges out of order",
      JSON.stringify({
        passes: 1,
        pass: 0,
        throughLine: 5,
        answeredAfter: [
          [20, 30],
          [8, 9],
        ],
      }),
    ],
    [
      "overlapping ranges",
      JSON.stringify({
        passes: 1,
        pass: 0,
        throughLine: 5,
        answeredAfter: [
          [8, 20],
          [15, 30],
        ],
      }),
    ],
    [
      "a fractional range",
      JSON.stringify({ passes: 1, pass: 0, throughLine: 5, answeredAfter: [[7.5, 9]] }),
    ],
  ])("skips nothing for %s", (_, text) => {
    expect(decodeSweepResumePoint(text)).toBeUndefined();
  });
});

describe("the ranges answered after the point", () => {
  it("are read back merged, and the point moves over a range right after it", () => {
    const record = {
      passes: 2,
      pass: 1,
      throughLine: 1000,
      answeredAfter: [
        [2001, 3000],
        [3001, 4000],
        [6001, 6500],
      ],
    };
    expect(decodeSweepResumePoint(JSON.stringify(record))).toEqual({
      passes: 2,
      pass: 1,
      throughLine: 1000,
      answeredAfter: [
        [2001, 4000],
        [6001, 6500],
      ],
    });
    const adjacent = { ...record, answeredAfter: [[1001, 1500]] };
    expect(decodeSweepResumePoint(JSON.stringify(adjacent))).toEqual({
      passes: 2,
      pass: 1,
      throughLine: 1500,
    });
  });

  it("are skipped only in the point's pass of a sweep with the same passes", () => {
    const point = { passes: 3, pass: 1, throughLine: 10, answeredAfter: [[20, 30] as const] };
    expect(rangesAnsweredIn(point, 1, 3)).toEqual([[20, 30]]);
    expect(rangesAnsweredIn(point, 0, 3)).toEqual([]);
    expect(rangesAnsweredIn(point, 2, 3)).toEqual([]);
    expect(rangesAnsweredIn(point, 1, 2)).toEqual([]);
    expect(rangesAnsweredIn(undefined, 0, 1)).toEqual([]);
  });

  it("answeredLineTest: lines through the point and inside a range, read front to back", () => {
    const answered = answeredLineTest(3, [
      [6, 7],
      [10, 10],
    ]);
    const lines = Array.from({ length: 12 }, (_, i) => i + 1).filter(answered);
    expect(lines).toEqual([1, 2, 3, 6, 7, 10]);
  });
});

describe("linesAnsweredIn", () => {
  const point = { passes: 4, pass: 2, throughLine: 1500 };
  it("skips the passes before the point whole, the point's pass up to its line, none after", () => {
    expect(linesAnsweredIn(point, 0, 4)).toBe(Number.POSITIVE_INFINITY);
    expect(linesAnsweredIn(point, 1, 4)).toBe(Number.POSITIVE_INFINITY);
    expect(linesAnsweredIn(point, 2, 4)).toBe(1500);
    expect(linesAnsweredIn(point, 3, 4)).toBe(0);
  });

  it("skips nothing when this sweep splits the list into another number of passes", () => {
    for (let pass = 0; pass < 3; pass++) expect(linesAnsweredIn(point, pass, 3)).toBe(0);
    expect(linesAnsweredIn(undefined, 0, 1)).toBe(0);
  });
});

describe("AnsweredLines", () => {
  const start = { passes: 1, pass: 0, throughLine: 0 };

  it("advances only over requests answered with every one before them", () => {
    const a = new AnsweredLines(start);
    a.beginPass(0, 0);
    a.issued(0, 1000);
    a.issued(1, 2100);
    a.issued(2, 3000);
    a.answered(2);
    a.answered(1);
    expect(a.point).toEqual({ passes: 1, pass: 0, throughLine: 0, answeredAfter: [[1001, 3000]] });
    a.answered(0);
    expect(a.point).toEqual({ passes: 1, pass: 0, throughLine: 3000 });
  });

  it("holds before a request not answered; the pass's end does not move it", () => {
    const a = new AnsweredLines(start);
    a.beginPass(0, 0);
    a.issued(0, 1000);
    a.issued(1, 2000);
    a.issued(2, 2400);
    a.answered(0);
    a.answered(2);
    a.passEnded(0, 2500);
    // Request 2, answered while request 1 was not: its lines are skipped too.
    expect(a.point).toEqual({
      passes: 1,
      pass: 0,
      throughLine: 1000,
      answeredAfter: [[2001, 2400]],
    });
  });

  it("a pass held with requests answered after the point keeps them; later passes add none", () => {
    const a = new AnsweredLines({ passes: 3, pass: 0, throughLine: 0 });
    a.beginPass(0, 0);
    a.issued(0, 700);
    a.issued(1, 1300);
    a.issued(2, 1900);
    a.answered(2);
    a.passEnded(0, 2500);
    a.beginPass(1, 0);
    a.issued(0, 800);
    a.issued(1, 1600);
    a.answered(1);
    a.answered(0);
    a.passEnded(1, 2500);
    expect(a.point).toEqual({ passes: 3, pass: 0, throughLine: 0, answeredAfter: [[1301, 1900]] });
  });

  /** An earlier sweep's point: lines to 1 000 answered, and 2 001 to 4 000. */
  const earlier = {
    passes: 1,
    pass: 0,
    throughLine: 1000,
    answeredAfter: [[2001, 4000] as const],
  };

  it("resumed with ranges: skips them, keeps them, and moves over them once the gap is answered", () => {
    const a = new AnsweredLines(earlier);
    a.beginPass(0, 1000);
    expect(a.point).toEqual(earlier);
    // The lines of the gap (1001 to 2000) are offered again; a request ends past the range.
    a.issued(0, 2000);
    a.issued(1, 4500);
    a.answered(1);
    expect(a.point).toEqual({
      passes: 1,
      pass: 0,
      throughLine: 1000,
      answeredAfter: [[2001, 4500]],
    });
    a.answered(0);
    expect(a.point).toEqual({ passes: 1, pass: 0, throughLine: 4500 });
  });

  it("resumed with ranges and stopped again in the gap: the earlier ranges stay beside its own", () => {
    const a = new AnsweredLines(earlier);
    a.beginPass(0, 1000);
    a.issued(0, 1500);
    a.issued(1, 1800);
    a.answered(1);
    expect(a.point).toEqual({
      passes: 1,
      pass: 0,
      throughLine: 1000,
      answeredAfter: [
        [1501, 1800],
        [2001, 4000],
      ],
    });
    // A request of it that covers an earlier range (its keys skipped) merges with it.
    a.issued(2, 6000);
    a.answered(2);
    expect(a.point.answeredAfter).toEqual([[1501, 6000]]);
  });

  it("a pass answered whole counts to its last line read, and the next pass starts at 0", () => {
    const a = new AnsweredLines({ passes: 3, pass: 0, throughLine: 0 });
    a.beginPass(0, 0);
    a.issued(0, 900);
    a.answered(0);
    a.passEnded(0, 2500);
    expect(a.point).toEqual({ passes: 3, pass: 0, throughLine: 2500 });
    a.beginPass(1, 0);
    expect(a.point).toEqual({ passes: 3, pass: 1, throughLine: 0 });
    a.issued(0, 400);
    a.answered(0);
    expect(a.point).toEqual({ passes: 3, pass: 1, throughLine: 400 });
  });

  it("a pass that ended with a request unanswered holds the point for every later pass", () => {
    const a = new AnsweredLines({ passes: 3, pass: 0, throughLine: 0 });
    a.beginPass(0, 0);
    a.issued(0, 700);
    a.issued(1, 1300);
    a.answered(0);
    a.passEnded(0, 2500);
    a.beginPass(1, 0);
    a.issued(0, 800);
    a.answered(0);
    a.passEnded(1, 2500);
    expect(a.point).toEqual({ passes: 3, pass: 0, throughLine: 700 });
  });

  it("resumed: keeps the earlier point through the passes skipped and its own pass's start", () => {
    const earlier = { passes: 3, pass: 1, throughLine: 1200 };
    const a = new AnsweredLines(earlier);
    a.beginPass(0, Number.POSITIVE_INFINITY);
    a.passEnded(0, 2500);
    expect(a.point).toEqual(earlier);
    a.beginPass(1, 1200);
    expect(a.point).toEqual(earlier);
    a.issued(0, 2200);
    a.answered(0);
    expect(a.point).toEqual({ passes: 3, pass: 1, throughLine: 2200 });
  });
});

describe("gcSweepResumeKey", () => {
  it("lies beside the runs' files under a name no run id can have", () => {
    const digest = "a".repeat(64);
    expect(gcSweepResumeKey("repo-1", digest)).toBe(`gc/repo-1/.sweep-resume/${digest}.json`);
    expect(() => gcSweepResumeKey("../x", digest)).toThrow(/repository/);
    expect(() => gcSweepResumeKey("repo-1", "../../x")).toThrow(/digest/);
  });
});
