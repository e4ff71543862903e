// Where a resumed sweep begins (lambdas/gc/domain/sweep-resume.ts): the point a stopped sweep
// records, read back strictly, and the lines of each pass it lets the next sweep skip.
import { describe, expect, it } from "vitest";
import { gcSweepResumeKey } from "../../lambdas/gc/domain/paths";
import {
  AnsweredLines,
  decodeSweepResumePoint,
  linesAnsweredIn,
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
  ])("skips nothing for %s", (_, text) => {
    expect(decodeSweepResumePoint(text)).toBeUndefined();
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
    expect(a.point.throughLine).toBe(0);
    a.answered(0);
    expect(a.point.throughLine).toBe(3000);
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
    expect(a.point).toEqual({ passes: 1, pass: 0, throughLine: 1000 });
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
