// Numbers a request body cannot carry as written are found, with where they are; numbers that
// read as themselves, and strings that look like numbers, are not.
import { describe, expect, it } from "vitest";
import {
  firstInexactNumber,
  inexactReason,
  jsonTextProblem,
} from "../../lambdas/shared/inexact-numbers";

describe("inexactReason", () => {
  it.each([
    ["0", undefined],
    ["-0.000e-999", undefined],
    ["7", undefined],
    ["7.0", undefined],
    ["1e1", undefined],
    ["36500", undefined],
    ["1e21", undefined],
    ["123456789012345", undefined],
    ["0.1", undefined],
    ["1e-400", "is too small for a number and would read as 0"],
    ["-2e-324", "is too small for a number and would read as 0"],
    ["1e400", "is too large for a number"],
    ["9007199254740993", "has more than 15 significant digits and would read as 9007199254740992"],
    ["7.0000000000000001", "has more than 15 significant digits and would read as 7"],
  ])("%s", (literal, reason) => {
    expect(inexactReason(literal)).toBe(reason);
  });
});

describe("firstInexactNumber", () => {
  it("names the field, through objects and arrays", () => {
    const text = '{"a": 1, "s": "1e-400", "b": [0, {"c": true, "d": null, "e": [2, 1e-400]}]}';
    expect(firstInexactNumber(text)).toEqual({
      path: "b[1].e[1]",
      literal: "1e-400",
      reason: "is too small for a number and would read as 0",
    });
  });

  it("keys with escapes, spaces between tokens, and a body of numbers that read as themselves", () => {
    expect(firstInexactNumber(' { "k\\"ey" : [ 1 , 2.5 ] , "n" : -3e2 , "f" : false } ')).toBe(
      undefined,
    );
    expect(firstInexactNumber('{"k\\"ey": 1e999}')?.path).toBe('k"ey');
  });
});

describe("jsonTextProblem", () => {
  it("names a field an object gives twice (an escaped key too), not one two objects give", () => {
    expect(jsonTextProblem('{"a": {"b": 1, "c": 2}, "d": [{"b": 1}, {"b": 1}]}')).toBe(undefined);
    expect(jsonTextProblem('{"a": [{"b": 1, "\\u0062": 2}]}')).toBe(
      "a[0].b: must be given once (the body repeats it)",
    );
    expect(jsonTextProblem('{"n": 1e-400, "n": 1}')).toBe(
      "n: the number 1e-400 is too small for a number and would read as 0",
    );
  });
});
